// policy_helper: applies a seccomp policy made of the groups named in argv[1]
// (comma-separated, see kGroups), then does the one thing argv[2] names.
// Exit 0 when it did it, 3 when it was refused politely (errno), 4 on a usage
// error, 5 when the policy could not be applied; killed by SIGSYS when the
// policy forbids the call (what policy_test checks). A dir fd for
// "create-in" is argv[3] (a path it opens before applying the policy).
// "none" applies no policy at all.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "lib/sandbox/policy.h"

namespace {

using chtools::sandbox::Group;

constexpr std::pair<absl::string_view, Group> kGroups[] = {
    {"basic", Group::kBasicProcess},
    {"rw", Group::kReadWrite},
    {"stdio", Group::kStdio},
    {"terminal", Group::kTerminal},
    {"ro", Group::kOpenReadOnly},
    {"openwrite", Group::kOpenWrite},
    {"dirs", Group::kDirectoryOps},
    {"locks", Group::kLocks},
    {"copy", Group::kCopyFiles},
    {"unix", Group::kUnixConnect},
    {"inspect", Group::kProcessInspect},
    {"spawn", Group::kSpawn},
    {"signals", Group::kSignals},
    {"time", Group::kTime},
};

int Check(bool ok) {
  if (ok) return 0;
  std::perror("policy_helper");
  return 3;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return 4;
  chtools::sandbox::PolicyBuilder policy;
  int dirfd = -1;
  for (absl::string_view name : absl::StrSplit(argv[1], ',')) {
    bool found = false;
    for (const auto& [n, g] : kGroups) {
      if (n == name) {
        policy.Allow(g);
        found = true;
      }
    }
    if (name == "create-in") {
      if (argc < 4) return 4;
      dirfd = ::open(argv[3], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dirfd < 0) return 4;
      policy.AllowCreateIn(dirfd);
      found = true;
    }
    if (name == "report") {
      policy.OnViolation(chtools::sandbox::Violation::kReport);
      found = true;
    }
    if (name == "log") {
      policy.OnViolation(chtools::sandbox::Violation::kLog);
      found = true;
    }
    if (!found && name != "none") return 4;
  }
  absl::Status s =
      absl::string_view(argv[1]) == "none" ? absl::OkStatus() : policy.Apply();
  if (!s.ok()) {
    std::fprintf(stderr, "policy_helper: %s\n",
                 std::string(s.message()).c_str());
    return 5;
  }
  const absl::string_view what = argv[2];
  if (what == "nothing") return 0;
  if (what == "write-stdout") {
    return Check(::write(STDOUT_FILENO, "hello\n", 6) == 6);
  }
  if (what == "malloc") {
    // Large enough for mmap, then the heap.
    void* big = std::malloc(8 << 20);
    std::memset(big, 1, 8 << 20);
    std::free(big);
    std::string s(1000, 'x');
    return Check(s.size() == 1000);
  }
  if (what == "mmap-exec") {
    void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_EXEC,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return Check(p != MAP_FAILED);
  }
  if (what == "read-file") {
    int fd = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    char buf[64];
    return Check(fd >= 0 && ::read(fd, buf, sizeof(buf)) > 0);
  }
  if (what == "open-dir") {
    // What opendir() does: O_DIRECTORY shares a bit with O_TMPFILE.
    int fd = ::open(".", O_RDONLY | O_NONBLOCK | O_DIRECTORY | O_CLOEXEC);
    return Check(fd >= 0);
  }
  if (what == "open-tmpfile") {
    int fd = ::open(".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    return Check(fd >= 0);
  }
  if (what == "open-write") {
    // /proc/self/comm is writable by its own process: no file is left behind.
    int fd = ::open("/proc/self/comm", O_WRONLY | O_CLOEXEC);
    return Check(fd >= 0);
  }
  if (what == "create-in") {
    int fd =
        ::openat(dirfd, "new",
                 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    return Check(fd >= 0 && ::write(fd, "x", 1) == 1 &&
                 ::unlinkat(dirfd, "new", 0) == 0);
  }
  if (what == "create-following") {
    // Without O_NOFOLLOW: refused.
    int fd =
        ::openat(dirfd, "new", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    return Check(fd >= 0);
  }
  if (what == "create-cwd") {
    // The right flags, but not through the dir fd it was given.
    int fd =
        ::openat(AT_FDCWD, "new",
                 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    return Check(fd >= 0);
  }
  if (what == "mkdir") return Check(::mkdir("d", 0700) == 0);
  if (what == "socket-inet") {
    return Check(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0) >= 0);
  }
  if (what == "socket-unix") {
    return Check(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) >= 0);
  }
  if (what == "fork") {
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    return Check(pid > 0);
  }
  if (what == "abort") std::abort();
  if (what == "kill-other") return Check(::kill(1, 0) == 0);
  return 4;
}

#include "tools/ch-launch/lifecycle.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/base/unique_fd.h"
#include "lib/chapi/client.h"
#include "lib/chapi/wait_socket.h"
#include "lib/launch/ch_command.h"
#include "lib/launch/shell_quote.h"
#include "lib/process/ch_process.h"
#include "lib/process/spawn.h"
#include "lib/record/timestamps.h"
#include "tools/ch-launch/files.h"

namespace ch_launch {
namespace {

using chtools::Vm;
using chtools::launch::ApiSocketPath;
using chtools::launch::CmdlineFilePath;
using chtools::launch::ConsoleSocketPath;
using chtools::launch::PidFilePath;
using chtools::process::ChProcess;

std::string Now() { return chtools::record::FormatTime(absl::Now()); }

// The live CH of `vm`, nullopt if there is none.
absl::StatusOr<std::optional<ChProcess>> FindCh(const Env& env, const Vm& vm) {
  absl::StatusOr<ChProcess> p =
      chtools::process::FindChProcess(vm.run_dir(), env.config.ch_binary());
  if (p.ok()) return std::optional<ChProcess>(*std::move(p));
  if (absl::IsNotFound(p.status())) return std::optional<ChProcess>();
  return p.status();
}

absl::Status RemoveRuntimeFiles(const Vm& vm) {
  for (const std::string& f :
       {ApiSocketPath(vm), PidFilePath(vm), CmdlineFilePath(vm), ConsoleSocketPath(vm)}) {
    RETURN_IF_ERROR(RemoveFile(f));
  }
  return absl::OkStatus();
}

Vm WithRuntime(Vm vm, pid_t pid) {
  vm.set_pid(pid);
  vm.set_api_socket(ApiSocketPath(vm));
  return vm;
}

absl::Status SetState(const Env& env, const Vm& vm, Vm::State state) {
  return env.index
      ->Update(vm.id(),
               [&](Vm& r) {
                 r.set_state(state);
                 if (state == Vm::STOPPED) r.set_stopped_at(Now());
                 return absl::OkStatus();
               })
      .status();
}

// The last non-empty line CH wrote to its log at or after offset `since`
// (where this launch's output begins), to explain a failed launch.
std::string LogTail(const Vm& vm, off_t since) {
  chtools::UniqueFd fd(::open((vm.log_dir() + "/cloud-hypervisor.log").c_str(),
                              O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return "";
  off_t size = ::lseek(fd.get(), 0, SEEK_END);
  off_t from = size > since + 4096 ? size - 4096 : since;
  if (size <= from) return "";
  std::string buf(static_cast<size_t>(size - from), '\0');
  ssize_t n = ::pread(fd.get(), buf.data(), buf.size(), from);
  if (n <= 0) return "";
  buf.resize(static_cast<size_t>(n));
  std::string last;
  for (absl::string_view line : absl::StrSplit(buf, '\n', absl::SkipWhitespace())) {
    last = std::string(line);
  }
  return last;
}

// SIGTERM, `grace`, SIGKILL, 5 s; all through the pidfd.
absl::Status Terminate(ChProcess& p, absl::Duration grace) {
  absl::Status s = p.Signal(SIGTERM);
  if (!s.ok() && !absl::IsNotFound(s)) return s;
  ASSIGN_OR_RETURN(bool gone, p.WaitExit(grace));
  if (gone) return absl::OkStatus();
  s = p.Signal(SIGKILL);
  if (!s.ok() && !absl::IsNotFound(s)) return s;
  ASSIGN_OR_RETURN(gone, p.WaitExit(absl::Seconds(5)));
  if (!gone) {
    return absl::DeadlineExceededError(
        absl::StrCat("cloud-hypervisor (pid ", p.pid(), ") still alive 5s after SIGKILL"));
  }
  return absl::OkStatus();
}

absl::Duration Secs(int s, int fallback) { return absl::Seconds(s > 0 ? s : fallback); }

// True if something accepts connections on `path` (an orphan VMM).
bool SocketAnswers(const std::string& path) {
  chtools::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
}

// vm.info's state must be "Running".
absl::Status CheckBooted(const std::string& api_socket, absl::Duration timeout) {
  chtools::chapi::Client api(api_socket, timeout);
  absl::StatusOr<nlohmann::json> info = api.Info();
  if (!info.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cloud-hypervisor did not boot the VM: vm.info: ", info.status().message()));
  }
  std::string state = info->value("state", "");
  if (state != "Running") {
    return absl::FailedPreconditionError(
        absl::StrCat("cloud-hypervisor reports the VM as \"", state, "\", not Running"));
  }
  return absl::OkStatus();
}

// Without a live CH of record, nothing may answer on api.sock: if something
// does, it is a CH whose pid file is gone (an orphan), and removing its
// socket or starting a second CH on the same disks would be wrong.
absl::Status CheckNoOrphan(const Vm& vm) {
  if (SocketAnswers(ApiSocketPath(vm))) {
    return absl::FailedPreconditionError(absl::StrCat(
        "a process that is not this VM's recorded cloud-hypervisor serves ",
        ApiSocketPath(vm), " (an orphan? stop it by hand)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<chtools::UniqueFd> LockRunDir(const std::string& run_dir,
                                             absl::Duration timeout) {
  chtools::UniqueFd fd(chtools::RetryEintr(
      [&] { return ::open(run_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); }));
  if (!fd.valid()) {
    if (errno == ENOENT) return chtools::UniqueFd();
    return chtools::ErrnoError(errno, "open", run_dir);
  }
  const absl::Time deadline = absl::Now() + timeout;
  absl::Duration backoff = absl::Milliseconds(1);
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) return chtools::ErrnoError(errno, "flock", run_dir);
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "another ch-launch is still working on this VM (lock on ", run_dir, " held for ",
          absl::FormatDuration(timeout), ")"));
    }
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Milliseconds(50));
  }
  return fd;
}

absl::StatusOr<std::vector<std::string>> ChArgv(const Env& env, const Vm& vm) {
  ASSIGN_OR_RETURN(std::vector<std::string> args, chtools::launch::BuildChArgs(vm, env.host));
  args.insert(args.begin(), env.config.ch_binary());
  return args;
}

absl::StatusOr<Vm> StartVm(const Env& env, const std::string& id) {
  ASSIGN_OR_RETURN(Vm vm, env.index->Get(id));
  if (vm.state() == Vm::CREATING) {
    return absl::FailedPreconditionError("is still being created (state CREATING)");
  }
  ASSIGN_OR_RETURN(std::optional<ChProcess> live, FindCh(env, vm));
  if (live) {
    if (vm.state() != Vm::RUNNING) {
      ASSIGN_OR_RETURN(vm, env.index->Update(id, [](Vm& r) {
        r.set_state(Vm::RUNNING);
        r.set_started_at(Now());
        return absl::OkStatus();
      }));
    }
    return WithRuntime(vm, live->pid());
  }

  RETURN_IF_ERROR(CheckNoOrphan(vm));
  ASSIGN_OR_RETURN(std::vector<std::string> argv, ChArgv(env, vm));
  std::string netns;
  for (int i = 0; i < vm.network_size(); ++i) {
    if (i > 0 && vm.network(i).netns_path() != netns) {
      return absl::InvalidArgumentError(
          "network: the NICs are in different network namespaces (CH runs in one)");
    }
    netns = vm.network(i).netns_path();
  }
  RETURN_IF_ERROR(MakeDirs(vm.run_dir(), 0750));
  RETURN_IF_ERROR(MakeDirs(vm.log_dir(), 0750));
  RETURN_IF_ERROR(RemoveRuntimeFiles(vm));
  RETURN_IF_ERROR(WriteFile(CmdlineFilePath(vm), chtools::launch::ShellJoin(argv) + "\n", 0600,
                            /*sync=*/false));

  auto fail = [&](const absl::Status& why) {
    (void)RemoveFile(PidFilePath(vm));
    (void)SetState(env, vm, Vm::ERROR);
    return why;
  };
  const std::string log = vm.log_dir() + "/cloud-hypervisor.log";
  chtools::UniqueFd log_fd(chtools::RetryEintr(
      [&] { return ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640); }));
  if (!log_fd.valid()) return fail(chtools::ErrnoError(errno, "open", log));
  // Appended, not truncated: the log of an earlier run (a crash) is kept
  // (cocoon truncated it, reference 7.10).
  const off_t log_start = ::lseek(log_fd.get(), 0, SEEK_END);
  chtools::process::SpawnOptions opts;
  opts.argv = argv;
  opts.stdout_fd = log_fd.get();
  opts.stderr_fd = log_fd.get();
  opts.new_session = true;
  opts.netns_path = netns;
  absl::StatusOr<chtools::process::Child> child = chtools::process::Spawn(opts);
  if (!child.ok()) return fail(child.status());
  absl::Status s =
      WriteFile(PidFilePath(vm), absl::StrCat(child->pid(), "\n"), 0600, /*sync=*/false);
  if (s.ok()) {
    s = chtools::chapi::WaitForApiSocket(ApiSocketPath(vm), child->pidfd(),
                                          Secs(env.config.socket_wait_seconds(), 5));
    // CH binds its socket before it boots the VM and exits if the boot
    // fails: only a VM that vm.info reports running counts as started.
    if (s.ok()) s = CheckBooted(ApiSocketPath(vm), Secs(env.config.socket_wait_seconds(), 5));
    if (!s.ok()) {
      std::string tail = LogTail(vm, log_start < 0 ? 0 : log_start);
      if (!tail.empty()) s = absl::Status(s.code(), absl::StrCat(s.message(), " (log: ", tail, ")"));
    }
  }
  if (!s.ok()) {
    (void)child->Signal(SIGKILL);
    (void)child->Wait();
    return fail(s);
  }
  const pid_t pid = child->pid();
  absl::StatusOr<Vm> done = env.index->Update(id, [](Vm& r) {
    r.set_state(Vm::RUNNING);
    r.set_started_at(Now());
    r.set_first_booted(true);
    return absl::OkStatus();
  });
  if (!done.ok()) {
    (void)child->Signal(SIGKILL);
    (void)child->Wait();
    (void)RemoveRuntimeFiles(vm);
    return done.status();
  }
  child->Detach();  // CH outlives us; init (or the subreaper) reaps it.
  return WithRuntime(*done, pid);
}

absl::StatusOr<Vm> StopVm(const Env& env, const std::string& id, absl::Duration timeout) {
  ASSIGN_OR_RETURN(Vm vm, env.index->Get(id));
  if (vm.state() == Vm::CREATING) {
    return absl::FailedPreconditionError("is still being created (state CREATING)");
  }
  ASSIGN_OR_RETURN(std::optional<ChProcess> live, FindCh(env, vm));
  if (!live) RETURN_IF_ERROR(CheckNoOrphan(vm));
  if (!live && vm.state() == Vm::CREATED) return vm;  // never started
  if (live) {
    const absl::Duration grace = Secs(env.config.terminate_grace_seconds(), 5);
    chtools::chapi::Client api(ApiSocketPath(vm), absl::Seconds(5));
    absl::Status s;
    if (chtools::launch::IsDirectBoot(vm)) {
      (void)api.Shutdown();  // best effort: the signals below decide
      s = Terminate(*live, grace);
    } else if (api.PowerButton().ok()) {
      absl::StatusOr<bool> gone = live->WaitExit(timeout);
      s = gone.status();
      if (s.ok() && !*gone) s = Terminate(*live, grace);
    } else {
      s = Terminate(*live, grace);
    }
    if (!s.ok()) {
      (void)SetState(env, vm, Vm::ERROR);
      return s;
    }
  }
  RETURN_IF_ERROR(RemoveRuntimeFiles(vm));
  return env.index->Update(id, [](Vm& r) {
    r.set_state(Vm::STOPPED);
    r.set_stopped_at(Now());
    return absl::OkStatus();
  });
}

absl::StatusOr<Vm> RemoveVm(const Env& env, const std::string& id, bool force,
                            absl::Duration timeout) {
  ASSIGN_OR_RETURN(Vm vm, env.index->Get(id));
  if (vm.state() == Vm::CREATING && !force) {
    return absl::FailedPreconditionError(
        "is still being created (state CREATING): use --force if that create died");
  }
  ASSIGN_OR_RETURN(std::optional<ChProcess> live, FindCh(env, vm));
  if (!live) RETURN_IF_ERROR(CheckNoOrphan(vm));
  if (live) {
    if (!force) {
      return absl::FailedPreconditionError("is running: stop it first or use --force");
    }
    if (vm.state() == Vm::CREATING) {
      return absl::FailedPreconditionError("is being created and has a live CH");
    }
    ASSIGN_OR_RETURN(vm, StopVm(env, id, timeout));
  }
  RETURN_IF_ERROR(RemoveTree(vm.run_dir()));
  RETURN_IF_ERROR(RemoveTree(vm.log_dir()));
  RETURN_IF_ERROR(env.index->Delete(id));
  return vm;
}

absl::StatusOr<std::string> DebugVm(const Env& env, const std::string& id) {
  ASSIGN_OR_RETURN(Vm vm, env.index->Get(id));
  ASSIGN_OR_RETURN(std::vector<std::string> argv, ChArgv(env, vm));
  return chtools::launch::ShellJoin(argv);
}

}  // namespace ch_launch

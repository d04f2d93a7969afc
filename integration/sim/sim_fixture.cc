#include "integration/sim/sim_fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "lib/base/unique_fd.h"
#include "lib/chapi/wait_socket.h"

extern char** environ;

namespace chtools::conformance {

std::string SimBinary() {
  char buf[PATH_MAX];
  if (realpath("integration/sim/cloud-hypervisor", buf) == nullptr) {
    return "integration/sim/cloud-hypervisor";
  }
  return buf;
}

Sim::Sim(process::Child child, std::unique_ptr<chapi::testing::SocketDir> dir)
    : owned_dir_(std::move(dir)),
      dir_(*owned_dir_),
      api_socket_(dir_.Join("api.sock")),
      child_(std::move(child)),
      client_(std::make_unique<chapi::Client>(api_socket_, absl::Seconds(20))) {
}

Sim::~Sim() = default;  // process::Child kills and reaps

absl::StatusOr<std::unique_ptr<Sim>> Sim::Start(SimOptions options) {
  auto dir = std::make_unique<chapi::testing::SocketDir>();
  std::string sock = dir->Join("api.sock");
  UniqueFd out(
      ::open(dir->Join("out").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  UniqueFd err(
      ::open(dir->Join("err").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  process::SpawnOptions o;
  o.argv = {SimBinary()};
  if (options.api_socket) {
    o.argv.push_back("--api-socket");
    o.argv.push_back(sock);
  }
  o.argv.insert(o.argv.end(), options.args.begin(), options.args.end());
  if (!options.extra_env.empty()) {
    for (char** e = environ; *e != nullptr; ++e) o.env.push_back(*e);
    o.env.insert(o.env.end(), options.extra_env.begin(),
                 options.extra_env.end());
  }
  o.stdout_fd = out.get();
  o.stderr_fd = err.get();
  o.netns_path = options.netns_path;
  o.cwd = dir->path();
  absl::StatusOr<process::Child> child = process::Spawn(o);
  if (!child.ok()) return child.status();
  int pidfd = child->pidfd();
  std::unique_ptr<Sim> sim(new Sim(*std::move(child), std::move(dir)));
  if (options.wait && options.api_socket) {
    absl::Status s = chapi::WaitForApiSocket(sock, pidfd, absl::Seconds(20));
    if (!s.ok()) {
      return absl::Status(
          s.code(),
          absl::StrCat(s.message(), "; simulator stderr: ", sim->Stderr()));
    }
  }
  return sim;
}

std::optional<process::ExitInfo> Sim::WaitExit(absl::Duration timeout) {
  absl::StatusOr<std::optional<process::ExitInfo>> r = child_.WaitFor(timeout);
  if (!r.ok()) return std::nullopt;
  return *r;
}

absl::Status Sim::WaitRunning(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  std::string last;
  while (true) {
    absl::StatusOr<nlohmann::json> info = client_->Info();
    if (info.ok()) {
      if ((*info)["state"] == "Running") return absl::OkStatus();
      last = (*info)["state"].dump();
    } else if (chapi::GetChError(info.status()).has_value()) {
      last = std::string(info.status().message());  // "VM is not created"
    } else {
      return absl::Status(info.status().code(),
                          absl::StrCat(info.status().message(),
                                       "; simulator stderr: ", Stderr()));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("VM not Running after ", absl::FormatDuration(timeout),
                       "; last vm.info: ", last));
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
}

std::string Sim::Stderr() const { return ReadFile(dir_.Join("err")); }
std::string Sim::Stdout() const { return ReadFile(dir_.Join("out")); }

absl::StatusOr<chapi::HttpResponse> Sim::Raw(absl::string_view method,
                                             absl::string_view endpoint,
                                             absl::string_view body,
                                             absl::Duration timeout) {
  return chapi::UnixHttpRequest(
      api_socket_, method, absl::StrCat("/api/v1/", endpoint), body, timeout);
}

absl::StatusOr<process::CommandResult> RunSim(
    const std::vector<std::string>& args, absl::Duration timeout) {
  std::vector<std::string> argv = {SimBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return process::RunCommand(argv, timeout);
}

ScratchNetns::ScratchNetns(process::Child holder)
    : holder_(std::move(holder)),
      path_(absl::StrCat("/proc/", holder_.pid(), "/ns/net")) {}

absl::StatusOr<std::unique_ptr<ScratchNetns>> ScratchNetns::Create() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return absl::InternalError("pipe2");
  UniqueFd r(p[0]), w(p[1]);
  process::SpawnOptions o;
  o.argv = {"unshare", "-n", "sh", "-c",
            "ip link set lo up; echo ready; exec sleep 100000"};
  o.stdout_fd = w.get();
  absl::StatusOr<process::Child> holder = process::Spawn(o);
  if (!holder.ok()) return holder.status();
  w.reset();
  char buf[6];
  if (::read(r.get(), buf, sizeof(buf)) != 6) {
    return absl::InternalError("unshare -n did not come up");
  }
  return std::unique_ptr<ScratchNetns>(new ScratchNetns(*std::move(holder)));
}

absl::StatusOr<process::CommandResult> ScratchNetns::Run(
    const std::vector<std::string>& argv) {
  process::SpawnOptions o;
  o.argv = argv;
  o.netns_path = path_;
  return process::RunCommand(o, absl::Seconds(20));
}

absl::Status ScratchNetns::AddTap(const std::string& name) {
  absl::StatusOr<process::CommandResult> r =
      Run({"ip", "tuntap", "add", name, "mode", "tap"});
  if (!r.ok()) return r.status();
  if (r->exit != process::ExitInfo::Exited(0)) {
    return absl::InternalError(
        absl::StrCat("ip tuntap add ", name, ": ", r->err));
  }
  return absl::OkStatus();
}

void WriteFile(const std::string& path, absl::string_view content) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(content.data(), static_cast<std::streamsize>(content.size()));
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void MakeRawDisk(const std::string& path, size_t size) {
  WriteFile(path, std::string(4096, 'd'));
  if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) std::abort();
}

nlohmann::json BootableConfig(const std::string& dir,
                              absl::string_view console_mode,
                              int64_t memory_bytes) {
  std::string kernel = dir + "/vmlinux";
  std::string disk = dir + "/disk0.raw";
  if (access(kernel.c_str(), F_OK) != 0)
    WriteFile(kernel, "not really a kernel");
  if (access(disk.c_str(), F_OK) != 0) MakeRawDisk(disk);
  return {
      {"cpus", {{"boot_vcpus", 1}, {"max_vcpus", 1}}},
      {"memory", {{"size", memory_bytes}}},
      {"payload",
       {{"kernel", kernel}, {"cmdline", "console=hvc0 cocoon.hostname=sim"}}},
      {"disks", {{{"path", disk}}}},
      {"serial", {{"mode", "Null"}}},
      {"console", {{"mode", std::string(console_mode)}}},
  };
}

UniqueFd ConnectUnix(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
      0) {
    ADD_FAILURE() << "connect " << path << ": " << strerror(errno);
    return UniqueFd();
  }
  return fd;
}

std::string ReadUntil(int fd, absl::string_view needle, absl::Duration timeout,
                      bool* eof) {
  std::string got;
  absl::Time deadline = absl::Now() + timeout;
  if (eof != nullptr) *eof = false;
  while (needle.empty() || !absl::StrContains(got, needle)) {
    int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (ms <= 0) break;
    struct pollfd p = {fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(ms)) <= 0) break;
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) {
      if (eof != nullptr) *eof = true;
      break;
    }
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

std::string Converse(int fd, absl::string_view line, absl::string_view until) {
  if (::write(fd, line.data(), line.size()) !=
      static_cast<ssize_t>(line.size())) {
    ADD_FAILURE() << "write to the console failed";
    return "";
  }
  return ReadUntil(fd, until, absl::Seconds(10));
}

std::multiset<std::string> TunAttachments(pid_t pid) {
  std::multiset<std::string> out;
  std::string fd_dir = absl::StrCat("/proc/", pid, "/fd");
  DIR* d = opendir(fd_dir.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = readdir(d)) {
    char target[256];
    ssize_t n =
        readlink((fd_dir + "/" + e->d_name).c_str(), target, sizeof(target));
    if (n <= 0 || std::string(target, n) != "/dev/net/tun") continue;
    std::string info =
        ReadFile(absl::StrCat("/proc/", pid, "/fdinfo/", e->d_name));
    for (absl::string_view line : absl::StrSplit(info, '\n')) {
      if (absl::ConsumePrefix(&line, "iff:"))
        out.insert(std::string(absl::StripAsciiWhitespace(line)));
    }
  }
  closedir(d);
  return out;
}

std::string NetnsId(const std::string& proc_ns_path) {
  char buf[128];
  ssize_t n = ::readlink(proc_ns_path.c_str(), buf, sizeof(buf));
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

}  // namespace chtools::conformance

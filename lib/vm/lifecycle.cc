#include "lib/vm/lifecycle.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/base/unique_fd.h"
#include "lib/chapi/wait_socket.h"
#include "lib/fs/atomic_file.h"
#include "lib/fs/files.h"
#include "lib/fs/unix_socket.h"
#include "lib/launch/shell_quote.h"
#include "lib/record/printable.h"
#include "lib/record/timestamps.h"
#include "lib/record/validate.h"
#include "lib/vm/boot_wait.h"
#include "lib/vm/op_lock.h"
#include "lib/vm/trust.h"

namespace chtools::vm {
namespace {

using process::ChProcess;

std::string Now(const Env& env) { return record::FormatTime(env.now()); }

absl::Duration Secs(int s, int fallback) {
  return absl::Seconds(s > 0 ? s : fallback);
}

absl::Status RemoveRuntimeFiles(const VmPaths& p) {
  for (const std::string& f :
       {p.api_socket, p.pid_file, p.cmdline, p.console_socket}) {
    RETURN_IF_ERROR(fs::RemoveFile(f));
  }
  return absl::OkStatus();
}

Vm WithRuntime(Vm vm, const VmPaths& p, pid_t pid) {
  vm.set_pid(pid);
  vm.set_api_socket(p.api_socket);
  return vm;
}

absl::Status SetState(const Env& env, const Vm& vm, Vm::State state,
                      const absl::Status& why = absl::OkStatus()) {
  return env.index
      ->Update(vm.id(),
               [&](Vm& r) {
                 r.set_state(state);
                 if (state == Vm::STOPPED) r.set_stopped_at(Now(env));
                 // The message may quote CH (its answers, its log): kept
                 // valid UTF-8 and within the field's bound, so the record
                 // stays one every tool can read.
                 if (state == Vm::ERROR)
                   r.set_error(
                       record::ValidText(why.message(), record::kMaxTextBytes));
                 return absl::OkStatus();
               })
      .status();
}

}  // namespace

std::string ChLogSince(const VmPaths& p, off_t since) {
  UniqueFd fd(::open(p.log_file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return "";
  off_t size = ::lseek(fd.get(), 0, SEEK_END);
  off_t from = size > since + 16384 ? size - 16384 : since;
  if (size <= from) return "";
  std::string buf(static_cast<size_t>(size - from), '\0');
  ssize_t n = ::pread(fd.get(), buf.data(), buf.size(), from);
  if (n <= 0) return "";
  buf.resize(static_cast<size_t>(n));
  // CH's log is CH's text: escaped before it reaches a terminal or a record.
  return record::PrintableCut(ChErrorFromLog(buf), 1024);
}

namespace {

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
    return absl::DeadlineExceededError(absl::StrCat(
        "cloud-hypervisor (pid ", p.pid(), ") still alive 5s after SIGKILL"));
  }
  return absl::OkStatus();
}

absl::Status NotCreating(const Vm& vm) {
  if (vm.state() == Vm::CREATING) {
    return absl::FailedPreconditionError(
        "is still being created (state CREATING)");
  }
  if (vm.state() == Vm::DELETING) {
    return absl::FailedPreconditionError(
        "is being removed (state DELETING: an rm stopped half way; ch-launch "
        "rm finishes it)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> VmNetns(const Vm& vm) {
  std::string netns;
  for (int i = 0; i < vm.network_size(); ++i) {
    if (i > 0 && vm.network(i).netns_path() != netns) {
      return absl::InvalidArgumentError(
          "network: the NICs are in different network namespaces (CH runs in "
          "one)");
    }
    netns = vm.network(i).netns_path();
  }
  return netns;
}

absl::Status RecoverRestoreHeld(const Env& env, const Vm& vm) {
  const VmPaths p = PathsFor(env.config, vm.id());
  struct stat st;
  if (::lstat(p.restore_done.c_str(), &st) == 0) {
    RETURN_IF_ERROR(fs::RemoveTree(p.restore_done));
  }
  if (::lstat(p.restore_staging.c_str(), &st) != 0) return absl::OkStatus();
  // Only the staging dir a restore made: a link planted in its place would
  // make its files (a host file named previous-cow.raw) the VM's disk.
  UniqueFd staging(RetryEintr([&] {
    return ::open(p.restore_staging.c_str(),
                  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }));
  if (!staging.valid()) {
    const int err = errno;
    return absl::FailedPreconditionError(
        absl::StrCat(ErrnoError(err, "open", p.restore_staging).message(),
                     ": not the directory a restore makes; remove it by hand"));
  }
  // The disk the VM had before the restore, if the restore got that far.
  std::string previous, live;
  for (const std::string& name :
       {std::string("cow.raw"), std::string("overlay.qcow2")}) {
    const std::string prev_name = absl::StrCat("previous-", name);
    if (::fstatat(staging.get(), prev_name.c_str(), &st, AT_SYMLINK_NOFOLLOW) ==
            0 &&
        S_ISREG(st.st_mode)) {
      previous = absl::StrCat(p.restore_staging, "/", prev_name);
      live = absl::StrCat(p.run_dir, "/", name);
    }
  }
  if (!previous.empty()) {
    // The restore's CH (if it runs) never committed: it goes first.
    ASSIGN_OR_RETURN(std::optional<ChProcess> ch, FindCh(env, vm));
    if (ch) {
      RETURN_IF_ERROR(
          Terminate(*ch, Secs(env.config.terminate_grace_seconds(), 5)));
    }
    if (::rename(previous.c_str(), live.c_str()) != 0) {
      return ErrnoError(errno, "rename", previous);
    }
    RETURN_IF_ERROR(RemoveRuntimeFiles(p));
    RETURN_IF_ERROR(env.index
                        ->Update(vm.id(),
                                 [&](Vm& r) {
                                   if (r.state() == Vm::RUNNING) {
                                     r.set_state(Vm::STOPPED);
                                     r.set_stopped_at(Now(env));
                                   }
                                   return absl::OkStatus();
                                 })
                        .status());
  }
  return fs::RemoveTree(p.restore_staging);
}

absl::StatusOr<Vm> StopVmHeld(const Env& env, const Vm& vm,
                              absl::Duration timeout) {
  if (vm.state() == Vm::CREATING) {
    return absl::FailedPreconditionError(
        "is still being created (state CREATING)");
  }
  const VmPaths p = PathsFor(env.config, vm.id());
  ASSIGN_OR_RETURN(std::optional<ChProcess> live, FindCh(env, vm));
  if (!live && vm.state() == Vm::CREATED) return vm;  // never started
  if (live) {
    const absl::Duration grace = Secs(env.config.terminate_grace_seconds(), 5);
    std::unique_ptr<chapi::Client> api =
        env.api(p.api_socket, absl::Seconds(5));
    absl::Status s;
    if (launch::IsDirectBoot(vm)) {
      (void)api->Shutdown();  // best effort: the signals below decide
      s = Terminate(*live, grace);
    } else if (api->PowerButton().ok()) {
      absl::StatusOr<bool> gone = live->WaitExit(timeout);
      s = gone.status();
      if (s.ok() && !*gone) s = Terminate(*live, grace);
    } else {
      s = Terminate(*live, grace);
    }
    if (!s.ok()) {
      (void)SetState(env, vm, Vm::ERROR, s);
      return s;
    }
  }
  RETURN_IF_ERROR(RemoveRuntimeFiles(p));
  ASSIGN_OR_RETURN(Vm out, env.index->Update(vm.id(), [&](Vm& r) {
    r.set_state(Vm::STOPPED);
    r.set_stopped_at(Now(env));
    r.clear_error();
    return absl::OkStatus();
  }));
  out.set_run_dir(p.run_dir);
  out.set_log_dir(p.log_dir);
  return out;
}

absl::StatusOr<Vm> LoadVm(const Env& env, absl::string_view id) {
  ASSIGN_OR_RETURN(Vm vm, env.index->Get(id));
  const VmPaths p = PathsFor(env.config, vm.id());
  vm.set_run_dir(p.run_dir);
  vm.set_log_dir(p.log_dir);
  return vm;
}

absl::StatusOr<std::optional<ChProcess>> FindCh(const Env& env, const Vm& vm) {
  const VmPaths p = PathsFor(env.config, vm.id());
  absl::StatusOr<ChProcess> ch =
      process::FindChProcess(p.api_socket, p.pid_file, {p.cow_raw, p.overlay});
  if (ch.ok()) return std::optional<ChProcess>(*std::move(ch));
  if (absl::IsNotFound(ch.status())) return std::optional<ChProcess>();
  return ch.status();
}

absl::StatusOr<std::vector<std::string>> ChArgv(const Env& env, const Vm& vm) {
  ASSIGN_OR_RETURN(
      std::vector<std::string> args,
      launch::BuildChArgs(vm, PathsFor(env.config, vm.id()), env.host));
  args.insert(args.begin(), env.config.ch_binary());
  return args;
}

absl::Duration LockWait(const Env& env) {
  return Secs(env.config.stop_timeout_seconds(), 30) + absl::Minutes(1);
}

absl::StatusOr<Vm> StartVm(const Env& env, absl::string_view id) {
  ASSIGN_OR_RETURN(fs::FileLock lock, LockVm(env.config, id, LockWait(env)));
  ASSIGN_OR_RETURN(Vm vm, LoadVm(env, id));
  RETURN_IF_ERROR(NotCreating(vm));
  RETURN_IF_ERROR(RecoverRestoreHeld(env, vm));
  ASSIGN_OR_RETURN(vm, LoadVm(env, id));
  const VmPaths p = PathsFor(env.config, vm.id());
  ASSIGN_OR_RETURN(std::optional<ChProcess> live, FindCh(env, vm));
  if (live) {
    if (vm.state() != Vm::RUNNING) {
      ASSIGN_OR_RETURN(vm, env.index->Update(vm.id(), [&](Vm& r) {
        r.set_state(Vm::RUNNING);
        r.set_started_at(Now(env));
        r.clear_error();
        return absl::OkStatus();
      }));
    }
    return WithRuntime(vm, p, live->pid());
  }

  // What the record asks CH to open, checked before anything is done.
  RETURN_IF_ERROR(CheckRecordPaths(env.config, vm));
  RETURN_IF_ERROR(CheckBootFiles(env.config, vm));
  ASSIGN_OR_RETURN(std::vector<std::string> argv, ChArgv(env, vm));
  ASSIGN_OR_RETURN(std::string netns, VmNetns(vm));
  RETURN_IF_ERROR(fs::MakeDirs(p.run_dir, 0700));
  RETURN_IF_ERROR(fs::MakeDirs(p.log_dir, 0700));
  RETURN_IF_ERROR(RemoveRuntimeFiles(p));
  RETURN_IF_ERROR(fs::WriteFileAtomically(p.cmdline,
                                          launch::ShellJoin(argv) + "\n", 0600,
                                          /*sync=*/false));

  auto fail = [&](const absl::Status& why) {
    (void)fs::RemoveFile(p.pid_file);
    (void)SetState(env, vm, Vm::ERROR, why);
    return why;
  };
  UniqueFd log_fd(RetryEintr([&] {
    return ::open(p.log_file.c_str(),
                  O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
  }));
  if (!log_fd.valid()) return fail(ErrnoError(errno, "open", p.log_file));
  // Appended, not truncated: the log of an earlier run (a crash) is kept
  // (cocoon truncated it, docs/cocoon-lessons.md).
  const off_t log_start = ::lseek(log_fd.get(), 0, SEEK_END);
  process::SpawnOptions opts;
  opts.argv = argv;
  opts.stdout_fd = log_fd.get();
  opts.stderr_fd = log_fd.get();
  opts.new_session = true;
  opts.netns_path = netns;
  absl::StatusOr<process::Child> child = process::Spawn(opts);
  if (!child.ok()) return fail(child.status());
  // Atomic: a reader sees no pid file or a whole one, never an empty one.
  absl::Status s = fs::WriteFileAtomically(
      p.pid_file, absl::StrCat(child->pid(), "\n"), 0600,
      /*sync=*/false);
  const absl::Duration wait = Secs(env.config.socket_wait_seconds(), 5);
  const absl::Time deadline = env.now() + wait;
  if (s.ok()) s = chapi::WaitForApiSocket(p.api_socket, child->pidfd(), wait);
  if (s.ok()) {
    std::unique_ptr<chapi::Client> api = env.api(p.api_socket, wait);
    s = WaitRunning(*api, child->pidfd(), deadline, env.now);
  }
  if (!s.ok()) {
    (void)child->Signal(SIGKILL);
    (void)child->Wait();
    std::string why = ChLogSince(p, log_start < 0 ? 0 : log_start);
    if (!why.empty()) {
      s = absl::Status(
          s.code(),
          absl::StrCat(s.message(), "; cloud-hypervisor said: ", why));
    }
    return fail(s);
  }
  const pid_t pid = child->pid();
  absl::StatusOr<Vm> done = env.index->Update(vm.id(), [&](Vm& r) {
    r.set_state(Vm::RUNNING);
    r.set_started_at(Now(env));
    r.set_first_booted(true);
    r.clear_error();
    return absl::OkStatus();
  });
  if (!done.ok()) {
    (void)child->Signal(SIGKILL);
    (void)child->Wait();
    (void)RemoveRuntimeFiles(p);
    return done.status();
  }
  child->Detach();  // CH outlives us; init (or the subreaper) reaps it.
  done->set_run_dir(p.run_dir);
  done->set_log_dir(p.log_dir);
  // Through a wrapper that runs CH as its child, CH is the listener, not the
  // process spawned: report the one every later command will find.
  absl::StatusOr<std::optional<ChProcess>> ch = FindCh(env, *done);
  return WithRuntime(*done, p, ch.ok() && ch->has_value() ? (*ch)->pid() : pid);
}

absl::StatusOr<Vm> StopVm(const Env& env, absl::string_view id,
                          absl::Duration timeout) {
  ASSIGN_OR_RETURN(fs::FileLock lock, LockVm(env.config, id, LockWait(env)));
  ASSIGN_OR_RETURN(Vm vm, LoadVm(env, id));
  // A DELETING record must stay one (its files may be partly gone): only rm
  // finishes it; a stop that made it STOPPED hid a VM without its disk.
  RETURN_IF_ERROR(NotCreating(vm));
  RETURN_IF_ERROR(RecoverRestoreHeld(env, vm));
  ASSIGN_OR_RETURN(vm, LoadVm(env, id));
  return StopVmHeld(env, vm, timeout);
}

absl::StatusOr<Vm> RemoveVm(const Env& env, absl::string_view id, bool force,
                            absl::Duration timeout) {
  ASSIGN_OR_RETURN(fs::FileLock lock, LockVm(env.config, id, LockWait(env)));
  ASSIGN_OR_RETURN(Vm vm, LoadVm(env, id));
  if (vm.state() == Vm::CREATING && !force) {
    return absl::FailedPreconditionError(
        "is still being created (state CREATING): use --force if that create "
        "died");
  }
  ASSIGN_OR_RETURN(std::optional<ChProcess> live, FindCh(env, vm));
  if (live) {
    if (!force)
      return absl::FailedPreconditionError(
          "is running: stop it first or use --force");
    if (vm.state() == Vm::CREATING) {
      return absl::FailedPreconditionError(
          "is being created and has a live CH");
    }
    ASSIGN_OR_RETURN(vm, StopVmHeld(env, vm, timeout));
  }
  const VmPaths p = PathsFor(env.config, vm.id());
  // The commit point comes first: a crash after it leaves a record that says
  // DELETING (rm again finishes it, fsck reports it), never a record whose
  // files are silently gone.
  if (vm.state() != Vm::DELETING) {
    RETURN_IF_ERROR(env.index
                        ->Update(vm.id(),
                                 [](Vm& r) {
                                   r.set_state(Vm::DELETING);
                                   return absl::OkStatus();
                                 })
                        .status());
  }
  RETURN_IF_ERROR(fs::RemoveTree(p.run_dir));
  RETURN_IF_ERROR(fs::RemoveTree(p.log_dir));
  RETURN_IF_ERROR(env.index->Delete(vm.id()));
  (void)lock.RemoveFile();
  return vm;
}

absl::StatusOr<Vm> ForgetVm(const Env& env, absl::string_view id) {
  ASSIGN_OR_RETURN(fs::FileLock lock, LockVm(env.config, id, LockWait(env)));
  ASSIGN_OR_RETURN(Vm vm, env.index->Get(id));  // printed as it was stored
  absl::StatusOr<std::optional<ChProcess>> live = FindCh(env, vm);
  if (!live.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot tell whether Cloud Hypervisor is running, not removed: ",
        live.status().message()));
  }
  if (*live) {
    return absl::FailedPreconditionError(
        absl::StrCat("refusing to remove: Cloud Hypervisor is running as pid ",
                     (*live)->pid(), "; stop it first (ch-launch stop ",
                     vm.config().name(), ")"));
  }
  RETURN_IF_ERROR(env.index->Delete(vm.id()));
  (void)lock.RemoveFile();
  return vm;
}

absl::StatusOr<std::string> DebugVm(const Env& env, absl::string_view id) {
  ASSIGN_OR_RETURN(Vm vm, LoadVm(env, id));
  RETURN_IF_ERROR(CheckRecordPaths(env.config, vm));
  ASSIGN_OR_RETURN(std::vector<std::string> argv, ChArgv(env, vm));
  return launch::ShellJoin(argv);
}

}  // namespace chtools::vm

// ch-launch: the Cloud Hypervisor process lifecycle of VMs: create (prepare
// disks), start, stop, rm, debug (print the CH command line).
//
// stdin:  for create, a Records stream of `vm` input records (config,
//         storage, network, boot) unless flags describe the VM; for the other
//         commands, refs (id, name or id prefix) on argv, or a Records stream
//         ("-", or no refs with stdin not a terminal) naming VMs by id.
// stdout: a Records stream of the VMs acted on, written once at the end
//         (debug: one pasteable command line per VM instead).
// stderr: one line per VM that failed: `ch-launch: vm "web": start: why`.
// Exit:   0 all ok; 1 any VM failed (the others are still printed);
//         2 usage error (nothing done).
//
// Example:
//   ch-launch create --name web --kernel vmlinuz --initrd initrd.img
//       --layer base.erofs | ch-launch start | ch-launch stop
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "lib/base/interrupt.h"
#include "lib/cli/confined_stream.h"
#include "lib/cli/output.h"
#include "lib/cli/repeated.h"
#include "lib/cli/stream.h"
#include "lib/cli/tool.h"
#include "lib/config/config.h"
#include "lib/index/index.h"
#include "lib/vm/env.h"
#include "lib/vm/host.h"
#include "tools/ch-launch/ch_launch.h"

ABSL_FLAG(std::string, name, "", "create: VM name.");
ABSL_FLAG(std::string, cpu, "",
          "create: vCPUs (default 2; at most the host's CPUs).");
ABSL_FLAG(std::string, memory, "",
          "create: guest memory, e.g. 1G (default 1G, at least 512M).");
ABSL_FLAG(std::string, storage, "",
          "create: COW disk size, e.g. 20G (default 10G, at least 10G).");
ABSL_FLAG(std::string, image, "",
          "create: image reference to record (informational).");
ABSL_FLAG(std::string, kernel, "", "create: kernel for direct boot.");
ABSL_FLAG(std::string, initrd, "", "create: initramfs for direct boot.");
ABSL_FLAG(std::string, base, "", "create: base qcow2 of a cloud image.");
ABSL_FLAG(std::string, firmware, "",
          "create: UEFI firmware of a cloud image (CLOUDHV.fd).");
ABSL_FLAG(bool, windows, false,
          "create: Windows guest (cloud image, no cidata, kvm_hyperv=on).");
ABSL_FLAG(
    std::string, timeout, "",
    "stop/rm: wait this long for an ACPI shutdown before escalating (e.g. 10s; "
    "default: the config's stop timeout, 30s).");
ABSL_FLAG(bool, force, false, "rm: stop a running VM first.");

namespace {

constexpr char kUsage[] =
    R"(ch-launch: the Cloud Hypervisor process lifecycle of VMs.

Usage:
  ch-launch create --name N [--cpu C --memory M --storage S] \
      (--kernel K --initrd I [--layer L.erofs]... | --base B.qcow2 --firmware F [--windows]) \
      [--nic tap=T[,mac=M][,netns=NS][,ip=A.B.C.D/NN[,gw=G]]]...
  ch-launch create < records.txtpb
  ch-launch start|debug REF...            (or a record stream on stdin)
  ch-launch stop [--timeout=30s] REF...
  ch-launch rm [--force] [--timeout=30s] REF...

--layer and --nic may be repeated (layers bottom first). Records of the VMs
acted on are written to stdout; errors, one per VM, to stderr. A NIC
without mac= gets a random locally administered MAC. SIGINT/SIGTERM during
create roll the VM back. Exit: 0 ok, 1 some VM failed (or a malformed
record stream), 2 usage error, 128+N when signal N interrupted create.

Seccomp: ch-launch runs CH, mkfs.ext4 and qemu-img, and a filter survives
execve, so it does not confine itself: the record stream on stdin is read
and parsed in a child process under an allow-list (lib/sandbox; x86_64)
that may only read stdin and write the parsed records to its parent
(basic-process, read-write: no opening files, sockets, exec or signals to
others); anything else kills the child with SIGSYS, ch-launch reports it
and does nothing (exit 1). --no-seccomp (or CHTOOLS_NO_SECCOMP=1, or
no_seccomp: true in the config file) parses in process, for debugging.

Example:
  ch-launch create --name web --kernel vmlinuz --initrd initrd.img \
      --layer base.erofs | ch-launch start | ch-launch stop
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> layers, nics;
  bool missing = false;
  std::vector<char*> rest = chtools::cli::TakeRepeated(
      argc, argv, {{"layer", &layers}, {"nic", &nics}}, missing);
  std::vector<std::string> args =
      chtools::InitTool(kUsage, static_cast<int>(rest.size()), rest.data());
  if (missing) return chtools::UsageError("--layer and --nic need a value");
  if (args.empty())
    return chtools::UsageError(
        "missing command (create, start, stop, rm, debug)");

  // Paths typed on the command line are relative to this directory; the
  // record must hold them absolute (start may run anywhere).
  auto abs = [](const std::string& p) {
    if (p.empty() || p[0] == '/') return p;
    std::error_code ec;
    std::filesystem::path a = std::filesystem::absolute(p, ec);
    return ec ? p : a.lexically_normal().string();
  };
  for (std::string& l : layers) l = abs(l);

  ch_launch::Options o;
  o.command = args[0];
  o.args.assign(args.begin() + 1, args.end());
  o.create = {.name = absl::GetFlag(FLAGS_name),
              .cpu = absl::GetFlag(FLAGS_cpu),
              .memory = absl::GetFlag(FLAGS_memory),
              .storage = absl::GetFlag(FLAGS_storage),
              .image = absl::GetFlag(FLAGS_image),
              .layers = layers,
              .kernel = abs(absl::GetFlag(FLAGS_kernel)),
              .initrd = abs(absl::GetFlag(FLAGS_initrd)),
              .base = abs(absl::GetFlag(FLAGS_base)),
              .firmware = abs(absl::GetFlag(FLAGS_firmware)),
              .nics = nics,
              .windows = absl::GetFlag(FLAGS_windows)};
  o.force = absl::GetFlag(FLAGS_force);
  if (std::string t = absl::GetFlag(FLAGS_timeout); !t.empty()) {
    absl::Duration d;
    if (!absl::ParseDuration(t, &d) || d < absl::ZeroDuration()) {
      return chtools::UsageError(
          absl::StrCat("--timeout=", t, ": not a duration (e.g. 10s)"));
    }
    o.timeout = d;
  }
  if (o.command != "create" && o.create.Any()) {
    return chtools::UsageError(
        absl::StrCat("create flags given to ", o.command));
  }
  if (o.timeout && o.command != "stop" && o.command != "rm") {
    return chtools::UsageError(
        absl::StrCat("--timeout applies to stop and rm, not ", o.command));
  }
  if (o.force && o.command != "rm") {
    return chtools::UsageError(
        absl::StrCat("--force applies to rm, not ", o.command));
  }

  absl::StatusOr<chtools::ToolConfig> config =
      chtools::config::LoadToolConfig();
  if (!config.ok()) return chtools::ExitCode(config.status());
  // A relative CH path must keep working from CH's own cwd and in the saved
  // command line.
  if (const std::string& ch = config->ch_binary();
      ch.find('/') != std::string::npos && ch[0] != '/') {
    std::error_code ec;
    config->set_ch_binary(
        std::filesystem::absolute(ch, ec).lexically_normal().string());
  }
  absl::StatusOr<std::unique_ptr<chtools::index::Index>> index =
      chtools::index::Index::Open(config->root_dir());
  if (!index.ok()) return chtools::ExitCode(index.status());

  chtools::vm::Env env;
  env.config = *config;
  env.host = chtools::vm::ReadHostFacts();
  env.index = index->get();
  // Set up: from here on the record stream (untrusted) is read, parsed in a
  // confined child unless the settings say no_seccomp.
  const bool stdin_is_tty = ::isatty(STDIN_FILENO) == 1;
  chtools::cli::Stdin in =
      config->no_seccomp()
          ? chtools::cli::FromFd(STDIN_FILENO, stdin_is_tty)
          : chtools::cli::ConfinedFromFd(STDIN_FILENO, stdin_is_tty);
  absl::StatusOr<chtools::cli::Batch> batch = ch_launch::Run(env, o, in);
  if (!batch.ok()) return chtools::ExitCode(batch.status());
  chtools::cli::Sink out(STDOUT_FILENO);
  int rc = chtools::cli::Finish(*batch, out);
  if (int sig = chtools::InterruptSignal(); sig != 0) return 128 + sig;
  return rc;
}

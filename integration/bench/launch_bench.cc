// launch_bench: what ch-launch adds to starting and stopping a VM, against
// the simulator alone, measured in the same run.
//
// Baselines: the simulator spawned directly with the exact argv ch-launch
// uses, timed from spawn to (a) its API socket accepting and (b) vm.info
// answering Running; and SIGTERM -> exit of that bare process. Measured:
// `ch-launch start` and `ch-launch stop` (direct boot) wall times, run as
// programs. Prints medians over --runs and the overheads.
//
// Example:
//   bazel run //integration/bench:launch_bench -- --runs=30
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "lib/chapi/client.h"
#include "lib/chapi/wait_socket.h"
#include "lib/cli/tool.h"
#include "lib/config/config.h"
#include "lib/index/index.h"
#include "lib/process/spawn.h"
#include "lib/vm/boot_wait.h"
#include "lib/vm/env.h"
#include "lib/vm/host.h"
#include "lib/vm/lifecycle.h"

ABSL_FLAG(std::string, ch_launch, "", "Path of ch-launch.");
ABSL_FLAG(std::string, sim, "", "Path of the CH simulator (cloud-hypervisor).");
ABSL_FLAG(int, runs, 20, "Measurements per row.");
ABSL_FLAG(
    std::string, dir, "/tmp",
    "Where the throw-away root/run/log dirs go (e.g. /dev/shm for tmpfs).");

namespace {

using chtools::process::RunCommand;

[[noreturn]] void Die(const std::string& what) {
  chtools::PrintError(what);
  std::exit(1);
}

std::string Run(const std::vector<std::string>& argv) {
  auto r = RunCommand(argv, absl::Seconds(60));
  if (!r.ok()) Die(std::string(r.status().message()));
  if (!r->exit.exited() || r->exit.code() != 0) {
    Die(absl::StrCat(argv[0], " ", argv[1], ": ", r->exit.ToString(), ": ",
                     r->err));
  }
  return r->out;
}

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string Field(const std::string& text, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripLeadingAsciiWhitespace(line);
    if (absl::StartsWith(line, name + ": ")) {
      line.remove_prefix(name.size() + 2);
      return std::string(
          absl::StripSuffix(absl::StripPrefix(line, "\""), "\""));
    }
  }
  Die("no " + name + " in ch-launch output");
}

std::vector<std::string> ProcCmdline(const std::string& pid) {
  std::ifstream f("/proc/" + pid + "/cmdline", std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string s = ss.str();
  if (!s.empty() && s.back() == '\0') s.pop_back();
  return absl::StrSplit(s, '\0');
}

}  // namespace

int main(int argc, char** argv) {
  chtools::InitTool("launch_bench --ch-launch=PATH --sim=PATH [--runs=N]", argc,
                    argv);
  const std::string launch = absl::GetFlag(FLAGS_ch_launch),
                    sim = absl::GetFlag(FLAGS_sim);
  const int runs = absl::GetFlag(FLAGS_runs);
  if (launch.empty() || sim.empty() || runs < 1)
    return chtools::UsageError("need --ch-launch and --sim");

  std::string tmpl = absl::GetFlag(FLAGS_dir) + "/launch_bench.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) Die("mkdtemp " + tmpl);
  const std::string t = tmpl;
  ::setenv("CHTOOLS_ROOT_DIR", (t + "/root").c_str(), 1);
  ::setenv("CHTOOLS_RUN_DIR", (t + "/run").c_str(), 1);
  ::setenv("CHTOOLS_LOG_DIR", (t + "/log").c_str(), 1);
  ::setenv("CHTOOLS_CH_BINARY", sim.c_str(), 1);
  Run({"mkdir", "-p", t + "/root", t + "/img"});
  Run({"truncate", "-s", "1M", t + "/img/vmlinuz", t + "/img/initrd.img",
       t + "/img/l0.erofs"});
  std::string created =
      Run({launch, "create", "--name", "bench", "--cpu", "1", "--memory",
           "512M", "--kernel", t + "/img/vmlinuz", "--initrd",
           t + "/img/initrd.img", "--layer", t + "/img/l0.erofs"});
  const std::string run_dir = Field(created, "run_dir");
  const std::string api = run_dir + "/api.sock";

  // The exact argv ch-launch runs, taken from the live process.
  std::string started = Run({launch, "start", "bench"});
  std::vector<std::string> ch_argv = ProcCmdline(Field(started, "pid"));
  Run({launch, "stop", "bench"});

  // ch-launch's core, called in this process: what the tool itself adds,
  // without the cost of exec'ing it. Interleaved with the other rows so that
  // load from elsewhere hits all of them alike.
  auto config = chtools::config::LoadToolConfig();
  if (!config.ok()) Die(std::string(config.status().message()));
  auto index = chtools::index::Index::Open(config->root_dir());
  if (!index.ok()) Die(std::string(index.status().message()));
  chtools::vm::Env env;
  env.config = *config;
  env.host = chtools::vm::ReadHostFacts();
  env.index = index->get();
  auto bench_id = env.index->Resolve("bench");
  if (!bench_id.ok()) Die(std::string(bench_id.status().message()));

  std::vector<double> to_socket, to_running, bare_term, start, stop, core_start,
      core_stop;
  for (int i = 0; i < runs; ++i) {
    ::unlink(api.c_str());
    chtools::process::SpawnOptions o;
    o.argv = ch_argv;
    o.new_session = true;
    absl::Time t0 = absl::Now();
    auto child = chtools::process::Spawn(o);
    if (!child.ok()) Die(std::string(child.status().message()));
    if (auto s = chtools::chapi::WaitForApiSocket(api, child->pidfd(),
                                                  absl::Seconds(5));
        !s.ok()) {
      Die(std::string(s.message()));
    }
    absl::Time t1 = absl::Now();
    chtools::chapi::Client c(api, absl::Seconds(5));
    // The same wait start does: CH serves before it has booted the VM.
    if (auto s = chtools::vm::WaitRunning(c, child->pidfd(),
                                          absl::Now() + absl::Seconds(5),
                                          [] { return absl::Now(); });
        !s.ok()) {
      Die(absl::StrCat("bare sim did not boot: ", s.message()));
    }
    absl::Time t2 = absl::Now();
    to_socket.push_back(Ms(t1 - t0));
    to_running.push_back(Ms(t2 - t0));
    absl::Time t3 = absl::Now();
    (void)child->Signal(SIGTERM);
    (void)child->Wait();
    bare_term.push_back(Ms(absl::Now() - t3));

    absl::Time s0 = absl::Now();
    Run({launch, "start", "bench"});
    start.push_back(Ms(absl::Now() - s0));
    absl::Time s1 = absl::Now();
    Run({launch, "stop", "bench"});
    stop.push_back(Ms(absl::Now() - s1));

    absl::Time c0 = absl::Now();
    auto vm = chtools::vm::StartVm(env, *bench_id);
    if (!vm.ok()) Die(std::string(vm.status().message()));
    core_start.push_back(Ms(absl::Now() - c0));
    absl::Time c1 = absl::Now();
    auto stopped = chtools::vm::StopVm(env, *bench_id, absl::Seconds(30));
    if (!stopped.ok()) Die(std::string(stopped.status().message()));
    core_stop.push_back(Ms(absl::Now() - c1));
  }
  Run({launch, "rm", "bench"});
  Run({"rm", "-rf", t});

  // ch-launch itself, doing nothing with a VM: process start, flags, config,
  // index open (a usage error exits before any VM work).
  std::vector<double> noop;
  for (int i = 0; i < runs; ++i) {
    absl::Time n0 = absl::Now();
    auto r = RunCommand({launch, "--help"}, absl::Seconds(10));
    if (!r.ok()) Die("ch-launch --help");
    noop.push_back(Ms(absl::Now() - n0));
  }

  const double sock = Median(to_socket), booted = Median(to_running),
               st = Median(start), sp = Median(stop), term = Median(bare_term),
               help = Median(noop);
  std::printf(
      "launch_bench: %d runs under %s, medians in ms (direct-boot VM, 1 vCPU, "
      "simulator)\n\n",
      runs, absl::GetFlag(FLAGS_dir).c_str());
  std::printf("%-46s %9s %9s\n", "measurement", "ms", "ratio");
  std::printf("%-46s %9.2f %9.2f\n", "bare sim: spawn -> API socket accepts",
              sock, 1.0);
  std::printf("%-46s %9.2f %9.2f\n", "bare sim: spawn -> vm.info Running",
              booted, booted / sock);
  std::printf("%-46s %9.2f %9.2f\n", "ch-launch start (whole program)", st,
              st / sock);
  std::printf("%-46s %9.2f %9s\n", "  overhead vs exec->socket (target <= 5)",
              st - sock, "");
  std::printf("%-46s %9.2f %9s\n", "  overhead vs exec->Running", st - booted,
              "");
  std::printf("%-46s %9.2f %9s\n", "ch-launch --help (process start only)",
              help, "");
  std::printf("%-46s %9.2f %9s\n", "  start minus exec->Running minus --help",
              st - booted - help, "");
  const double cst = Median(core_start), csp = Median(core_stop);
  std::printf("%-46s %9.2f %9.2f\n", "ch-launch start core, in-process", cst,
              cst / sock);
  std::printf("%-46s %9.2f %9s\n", "  overhead vs exec->socket (target <= 5)",
              cst - sock, "");
  std::printf("%-46s %9.2f %9s\n", "  overhead vs exec->Running", cst - booted,
              "");
  std::printf("%-46s %9.2f %9.2f\n", "bare sim: SIGTERM -> exit", term, 1.0);
  std::printf("%-46s %9.2f %9.2f\n",
              "ch-launch stop (vm.shutdown, SIGTERM, wait)", sp, sp / term);
  std::printf("%-46s %9.2f %9.2f\n", "ch-launch stop core, in-process", csp,
              csp / term);
  return 0;
}

// clone_bench: what chtools' clones cost, against baselines measured in the
// same run. Needs root (network namespaces, taps, the store's modes).
//
// 1. Clone storm: 64 clones of one store snapshot (512 MiB RAM, 32 MiB of it
//    dirtied, one NIC) at once, with 200 other VMs resident (made with
//    `ch-launch create` + `start`: 200 running simulator processes and their
//    records; --resident=records makes records only). The bench forks 64
//    children after all set-up; each waits on a common start pipe, calls
//    CloneVm (lib/vm/clone.h) onto its own tap (64 taps in one netns) and
//    sends its CloneTimes back through a pipe. Overhead per clone = wall -
//    restore_call (the bare vm.restore, the simulator's own work). The same
//    for the 64 clones one at a time, and the parts a clone is made of
//    (an `ip -d -j link show` inside the netns, as ProbeTap runs twice per
//    clone; the bare simulator spawn -> API socket accepting).
// 2. Direct clone (CloneVm, in process) of a 512 MiB vs a 4 GiB VM's
//    snapshot (each with 32 MiB dirtied): wall, restore_call, overhead, the
//    ratios, and the clone's own disk (st_blocks*512 of its run dir while it
//    runs) as % of RAM.
// 3. Stream clone: `ch-clone FILE` of an archive from `ch-snapshot export -o
//    FILE` (COW 10 GiB sparse holding 256 MiB of data, RAM 512 MiB with
//    `mem-dirty 128`) vs `bsdtar -xSf FILE -C dir`, and vs bsdtar + sha256sum
//    of the extracted files (ch-clone verifies every file's SHA-256).
// The simulator runs with CHSIM_SPARSE_MEMORY_RANGES=1. Prints medians (and
// p50/p95 for the storm) over --runs; asserts nothing.
//
// Example:
//   bazel run -c opt //integration/bench:clone_bench -- --runs=3
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "lib/base/unique_fd.h"
#include "lib/chapi/wait_socket.h"
#include "lib/cli/tool.h"
#include "lib/config/config.h"
#include "lib/index/index.h"
#include "lib/process/spawn.h"
#include "lib/record/records.pb.h"
#include "lib/snapshot/store.h"
#include "lib/vm/clone.h"
#include "lib/vm/env.h"
#include "lib/vm/host.h"

ABSL_FLAG(std::string, ch_launch, "", "Path of ch-launch.");
ABSL_FLAG(std::string, ch_console, "", "Path of ch-console.");
ABSL_FLAG(std::string, ch_snapshot, "", "Path of ch-snapshot.");
ABSL_FLAG(std::string, ch_clone, "", "Path of ch-clone.");
ABSL_FLAG(std::string, sim, "", "Path of the CH simulator (cloud-hypervisor).");
ABSL_FLAG(int, runs, 3, "Measurements per row (storm: rounds of 64).");
ABSL_FLAG(std::string, dir, "/var/tmp",
          "Disk filesystem for the scratch dir (10 GiB sparse files). Keep "
          "it short: API socket paths must fit in 108 bytes.");
ABSL_FLAG(int, clones, 64, "Clones in the storm.");
ABSL_FLAG(int, resident, 200, "VMs already in the registry for the storm.");
ABSL_FLAG(std::string, resident_kind, "processes",
          "processes: resident VMs made and started with ch-launch (running "
          "simulators); records: only their records, through lib/index.");

namespace {

using chtools::process::RunCommand;

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;

// Undo steps (kill the VMs, delete the netns, the scratch dir), run last
// first on exit and on Die. Only the bench's own process runs them.
std::vector<std::vector<std::string>> g_undo;
pid_t g_main_pid = 0;

void Undo() {
  while (!g_undo.empty()) {
    (void)RunCommand(g_undo.back(), absl::Minutes(2));
    g_undo.pop_back();
  }
}

[[noreturn]] void Die(const std::string& what) {
  chtools::PrintError(what);
  if (::getpid() != g_main_pid) ::_exit(1);
  Undo();
  std::exit(1);
}

std::string Run(const std::vector<std::string>& argv,
                absl::Duration timeout = absl::Minutes(5)) {
  auto r = RunCommand(argv, timeout);
  if (!r.ok()) Die(std::string(r.status().message()));
  if (!r->exit.exited() || r->exit.code() != 0) {
    Die(absl::StrCat(absl::StrJoin(argv, " "), ": ", r->exit.ToString(), ": ",
                     r->err));
  }
  return r->out;
}

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Nearest-rank percentile.
double Pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t k = static_cast<size_t>(std::ceil(p / 100.0 * v.size()));
  return v[k == 0 ? 0 : k - 1];
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
  Die("no " + name + " in: " + text);
}

std::string RandomBytes(uint64_t seed, size_t n) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v = rng() | 1;
    std::memcpy(s.data() + i, &v, 8);
  }
  return s;
}

// Writes `n` extents of `extent` random bytes spread over an existing file
// of `size` (its other blocks untouched).
void WriteScattered(const std::string& path, uint64_t size, int n,
                    uint64_t extent) {
  chtools::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) Die(absl::StrCat("open ", path, ": ", strerror(errno)));
  const uint64_t stride = size / n / kMiB * kMiB;
  for (int i = 0; i < n; ++i) {
    const std::string data = RandomBytes(i + 1, extent);
    if (::pwrite(fd.get(), data.data(), data.size(),
                 static_cast<off_t>(i * stride + kMiB)) !=
        static_cast<ssize_t>(data.size())) {
      Die("write " + path);
    }
  }
  if (::fsync(fd.get()) != 0) Die("fsync " + path);
}

// Allocated bytes (st_blocks * 512) under `dir`.
uint64_t g_du = 0;
int DuOne(const char*, const struct stat* st, int type, struct FTW*) {
  if (type == FTW_F || type == FTW_SL || type == FTW_D)
    g_du += static_cast<uint64_t>(st->st_blocks) * 512;
  return 0;
}
uint64_t AllocatedBytes(const std::string& dir) {
  g_du = 0;
  if (::nftw(dir.c_str(), DuOne, 16, FTW_PHYS) != 0) Die("nftw " + dir);
  return g_du;
}

struct Paths {
  std::string launch, console, snap, clone, sim, img;
};

struct World {
  Paths p;
  std::string t;         // scratch dir
  std::string src_ns;    // netns of the source VMs' taps
  std::string clone_ns;  // netns of the clones' taps (tap0..tapN-1)
  chtools::vm::Env env;
  std::unique_ptr<chtools::index::Index> index;
  std::unique_ptr<chtools::snapshot::Store> store;
  int src_taps = 0;
};

std::string NsPath(const std::string& ns) { return "/var/run/netns/" + ns; }

// Creates (and starts) a direct-boot VM with one NIC on the next source tap.
// Returns its `ch-launch create` output.
std::string MakeSource(World& w, const std::string& name,
                       const std::string& memory, bool start) {
  const std::string tap = absl::StrCat("tap", w.src_taps++);
  Run({"ip", "-n", w.src_ns, "tuntap", "add", tap, "mode", "tap"});
  const std::string out =
      Run({w.p.launch, "create", "--name", name, "--cpu", "1", "--memory",
           memory, "--kernel", w.p.img + "/vmlinuz", "--initrd",
           w.p.img + "/initrd.img", "--layer", w.p.img + "/layer0.erofs",
           "--nic", absl::StrCat("tap=", tap, ",netns=", w.src_ns)});
  if (start) Run({w.p.launch, "start", name});
  return out;
}

void Dirty(World& w, const std::string& name, int mib) {
  const std::string dirtied =
      Run({"sh", "-c",
           absl::StrCat("echo 'mem-dirty ", mib, "' | '", w.p.console,
                        "' --idle=5s ", name)});
  if (!absl::StrContains(dirtied, absl::StrCat("dirtied ", mib, " MiB")))
    Die(absl::StrCat("mem-dirty ", mib, ": ", dirtied));
}

// `ch-snapshot save`, then the source VM goes (its snapshot stays).
std::string Save(World& w, const std::string& name) {
  const std::string out =
      Run({w.p.snap, "save", name, "--name", name + "-s"}, absl::Minutes(10));
  Run({w.p.launch, "rm", "--force", name});
  return Field(out, "id");
}

chtools::vm::CloneOptions CloneOpts(const World& w, int tap) {
  chtools::vm::CloneOptions o;
  chtools::NetworkConfig n;
  n.set_tap(absl::StrCat("tap", tap));
  n.set_netns_path(NsPath(w.clone_ns));
  o.nics.push_back(n);
  return o;
}

// Removes clones; reaps the simulators CloneVm spawned from this process
// (detached children of ours: zombies once ch-launch has killed them).
void Remove(World& w, const std::vector<std::string>& ids) {
  for (const std::string& id : ids) Run({w.p.launch, "rm", "--force", id});
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

// ---- 1. Storm ---------------------------------------------------------------

struct Sample {
  int ok = 0;
  double wall = 0, total = 0, restore = 0;
  char id[40] = {};
  char err[900] = {};
};
static_assert(sizeof(Sample) < PIPE_BUF, "one atomic write per sample");

struct Series {
  std::vector<double> wall, restore, over;
  void Add(const Sample& s) {
    wall.push_back(s.wall);
    restore.push_back(s.restore);
    over.push_back(s.wall - s.restore);
  }
};

Sample CloneOnce(const World& w, const std::string& snap_id, int tap) {
  Sample s;
  chtools::vm::SnapshotSource src;
  src.store = w.store.get();
  src.id = snap_id;
  chtools::vm::CloneTimes times;
  const absl::Time t0 = absl::Now();
  absl::StatusOr<chtools::Vm> vm =
      chtools::vm::CloneVm(w.env, src, CloneOpts(w, tap), &times);
  s.wall = Ms(absl::Now() - t0);
  s.total = Ms(times.total);
  s.restore = Ms(times.restore_call);
  if (vm.ok()) {
    s.ok = 1;
    std::snprintf(s.id, sizeof(s.id), "%s", vm->id().c_str());
  } else {
    std::snprintf(s.err, sizeof(s.err), "%s",
                  std::string(vm.status().message()).c_str());
  }
  return s;
}

// `n` clones at once, one forked child each; returns the samples and the
// makespan (start pipe closed -> last sample read).
std::vector<Sample> Storm(const World& w, const std::string& snap_id, int n,
                          double* makespan_ms) {
  int go[2], res[2], ready[2];
  if (::pipe2(go, O_CLOEXEC) != 0 || ::pipe2(res, O_CLOEXEC) != 0 ||
      ::pipe2(ready, O_CLOEXEC) != 0)
    Die("pipe");
  std::fflush(stdout);
  std::fflush(stderr);
  std::vector<pid_t> kids;
  for (int i = 0; i < n; ++i) {
    pid_t pid = ::fork();
    if (pid < 0) Die("fork");
    if (pid == 0) {
      ::close(go[1]);
      ::close(res[0]);
      ::close(ready[0]);
      char c = 'r';
      (void)!::write(ready[1], &c, 1);
      ::close(ready[1]);
      (void)!::read(go[0], &c, 1);  // EOF: everyone starts
      Sample s = CloneOnce(w, snap_id, i);
      (void)!::write(res[1], &s, sizeof(s));
      ::_exit(0);
    }
    kids.push_back(pid);
  }
  ::close(go[0]);
  ::close(res[1]);
  ::close(ready[1]);
  // Every child is at its read() of the start pipe (EOF: all have written).
  char buf[256];
  while (::read(ready[0], buf, sizeof(buf)) > 0) {
  }
  ::close(ready[0]);
  const absl::Time t0 = absl::Now();
  ::close(go[1]);
  std::vector<Sample> out;
  for (int i = 0; i < n; ++i) {
    Sample s;
    ssize_t got = ::read(res[0], &s, sizeof(s));
    if (got != static_cast<ssize_t>(sizeof(s))) break;
    out.push_back(s);
  }
  *makespan_ms = Ms(absl::Now() - t0);
  ::close(res[0]);
  for (pid_t pid : kids) ::waitpid(pid, nullptr, 0);
  return out;
}

void CollectOrDie(World& w, const std::vector<Sample>& samples, int want,
                  Series& series, const char* what) {
  std::vector<std::string> ids;
  std::string first_err;
  for (const Sample& s : samples) {
    if (s.ok) {
      ids.push_back(s.id);
      series.Add(s);
    } else if (first_err.empty()) {
      first_err = s.err;
    }
  }
  Remove(w, ids);
  if (static_cast<int>(ids.size()) != want) {
    Die(absl::StrCat(what, ": ", ids.size(), " of ", want,
                     " clones succeeded; first error: ", first_err));
  }
}

void StormTable(World& w, const std::string& snap_id, int runs) {
  const int n = absl::GetFlag(FLAGS_clones);
  const int resident = absl::GetFlag(FLAGS_resident);
  const bool procs = absl::GetFlag(FLAGS_resident_kind) == "processes";
  for (int i = 0; i < n; ++i) {
    Run({"ip", "-n", w.clone_ns, "tuntap", "add", absl::StrCat("tap", i),
         "mode", "tap"});
  }
  // Resident VMs.
  const absl::Time r0 = absl::Now();
  if (procs) {
    for (int i = 0; i < resident; ++i) {
      const std::string name = absl::StrCat("r", i);
      Run({w.p.launch, "create", "--name", name, "--cpu", "1", "--memory",
           "512M", "--kernel", w.p.img + "/vmlinuz", "--initrd",
           w.p.img + "/initrd.img", "--layer", w.p.img + "/layer0.erofs"});
      Run({w.p.launch, "start", name});
    }
  } else {
    for (int i = 0; i < resident; ++i) {
      chtools::Vm vm;
      vm.set_id(absl::StrFormat("%016x", 0x7e51de0000ULL + i));
      vm.set_state(chtools::Vm::CREATING);
      vm.mutable_config()->set_name(absl::StrCat("r", i));
      vm.mutable_config()->set_cpu(1);
      vm.mutable_config()->set_memory_bytes(512 * kMiB);
      vm.mutable_config()->set_storage_bytes(10 * kGiB);
      absl::Status s = w.index->Reserve(vm);
      if (!s.ok()) Die(std::string(s.message()));
    }
  }
  auto listed = w.index->List();
  if (!listed.ok()) Die(std::string(listed.status().message()));
  const size_t in_registry = listed->size();
  const double resident_s = absl::ToDoubleSeconds(absl::Now() - r0);

  Series storm, seq;
  std::vector<double> makespan, seq_makespan;
  for (int r = 0; r < runs; ++r) {
    double ms = 0;
    std::vector<Sample> got = Storm(w, snap_id, n, &ms);
    makespan.push_back(ms);
    CollectOrDie(w, got, n, storm, "storm");
    std::vector<Sample> one;
    const absl::Time t0 = absl::Now();
    for (int i = 0; i < n; ++i) one.push_back(CloneOnce(w, snap_id, i));
    seq_makespan.push_back(Ms(absl::Now() - t0));
    CollectOrDie(w, one, n, seq, "sequential");
  }

  // The parts: ProbeTap's `ip -d -j link show` in the netns (twice per
  // clone: the clone's tap and its parking tap), and the bare simulator
  // spawn -> API socket accepting (LaunchForRestore's wait).
  std::vector<double> ip_ms, spawn_ms;
  const std::string sock_dir = w.t + "/bare";
  Run({"mkdir", "-p", sock_dir});
  for (int i = 0; i < 20; ++i) {
    chtools::process::SpawnOptions o;
    o.argv = {"ip", "-d", "-j", "link", "show", "tap0"};
    o.netns_path = NsPath(w.clone_ns);
    absl::Time t0 = absl::Now();
    auto r = RunCommand(o, absl::Seconds(30));
    if (!r.ok() || r->exit.code() != 0) Die("ip link show in the netns");
    ip_ms.push_back(Ms(absl::Now() - t0));

    const std::string sock = sock_dir + "/api.sock";
    ::unlink(sock.c_str());
    chtools::process::SpawnOptions s;
    s.argv = {w.p.sim, "--api-socket", sock};
    s.new_session = true;
    s.netns_path = NsPath(w.clone_ns);
    t0 = absl::Now();
    auto child = chtools::process::Spawn(s);
    if (!child.ok()) Die(std::string(child.status().message()));
    absl::Status ws = chtools::chapi::WaitForApiSocket(sock, child->pidfd(),
                                                       absl::Seconds(10));
    spawn_ms.push_back(Ms(absl::Now() - t0));
    if (!ws.ok()) Die(std::string(ws.message()));
    (void)child->Signal(SIGKILL);
    (void)child->Wait();
  }

  std::printf(
      "1. Clone storm: %d clones at once of one store snapshot (512 MiB RAM, "
      "32 MiB dirtied, 1 NIC),\n   each onto its own tap (%d taps in one "
      "netns), %zu VMs in the registry (%d resident %s,\n   made in %.1f s), "
      "simulator with sparse RAM; the bench forks one child per clone after "
      "set-up,\n   each calls CloneVm and reports its CloneTimes; %d runs "
      "(%zu samples per row), ms\n   overhead = wall - restore_call (the bare "
      "vm.restore = the simulator's own restore)\n   goal: overhead p50 "
      "<= 25 ms (cocoon measured ~4 s p50 per clone)\n\n",
      n, n, in_registry, resident,
      procs ? "VMs running as simulator processes, via ch-launch create+start"
            : "VM records only, via lib/index Reserve",
      resident_s, runs, storm.wall.size());
  std::printf("   %-26s %9s %9s %9s %9s %9s %9s %10s\n", "", "wall p50",
              "wall p95", "rest p50", "rest p95", "over p50", "over p95",
              "all done");
  auto row = [](const char* label, const Series& s,
                const std::vector<double>& span) {
    std::printf("   %-26s %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %10.1f\n", label,
                Pct(s.wall, 50), Pct(s.wall, 95), Pct(s.restore, 50),
                Pct(s.restore, 95), Pct(s.over, 50), Pct(s.over, 95),
                Median(span));
  };
  row(absl::StrCat(n, " at once").c_str(), storm, makespan);
  row("one at a time", seq, seq_makespan);
  std::printf(
      "   parts (one at a time, medians of 20): `ip -d -j link show` in the "
      "netns %.1f ms (ProbeTap: 2 per clone);\n   bare simulator spawn -> "
      "API socket accepting %.1f ms\n\n",
      Median(ip_ms), Median(spawn_ms));
  std::fflush(stdout);
}

// ---- 2. 512 MiB vs 4 GiB ----------------------------------------------------

void SizeTable(World& w, const std::string& snap512, const std::string& snap4g,
               int runs) {
  struct Row {
    std::string mem;
    std::string snap;
    uint64_t ram;
    Series s;
    std::vector<double> disk, cow;
  };
  std::vector<Row> rows = {{"512 MiB", snap512, 512 * kMiB, {}, {}, {}},
                           {"4 GiB", snap4g, 4 * kGiB, {}, {}, {}}};
  for (int r = 0; r < runs; ++r) {
    for (Row& row : rows) {
      Sample s = CloneOnce(w, row.snap, 0);
      if (!s.ok) Die(absl::StrCat("clone ", row.mem, ": ", s.err));
      row.s.Add(s);
      auto vm = w.index->Get(s.id);
      if (!vm.ok()) Die(std::string(vm.status().message()));
      row.disk.push_back(static_cast<double>(AllocatedBytes(vm->run_dir())));
      struct stat st;
      if (::stat((vm->run_dir() + "/cow.raw").c_str(), &st) != 0)
        Die("stat cow.raw");
      row.cow.push_back(static_cast<double>(st.st_blocks) * 512);
      Remove(w, {s.id});
    }
  }
  std::printf(
      "2. Direct clone (CloneVm in process, one at a time) of a 512 MiB vs a "
      "4 GiB VM's snapshot,\n   32 MiB dirtied in each, scratch on --dir; %d "
      "runs, medians; goals: 4 GiB/512 MiB <= 1.1,\n   clone's disk (its "
      "run dir's allocated blocks while it runs) <= 1 %% of RAM\n\n",
      runs);
  std::printf("   %-8s %9s %12s %9s %12s %11s %9s\n", "RAM", "wall ms",
              "restore ms", "over ms", "run dir MiB", "cow.raw MiB", "% RAM");
  for (const Row& row : rows) {
    const double disk = Median(row.disk);
    std::printf("   %-8s %9.1f %12.1f %9.1f %12.2f %11.2f %9.3f\n",
                row.mem.c_str(), Median(row.s.wall), Median(row.s.restore),
                Median(row.s.over), disk / kMiB, Median(row.cow) / kMiB,
                100.0 * disk / static_cast<double>(row.ram));
  }
  std::printf(
      "   ratio 4 GiB / 512 MiB: wall %.2f, restore %.2f, overhead "
      "%.2f\n\n",
      Median(rows[1].s.wall) / Median(rows[0].s.wall),
      Median(rows[1].s.restore) / Median(rows[0].s.restore),
      Median(rows[1].s.over) / Median(rows[0].s.over));
  std::fflush(stdout);
}

// ---- 3. Stream clone --------------------------------------------------------

void StreamTable(World& w, const std::string& archive, int runs) {
  const std::string x = w.t + "/x";
  std::vector<double> clone_ms, bsdtar_ms, sha_ms, inproc_ms, inproc_rest;
  const std::string names = "config.json state.json memory-ranges cow.raw";
  for (int r = 0; r < runs; ++r) {
    absl::Time t0 = absl::Now();
    const std::string out = Run({w.p.clone, archive, "--nic",
                                 absl::StrCat("tap=tap0,netns=", w.clone_ns)},
                                absl::Minutes(10));
    clone_ms.push_back(Ms(absl::Now() - t0));
    Remove(w, {Field(out, "id")});

    Run({"mkdir", "-p", x});
    t0 = absl::Now();
    Run({"bsdtar", "-xSf", archive, "-C", x}, absl::Minutes(10));
    bsdtar_ms.push_back(Ms(absl::Now() - t0));
    Run({"rm", "-rf", x});

    Run({"mkdir", "-p", x});
    t0 = absl::Now();
    Run({"sh", "-c",
         absl::StrCat("bsdtar -xSf '", archive, "' -C '", x, "' && cd '", x,
                      "' && sha256sum ", names, " >/dev/null")},
        absl::Minutes(10));
    sha_ms.push_back(Ms(absl::Now() - t0));
    Run({"rm", "-rf", x});

    // CloneVm itself on the archive (for restore_call).
    chtools::UniqueFd fd(::open(archive.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) Die("open " + archive);
    chtools::vm::SnapshotSource src;
    src.store = w.store.get();
    src.archive_fd = fd.get();
    src.archive_name = archive;
    chtools::vm::CloneTimes times;
    t0 = absl::Now();
    auto vm = chtools::vm::CloneVm(w.env, src, CloneOpts(w, 0), &times);
    inproc_ms.push_back(Ms(absl::Now() - t0));
    inproc_rest.push_back(Ms(times.restore_call));
    if (!vm.ok())
      Die(absl::StrCat("CloneVm(archive): ", vm.status().message()));
    Remove(w, {vm->id()});
  }
  struct stat st;
  if (::stat(archive.c_str(), &st) != 0) Die("stat " + archive);
  std::printf(
      "3. Stream clone of an archive file (`ch-snapshot export -o FILE`: COW "
      "10 GiB sparse with 256 MiB data,\n   RAM 512 MiB after mem-dirty 128; "
      "archive %.1f MiB), page cache warm; %d runs, medians;\n   goal: "
      "ch-clone FILE / bsdtar -xSf <= 1.2\n\n",
      static_cast<double>(st.st_size) / kMiB, runs);
  const double base = Median(bsdtar_ms);
  std::printf("   %-46s %10s %9s\n", "", "ms", "/bsdtar");
  auto row = [&](const char* label, double m) {
    std::printf("   %-46s %10.1f %9.2f\n", label, m, m / base);
  };
  row("bsdtar -xSf FILE -C dir", base);
  row("bsdtar -xSf + sha256sum of the 4 files", Median(sha_ms));
  row("ch-clone FILE (the program, whole clone)", Median(clone_ms));
  row("CloneVm(archive fd) in process", Median(inproc_ms));
  row("  of which vm.restore (the simulator)", Median(inproc_rest));
  std::printf("   ch-clone / (bsdtar + sha256sum): %.2f\n\n",
              Median(clone_ms) / Median(sha_ms));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  chtools::InitTool(
      "clone_bench --ch-launch=PATH --ch-console=PATH --ch-snapshot=PATH "
      "--ch-clone=PATH --sim=PATH [--runs=N] [--dir=DIR]",
      argc, argv);
  g_main_pid = ::getpid();
  World w;
  w.p = Paths{.launch = absl::GetFlag(FLAGS_ch_launch),
              .console = absl::GetFlag(FLAGS_ch_console),
              .snap = absl::GetFlag(FLAGS_ch_snapshot),
              .clone = absl::GetFlag(FLAGS_ch_clone),
              .sim = absl::GetFlag(FLAGS_sim),
              .img = ""};
  const int runs = absl::GetFlag(FLAGS_runs);
  const std::string kind = absl::GetFlag(FLAGS_resident_kind);
  if (w.p.launch.empty() || w.p.console.empty() || w.p.snap.empty() ||
      w.p.clone.empty() || w.p.sim.empty() || runs < 1 ||
      absl::GetFlag(FLAGS_clones) < 1 || absl::GetFlag(FLAGS_resident) < 0 ||
      (kind != "processes" && kind != "records")) {
    return chtools::UsageError(
        "need --ch-launch, --ch-console, --ch-snapshot, --ch-clone, --sim, "
        "--runs >= 1, --clones >= 1, --resident_kind=processes|records");
  }
  if (::geteuid() != 0) return chtools::UsageError("needs root");
  for (std::string* s :
       {&w.p.launch, &w.p.console, &w.p.snap, &w.p.clone, &w.p.sim}) {
    char* abs = ::realpath(s->c_str(), nullptr);
    if (abs == nullptr) Die("realpath " + *s);
    *s = abs;
    ::free(abs);
  }
  ::setenv("PATH",
           absl::StrCat(::getenv("PATH") ? ::getenv("PATH") : "/usr/bin:/bin",
                        ":/usr/sbin:/sbin")
               .c_str(),
           1);
  std::string tmpl = absl::GetFlag(FLAGS_dir) + "/cb.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) Die("mkdtemp " + tmpl);
  w.t = tmpl;
  g_undo.push_back({"rm", "-rf", w.t});
  const std::string tag = absl::StrCat(::getpid());
  w.src_ns = "cbs" + tag;
  w.clone_ns = "cbc" + tag;
  for (const std::string& ns : {w.src_ns, w.clone_ns}) {
    Run({"ip", "netns", "add", ns});
    g_undo.push_back({"ip", "netns", "del", ns});
  }
  // Every VM this bench makes has its pid file in the run dirs: SIGKILL by
  // those pids (the simulator's SIGWINCH helper dies with its parent).
  g_undo.push_back(
      {"sh", "-c",
       absl::StrCat("for f in '", w.t,
                    "'/run/cloudhypervisor/*/ch.pid; do [ -f \"$f\" ] && kill "
                    "-9 \"$(cat \"$f\")\"; done 2>/dev/null; true")});

  ::setenv("CHTOOLS_ROOT_DIR", (w.t + "/root").c_str(), 1);
  ::setenv("CHTOOLS_RUN_DIR", (w.t + "/run").c_str(), 1);
  ::setenv("CHTOOLS_LOG_DIR", (w.t + "/log").c_str(), 1);
  ::setenv("CHTOOLS_CH_BINARY", w.p.sim.c_str(), 1);
  ::setenv("CHSIM_SPARSE_MEMORY_RANGES", "1", 1);
  ::unsetenv("CHTOOLS_CONFIG");
  w.p.img = w.t + "/img";
  Run({"mkdir", "-p", w.p.img});
  Run({"truncate", "-s", "1M", w.p.img + "/vmlinuz", w.p.img + "/initrd.img",
       w.p.img + "/layer0.erofs"});

  auto config = chtools::config::LoadToolConfig();
  if (!config.ok()) Die(std::string(config.status().message()));
  auto index = chtools::index::Index::Open(config->root_dir());
  if (!index.ok()) Die(std::string(index.status().message()));
  auto store = chtools::snapshot::Store::Open(config->root_dir());
  if (!store.ok()) Die(std::string(store.status().message()));
  w.index = *std::move(index);
  w.store = *std::move(store);
  w.env.config = *config;
  w.env.host = chtools::vm::ReadHostFacts();
  w.env.index = w.index.get();

  std::printf("clone_bench: scratch dir %s, %d runs per row\n", w.t.c_str(),
              runs);
  std::fflush(stdout);

  // Snapshots: 512 MiB and 4 GiB (32 MiB dirtied), and the stream one.
  const absl::Time s0 = absl::Now();
  MakeSource(w, "m512", "512M", true);
  Dirty(w, "m512", 32);
  const std::string snap512 = Save(w, "m512");
  MakeSource(w, "m4g", "4G", true);
  Dirty(w, "m4g", 32);
  const std::string snap4g = Save(w, "m4g");
  const std::string created = MakeSource(w, "strm", "512M", false);
  WriteScattered(Field(created, "run_dir") + "/cow.raw", 10 * kGiB, 32,
                 8 * kMiB);
  Run({w.p.launch, "start", "strm"});
  Dirty(w, "strm", 128);
  const std::string snap_strm = Save(w, "strm");
  const std::string archive = w.t + "/strm.tar";
  Run({w.p.snap, "export", snap_strm, "-o", archive}, absl::Minutes(10));
  std::printf("set-up (3 VMs, 3 snapshots, 1 export): %.1f s\n\n",
              absl::ToDoubleSeconds(absl::Now() - s0));
  std::fflush(stdout);

  // Tables 2 and 3 first, on a quiet registry; the storm adds the residents.
  Run({"ip", "-n", w.clone_ns, "tuntap", "add", "tap0", "mode", "tap"});
  SizeTable(w, snap512, snap4g, runs);
  StreamTable(w, archive, runs);
  Run({"ip", "-n", w.clone_ns, "link", "del", "tap0"});
  StormTable(w, snap512, runs);
  Undo();
  return 0;
}

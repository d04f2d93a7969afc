// snapshot_bench: what chtools' snapshot paths cost, against baselines
// measured in the same run. Needs root (loop mount, the store's modes).
//
// 1. Export: WriteSnapshotArchive (the core of `ch-snapshot export`), in
//    process, against `bsdtar -cSf` and GNU `tar -cSf` of the same synthetic
//    snapshot dir (cow.raw 10 GiB sparse holding 256 MiB in scattered
//    extents; memory-ranges 1 GiB holding 128 MiB of data), both as the store
//    keeps it (zero blocks punched) and as CH writes it (dense RAM). Page
//    cache warm; archives written to --dir.
// 2. Pause window (vm.pause sent -> vm.resume answered) of CaptureVm, in
//    process, against the bare vm.snapshot call inside it, with root and run
//    dirs on a loop-mounted XFS (reflink) and on --dir (ext4 here: sparse
//    copy), for a COW holding 256 MiB and 2 GiB.
// 3. `ch-snapshot save` (the program) of a 512 MiB VM against a 4 GiB one,
//    after `mem-dirty 128` in each (the simulator writes RAM dense).
// Prints medians over --runs and the ratios; asserts nothing.
//
// Example:
//   bazel run -c opt //integration/bench:snapshot_bench -- --runs=3
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "lib/archive/writer.h"
#include "lib/base/unique_fd.h"
#include "lib/cli/tool.h"
#include "lib/config/config.h"
#include "lib/fs/zero_holes.h"
#include "lib/index/index.h"
#include "lib/process/spawn.h"
#include "lib/record/records.pb.h"
#include "lib/snapshot/store.h"
#include "lib/vm/capture.h"
#include "lib/vm/env.h"
#include "lib/vm/host.h"

ABSL_FLAG(std::string, ch_launch, "", "Path of ch-launch.");
ABSL_FLAG(std::string, ch_console, "", "Path of ch-console.");
ABSL_FLAG(std::string, ch_snapshot, "", "Path of ch-snapshot.");
ABSL_FLAG(std::string, sim, "", "Path of the CH simulator (cloud-hypervisor).");
ABSL_FLAG(int, runs, 5, "Measurements per row.");
ABSL_FLAG(std::string, dir, "/var/tmp",
          "Disk filesystem for the scratch dir (not tmpfs: 10 GiB sparse "
          "files, a 4 GiB XFS image, 4 GiB of dense RAM). Keep it short: "
          "API socket paths must fit in 108 bytes.");
ABSL_FLAG(bool, export_only, false, "Run table 1 only.");

namespace {

using chtools::process::RunCommand;

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;

// Undo steps (unmount, remove VMs, the scratch dir), run last first on exit
// and on Die.
std::vector<std::vector<std::string>> g_undo;

void Undo() {
  while (!g_undo.empty()) {
    (void)RunCommand(g_undo.back(), absl::Minutes(2));
    g_undo.pop_back();
  }
}

[[noreturn]] void Die(const std::string& what) {
  chtools::PrintError(what);
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

// `n` pseudo-random bytes (incompressible enough for tar; zstd is not timed).
std::string RandomBytes(uint64_t seed, size_t n) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v = rng() | 1;  // no all-zero words: every block stays data
    std::memcpy(s.data() + i, &v, 8);
  }
  return s;
}

chtools::UniqueFd OpenOrDie(const std::string& path, int flags) {
  chtools::UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC, 0600));
  if (!fd.valid()) Die(absl::StrCat("open ", path, ": ", strerror(errno)));
  return fd;
}

void WriteAt(int fd, const std::string& data, uint64_t offset,
             const std::string& path) {
  if (::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset)) !=
      static_cast<ssize_t>(data.size())) {
    Die(absl::StrCat("write ", path, ": ", strerror(errno)));
  }
}

// Writes `n` extents of `extent` random bytes, spread evenly over a file of
// `size` (sparse elsewhere; the file keeps its size).
void WriteScattered(const std::string& path, uint64_t size, int n,
                    uint64_t extent, bool create) {
  chtools::UniqueFd fd =
      OpenOrDie(path, O_RDWR | (create ? O_CREAT | O_TRUNC : 0));
  if (create && ::ftruncate(fd.get(), static_cast<off_t>(size)) != 0)
    Die("truncate " + path);
  const uint64_t stride = size / n / kMiB * kMiB;
  for (int i = 0; i < n; ++i) {
    // Odd-sized gaps: extents start at different MiB offsets in the stride.
    uint64_t jitter = (static_cast<uint64_t>(i) * 7 % 5) * kMiB;
    if (jitter + extent > stride) jitter = 0;
    WriteAt(fd.get(), RandomBytes(i + 1, extent), i * stride + jitter, path);
  }
  if (::fsync(fd.get()) != 0) Die("fsync " + path);
}

chtools::fs::ZeroHoleStats PunchAndHash(const std::string& path) {
  chtools::UniqueFd fd = OpenOrDie(path, O_RDWR);
  auto st = chtools::fs::PunchZerosAndHash(fd.get(), path);
  if (!st.ok()) Die(std::string(st.status().message()));
  return *st;
}

uint64_t FileSize(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) Die("stat " + path);
  return static_cast<uint64_t>(st.st_size);
}

void SetDirs(const std::string& base, const std::string& sim) {
  ::setenv("CHTOOLS_ROOT_DIR", (base + "/root").c_str(), 1);
  ::setenv("CHTOOLS_RUN_DIR", (base + "/run").c_str(), 1);
  ::setenv("CHTOOLS_LOG_DIR", (base + "/log").c_str(), 1);
  ::setenv("CHTOOLS_CH_BINARY", sim.c_str(), 1);
  ::unsetenv("CHTOOLS_CONFIG");
}

// ---- 1. Export --------------------------------------------------------------

void ExportTable(const std::string& t, int runs) {
  const std::string store = t + "/store", dense = t + "/dense";
  Run({"mkdir", "-p", store, dense});
  // The RAM of a 1 GiB guest, as the simulator's state.json describes it
  // (lib/archive/ram_size.h reads memory_ranges).
  const std::string state =
      R"({"snapshots":{"memory-manager":{"snapshots":{},"snapshot_data":)"
      R"({"state":"{\"memory_ranges\":{\"data\":[{\"gpa\":0,\"length\":)"
      R"(1073741824}]},\"boot_ram\":1073741824,\"current_ram\":1073741824}"}}},)"
      R"("snapshot_data":{"state":"{\"clock\":{\"tsc\":0},\"simulator\":\"chsim\"}"}})";
  const std::string config =
      R"({"cpus":{"boot_vcpus":1,"max_vcpus":1},"memory":{"size":1073741824},)"
      R"("payload":{"kernel":"/var/lib/chtools/boot/vmlinux"},)"
      R"("disks":[{"path":"/var/lib/chtools/run/cow.raw"}]})";
  for (const auto& [name, text] :
       {std::pair<std::string, std::string>{"config.json", config},
        {"state.json", state}}) {
    chtools::UniqueFd fd =
        OpenOrDie(store + "/" + name, O_WRONLY | O_CREAT | O_TRUNC);
    WriteAt(fd.get(), text, 0, name);
  }
  // memory-ranges: 1 GiB written byte for byte, 128 MiB of it data (every
  // 8th MiB), into both dirs; the store's copy then gets its holes.
  const std::string zeros(kMiB, '\0');
  for (const std::string& d : {dense, store}) {
    const std::string path = d + "/memory-ranges";
    chtools::UniqueFd fd = OpenOrDie(path, O_WRONLY | O_CREAT | O_TRUNC);
    for (uint64_t b = 0; b < 1024; ++b) {
      WriteAt(fd.get(), b % 8 == 3 ? RandomBytes(1000 + b, kMiB) : zeros,
              b * kMiB, path);
    }
    if (::fsync(fd.get()) != 0) Die("fsync " + path);
  }
  // cow.raw: 10 GiB sparse, 256 extents of 1 MiB.
  WriteScattered(store + "/cow.raw", 10 * kGiB, 256, kMiB, true);

  chtools::Snapshot rec;
  rec.set_id("5b0e5b0e5b0e5b0e");
  rec.set_source_vm_id("0123456789abcdef");
  rec.set_source_vm_name("bench");
  rec.set_cpu(1);
  rec.set_memory_bytes(static_cast<int64_t>(kGiB));
  rec.set_storage_bytes(static_cast<int64_t>(10 * kGiB));
  rec.set_created_at("2026-01-02T03:04:05Z");
  rec.set_data_dir(store);
  rec.set_direct_boot(true);
  rec.mutable_boot()->set_kernel_path("/var/lib/chtools/boot/vmlinux");
  uint64_t data_bytes = 0;
  for (const char* name :
       {"config.json", "state.json", "memory-ranges", "cow.raw"}) {
    const std::string path = store + "/" + name;
    chtools::fs::ZeroHoleStats st = PunchAndHash(path);
    data_bytes += st.data_bytes_after;
    chtools::SnapshotFile* f = rec.add_files();
    f->set_name(name);
    f->set_size_bytes(static_cast<int64_t>(st.size));
    f->set_sha256(st.sha256);
    if (std::string(name) != "memory-ranges") {
      if (::link(path.c_str(), (dense + "/" + name).c_str()) != 0)
        Die("link " + path);
    }
  }

  const std::string out = t + "/out.tar";
  struct Row {
    std::string label;
    std::function<void()> run;
    std::vector<double> ms;
    uint64_t bytes = 0;
  };
  auto writer = [&](const std::string& dir, bool verify) {
    return [&, dir, verify] {
      chtools::UniqueFd o = OpenOrDie(out, O_WRONLY | O_CREAT | O_TRUNC);
      chtools::UniqueFd d = OpenOrDie(dir, O_RDONLY | O_DIRECTORY);
      chtools::archive::WriteOptions opts;
      opts.verify_sha256 = verify;
      absl::Status s =
          chtools::archive::WriteSnapshotArchive(o.get(), rec, d.get(), opts);
      if (!s.ok())
        Die(absl::StrCat("WriteSnapshotArchive ", dir, ": ", s.message()));
    };
  };
  auto tar = [&](const std::string& prog, const std::string& dir) {
    return [&, prog, dir] {
      Run({prog, "-cSf", out, "-C", dir, "config.json", "state.json",
           "memory-ranges", "cow.raw"},
          absl::Minutes(10));
    };
  };
  std::vector<std::pair<std::string, std::vector<Row>>> groups;
  for (const auto& [variant, dir] :
       {std::pair<std::string, std::string>{"store dir (RAM zeros punched)",
                                            store},
        {"dense-RAM dir (as CH writes it)", dense}}) {
    std::vector<Row> rows;
    rows.push_back({"bsdtar -cSf", tar("bsdtar", dir), {}, 0});
    rows.push_back({"GNU tar -cSf", tar("tar", dir), {}, 0});
    rows.push_back(
        {"WriteSnapshotArchive (export core)", writer(dir, true), {}, 0});
    rows.push_back({"  same, verify_sha256=false", writer(dir, false), {}, 0});
    groups.emplace_back(variant, std::move(rows));
  }
  // Interleaved, so that load from elsewhere hits every row alike.
  for (int i = 0; i < runs; ++i) {
    for (auto& [variant, rows] : groups) {
      for (Row& r : rows) {
        absl::Time t0 = absl::Now();
        r.run();
        r.ms.push_back(Ms(absl::Now() - t0));
        r.bytes = FileSize(out);
        ::unlink(out.c_str());
      }
    }
  }

  std::printf(
      "1. Export: cow.raw 10 GiB sparse (256 x 1 MiB data), memory-ranges "
      "1 GiB (128 MiB data), page cache warm; %d runs, medians\n"
      "   data bytes in the store dir: %llu (%.1f MiB); goals: writer/bsdtar "
      "<= 1.0, archive/data <= 1.05\n\n",
      runs, static_cast<unsigned long long>(data_bytes),
      static_cast<double>(data_bytes) / kMiB);
  std::printf("   %-36s %10s %9s %12s %11s\n", "", "ms", "/bsdtar",
              "archive MiB", "/data");
  for (const auto& [variant, rows] : groups) {
    std::printf("   %s\n", variant.c_str());
    const double base = Median(rows[0].ms);
    for (const Row& r : rows) {
      const double m = Median(r.ms);
      std::printf("   %-36s %10.1f %9.2f %12.1f %11.3f\n", r.label.c_str(), m,
                  m / base, static_cast<double>(r.bytes) / kMiB,
                  static_cast<double>(r.bytes) / data_bytes);
    }
  }
  std::printf("\n");
  std::fflush(stdout);
}

// ---- 2. Pause window
// ---------------------------------------------------------

struct Paths {
  std::string launch, console, snap, sim, img;
};

std::vector<std::string> CreateArgs(const Paths& p, const std::string& name,
                                    const std::string& memory) {
  return {p.launch,   "create",
          "--name",   name,
          "--cpu",    "1",
          "--memory", memory,
          "--kernel", p.img + "/vmlinuz",
          "--initrd", p.img + "/initrd.img",
          "--layer",  p.img + "/layer0.erofs"};
}

struct WindowRow {
  std::string fs, data, method;
  std::vector<double> window, snap, copy, rest;
};

WindowRow MeasureWindow(const Paths& p, const std::string& base,
                        const std::string& fs, uint64_t cow_data, int runs) {
  SetDirs(base, p.sim);
  auto config = chtools::config::LoadToolConfig();
  if (!config.ok()) Die(std::string(config.status().message()));
  auto index = chtools::index::Index::Open(config->root_dir());
  if (!index.ok()) Die(std::string(index.status().message()));
  auto store = chtools::snapshot::Store::Open(config->root_dir());
  if (!store.ok()) Die(std::string(store.status().message()));
  chtools::vm::Env env;
  env.config = *config;
  env.host = chtools::vm::ReadHostFacts();
  env.index = index->get();

  const std::string created = Run(CreateArgs(p, "cap", "512M"));
  g_undo.push_back({p.launch, "rm", "--force", "cap"});
  // The guest's disk writes, made while the VM is stopped: 8 MiB extents
  // spread over the 10 GiB COW.
  WriteScattered(Field(created, "run_dir") + "/cow.raw", 10 * kGiB,
                 static_cast<int>(cow_data / (8 * kMiB)), 8 * kMiB, false);
  Run({p.launch, "start", "cap"});
  auto id = env.index->Resolve("cap");
  if (!id.ok()) Die(std::string(id.status().message()));

  WindowRow row;
  row.fs = fs;
  row.data = absl::StrCat(cow_data / kMiB, " MiB");
  for (int i = 0; i < runs; ++i) {
    chtools::vm::CaptureTimes times;
    auto s = chtools::vm::CaptureVm(
        env, **store, *id, {}, /*record_on_vm=*/false,
        [&](chtools::vm::Captured& c) -> absl::StatusOr<chtools::Snapshot> {
          times = c.times;
          return c.record;  // never published: the temp dir goes away
        });
    if (!s.ok())
      Die(absl::StrCat("CaptureVm (", fs, "): ", s.status().message()));
    row.window.push_back(Ms(times.pause_window));
    row.snap.push_back(Ms(times.snapshot_call));
    row.copy.push_back(Ms(times.disk_copy));
    row.rest.push_back(Ms(times.pause_window - times.snapshot_call));
    row.method = times.disk_copy_method;
  }
  Run({p.launch, "rm", "--force", "cap"});
  g_undo.pop_back();
  return row;
}

void WindowTable(const Paths& p, const std::string& t, int runs) {
  std::vector<WindowRow> rows;
  const std::string img = t + "/xfs.img", xfs = t + "/x";
  Run({"truncate", "-s", "4G", img});
  Run({"mkfs.xfs", "-q", "-m", "reflink=1", img});
  Run({"mkdir", "-p", xfs});
  Run({"mount", "-o", "loop", img, xfs});
  g_undo.push_back({"umount", xfs});
  for (uint64_t data : {256 * kMiB, 2 * kGiB})
    rows.push_back(MeasureWindow(p, xfs, "xfs (loop)", data, runs));
  Run({"umount", xfs});
  g_undo.pop_back();
  for (uint64_t data : {256 * kMiB, 2 * kGiB})
    rows.push_back(MeasureWindow(p, t + "/e", "ext4 (--dir)", data, runs));

  std::printf(
      "2. Pause window of CaptureVm (vm.pause sent -> vm.resume answered) vs "
      "the vm.snapshot call in it;\n   512 MiB VM, COW 10 GiB; %d runs, "
      "medians in ms; goal: window - vm.snapshot <= 10 on XFS at any COW "
      "size\n\n",
      runs);
  std::printf("   %-13s %9s %10s %12s %10s %-12s %14s\n", "store+run on",
              "COW data", "window", "vm.snapshot", "disk copy", "method",
              "window-snap");
  for (const WindowRow& r : rows) {
    std::printf("   %-13s %9s %10.1f %12.1f %10.1f %-12s %14.1f\n",
                r.fs.c_str(), r.data.c_str(), Median(r.window), Median(r.snap),
                Median(r.copy), r.method.c_str(), Median(r.rest));
  }
  std::printf("\n");
  std::fflush(stdout);
}

// ---- 3. ch-snapshot save ---------------------------------------------------

void SaveTable(const Paths& p, const std::string& t, int runs) {
  SetDirs(t + "/s", p.sim);
  std::vector<std::pair<std::string, double>> rows;
  for (const std::string mem : {"512M", "4G"}) {
    Run(CreateArgs(p, "save", mem));
    g_undo.push_back({p.launch, "rm", "--force", "save"});
    Run({p.launch, "start", "save"});
    const std::string dirtied =
        Run({"sh", "-c",
             absl::StrCat("echo 'mem-dirty 128' | '", p.console,
                          "' --idle=5s save")});
    if (!absl::StrContains(dirtied, "dirtied 128 MiB"))
      Die("mem-dirty 128: " + dirtied);
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) {
      absl::Time t0 = absl::Now();
      const std::string out = Run({p.snap, "save", "save"}, absl::Minutes(10));
      ms.push_back(Ms(absl::Now() - t0));
      Run({p.snap, "rm", Field(out, "id")});
    }
    Run({p.launch, "rm", "--force", "save"});
    g_undo.pop_back();
    rows.emplace_back(mem, Median(ms));
  }
  std::printf(
      "3. ch-snapshot save (the program), direct-boot VM after mem-dirty "
      "128, store on --dir; %d runs, medians\n\n",
      runs);
  std::printf("   %-8s %12s %9s\n", "memory", "ms", "ratio");
  for (const auto& [mem, m] : rows) {
    std::printf("   %-8s %12.1f %9.2f\n", mem.c_str(), m, m / rows[0].second);
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  chtools::InitTool(
      "snapshot_bench --ch-launch=PATH --ch-console=PATH --ch-snapshot=PATH "
      "--sim=PATH [--runs=N] [--dir=DIR]",
      argc, argv);
  Paths p{.launch = absl::GetFlag(FLAGS_ch_launch),
          .console = absl::GetFlag(FLAGS_ch_console),
          .snap = absl::GetFlag(FLAGS_ch_snapshot),
          .sim = absl::GetFlag(FLAGS_sim),
          .img = ""};
  const int runs = absl::GetFlag(FLAGS_runs);
  if (p.launch.empty() || p.console.empty() || p.snap.empty() ||
      p.sim.empty() || runs < 1) {
    return chtools::UsageError(
        "need --ch-launch, --ch-console, --ch-snapshot, --sim and --runs >= 1");
  }
  if (::geteuid() != 0) return chtools::UsageError("needs root");
  for (std::string* s : {&p.launch, &p.console, &p.snap, &p.sim}) {
    char* abs = ::realpath(s->c_str(), nullptr);
    if (abs == nullptr) Die("realpath " + *s);
    *s = abs;
    ::free(abs);
  }
  std::string tmpl = absl::GetFlag(FLAGS_dir) + "/sb.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) Die("mkdtemp " + tmpl);
  const std::string t = tmpl;
  g_undo.push_back({"rm", "-rf", t});
  p.img = t + "/img";
  Run({"mkdir", "-p", p.img});
  Run({"truncate", "-s", "1M", p.img + "/vmlinuz", p.img + "/initrd.img",
       p.img + "/layer0.erofs"});
  std::printf("snapshot_bench: scratch dir %s, %d runs per row\n\n", t.c_str(),
              runs);

  ExportTable(t, runs);
  Run({"rm", "-rf", t + "/store", t + "/dense"});
  if (!absl::GetFlag(FLAGS_export_only)) {
    WindowTable(p, t, runs);
    SaveTable(p, t, runs);
  }
  Undo();
  return 0;
}

// index_bench: how lib/index and `vm-index ls` scale with the number of VMs.
//
// Prints one table, every ratio against a baseline measured in the same run:
//   - the cost of one Update with 10, 1,000 and 10,000 VMs in the index
//     (median of --updates updates of random VMs, the three sizes updated
//     round-robin), on --dir (a disk, with the
//     fsyncs every update makes) and on /dev/shm (tmpfs: fsync is free, so
//     only the CPU work of the index shows); ratio 10,000/10 (target <= 1.2);
//   - listing 10,000 VMs through the library and through `vm-index ls`
//     against `cat` of the same record files (target <= 5);
//   - `vm-index ls` on an empty index (target <= 2 ms), with a bare process
//     start (/bin/true) as the baseline;
//   - a put of --put_records (10,000) new records on --dir (Index::PutAll,
//     durability batched: one names/ fsync, one syncfs, one vms/ fsync)
//     against the per-record path it replaced, replayed here with the same
//     steps (claim the name + fsync names/, then WriteFileAtomically: fsync
//     the file, rename, fsync vms/), in the same run on the same disk; and
//     `vm-index put` of the same records (the whole program) against it.
//
// Usage: bazel run //integration/bench:index_bench [-- --updates=N --dir=D]
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "lib/cli/tool.h"
#include "lib/fs/atomic_file.h"
#include "lib/index/index.h"
#include "lib/process/spawn.h"
#include "lib/record/records.pb.h"
#include "lib/record/textproto.h"

ABSL_FLAG(std::string, dir, "",
          "Directory for the disk-backed indexes (default: $TMPDIR or /tmp).");
ABSL_FLAG(std::string, vm_index, "",
          "Path of the vm-index binary; empty: skip the rows that use it.");
ABSL_FLAG(int, updates, 200, "Updates measured per index size.");
ABSL_FLAG(int, repeats, 5, "Runs per listing measurement (median reported).");
ABSL_FLAG(bool, tmpfs, true, "Also measure updates on /dev/shm.");
ABSL_FLAG(int, put_records, 10000,
          "Records per put in the put rows (0: skip them).");

namespace {

using chtools::Vm;
using chtools::index::Index;

constexpr char kUsage[] =
    "index_bench: prints how lib/index and vm-index ls scale with the number "
    "of VMs.\n\nUsage: index_bench [--dir=D] [--vm-index=PATH] [--updates=N]";

[[noreturn]] void Die(const absl::Status& s) {
  std::fprintf(stderr, "index_bench: %s\n", std::string(s.message()).c_str());
  std::exit(1);
}

template <typename T>
T OrDie(absl::StatusOr<T> v) {
  if (!v.ok()) Die(v.status());
  return *std::move(v);
}

std::string Id(uint64_t n) {
  return absl::StrFormat("%016x", n * 0x9e3779b1ULL);
}

// A record of the size real ones have: three disks, a NIC, boot config.
Vm RealisticVm(uint64_t n) {
  Vm vm;
  vm.set_id(Id(n));
  vm.set_state(Vm::STOPPED);
  auto* c = vm.mutable_config();
  c->set_name(absl::StrCat("vm-", n));
  c->set_cpu(2);
  c->set_memory_bytes(int64_t{1} << 30);
  c->set_storage_bytes(int64_t{10} << 30);
  c->set_image("ghcr.io/example/ubuntu:24.04");
  c->set_network("default");
  std::string run = "/var/lib/chtools/run/cloudhypervisor/" + vm.id();
  for (int i = 0; i < 2; ++i) {
    auto* s = vm.add_storage();
    s->set_path(absl::StrCat("/var/lib/chtools/oci/blobs/",
                             std::string(64, "ab"[i]), ".erofs"));
    s->set_ro(true);
    s->set_serial(absl::StrCat("cocoon-layer", i));
  }
  auto* cow = vm.add_storage();
  cow->set_path(run + "/cow.raw");
  cow->set_serial("cocoon-cow");
  auto* nic = vm.add_network();
  nic->set_tap("tap0");
  nic->set_mac("02:42:0a:58:00:05");
  nic->set_num_queues(4);
  nic->set_queue_size(256);
  nic->set_netns_path("/var/run/netns/chtools-" + vm.id());
  nic->mutable_ipv4()->set_ip("10.88.0.5");
  nic->mutable_ipv4()->set_gateway("10.88.0.1");
  nic->mutable_ipv4()->set_prefix(16);
  auto* boot = vm.mutable_boot();
  boot->set_kernel_path("/var/lib/chtools/oci/boot/cc/vmlinuz");
  boot->set_initrd_path("/var/lib/chtools/oci/boot/dd/initrd.img");
  boot->set_cmdline("console=hvc0 loglevel=3 boot=cocoon cocoon.layers=a,b");
  vm.add_image_blob_ids(std::string(64, 'a'));
  vm.add_image_blob_ids(std::string(64, 'b'));
  vm.set_run_dir(run);
  vm.set_log_dir("/var/log/chtools/cloudhypervisor/" + vm.id());
  vm.set_created_at("2026-11-27T19:13:04.123456789Z");
  vm.set_updated_at("2026-11-27T19:13:04.123456789Z");
  return vm;
}

// Grows the index to `to` VMs (ids from..to-1), 8 writers in parallel so the
// fsyncs of a 10,000-VM set-up overlap.
void Populate(Index& index, uint64_t from, uint64_t to) {
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t n = from + t; n < to; n += kThreads) {
        absl::Status s = index.Reserve(RealisticVm(n));
        if (!s.ok()) Die(s);
      }
    });
  }
  for (std::thread& t : threads) t.join();
}

absl::Duration Median(std::vector<absl::Duration> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// One Update of a random VM among the first `count`; returns its wall time.
absl::Duration TimedUpdate(Index& index, uint64_t count, std::mt19937_64& rng) {
  std::string id = Id(rng() % count);
  absl::Time start = absl::Now();
  absl::StatusOr<Vm> vm = index.Update(id, [&](Vm& v) {
    v.set_first_booted(!v.first_booted());
    v.set_state(v.state() == Vm::RUNNING ? Vm::STOPPED : Vm::RUNNING);
    return absl::OkStatus();
  });
  absl::Duration d = absl::Now() - start;
  if (!vm.ok()) Die(vm.status());
  return d;
}

std::string MakeRoot(const std::string& parent, const std::string& tag) {
  std::string root = absl::StrCat(parent, "/index_bench.", tag, ".XXXXXX");
  if (::mkdtemp(root.data()) == nullptr) {
    Die(absl::InternalError(absl::StrCat("mkdtemp ", root, " failed")));
  }
  return root;
}

void RemoveTree(const std::string& root) {
  chtools::process::RunCommand({"rm", "-rf", "--", root}).IgnoreError();
}

// Wall time of running argv to completion with stdout to /dev/null.
absl::Duration TimeCommand(const std::vector<std::string>& argv) {
  chtools::process::SpawnOptions opt;
  opt.argv = argv;
  opt.stderr_fd = 2;
  absl::Time start = absl::Now();
  chtools::process::Child child = OrDie(chtools::process::Spawn(opt));
  chtools::process::ExitInfo exit = OrDie(child.Wait());
  absl::Duration d = absl::Now() - start;
  if (!exit.exited() || exit.code() != 0) {
    Die(absl::InternalError(
        absl::StrCat(argv[0], " failed: ", exit.ToString())));
  }
  return d;
}

absl::Duration MedianOf(int repeats, const std::function<absl::Duration()>& f) {
  std::vector<absl::Duration> v;
  f();  // warm the page cache and the dynamic loader
  for (int i = 0; i < repeats; ++i) v.push_back(f());
  return Median(v);
}

std::string Ms(absl::Duration d) {
  return absl::StrFormat("%.3f ms", absl::ToDoubleMilliseconds(d));
}

void Row(const std::string& what, const std::string& value,
         const std::string& baseline, const std::string& ratio,
         const std::string& target) {
  std::printf("%-44s %14s %14s %8s %8s\n", what.c_str(), value.c_str(),
              baseline.c_str(), ratio.c_str(), target.c_str());
}

std::string Ratio(absl::Duration a, absl::Duration b) {
  return absl::StrFormat("%.2f", absl::FDivDuration(a, b));
}

// Three indexes of 10, 1,000 and 10,000 VMs, updated round-robin so that
// load changes on the machine hit all three alike.
void UpdateRows(const std::string& parent, const std::string& label,
                int updates) {
  constexpr uint64_t kSizes[] = {10, 1000, 10000};
  std::vector<std::string> roots;
  std::vector<std::unique_ptr<Index>> indexes;
  for (uint64_t n : kSizes) {
    roots.push_back(MakeRoot(parent, absl::StrCat(label, n)));
    indexes.push_back(OrDie(Index::Open(roots.back())));
    Populate(*indexes.back(), 0, n);
  }
  std::mt19937_64 rng(42);
  std::vector<std::vector<absl::Duration>> samples(3);
  for (int i = 0; i < updates; ++i) {
    for (int k = 0; k < 3; ++k) {
      samples[k].push_back(TimedUpdate(*indexes[k], kSizes[k], rng));
    }
  }
  absl::Duration base = Median(samples[0]);
  for (int k = 0; k < 3; ++k) {
    absl::Duration cost = Median(samples[k]);
    Row(absl::StrFormat("update one VM, %d VMs (%s)", kSizes[k], label),
        Ms(cost), Ms(base), Ratio(cost, base), k == 2 ? "<= 1.2" : "");
  }
  for (const std::string& root : roots) RemoveTree(root);
}

// The put path before batching, step by step as lib/index did it for each
// record of a batch of new VMs: the name link and an fsync of names/, then
// the record through WriteFileAtomically (fsync of the file, rename, fsync
// of vms/).
absl::Duration PerRecordPut(Index& index, const std::vector<Vm>& vms) {
  absl::Time start = absl::Now();
  std::string db = index.db_dir();
  for (const Vm& vm : vms) {
    std::string link = absl::StrCat(db, "/names/", vm.config().name());
    if (::symlink(vm.id().c_str(), link.c_str()) != 0) {
      Die(absl::InternalError("symlink " + link + " failed"));
    }
    absl::Status s = chtools::fs::FsyncDir(db + "/names");
    if (s.ok()) {
      s = chtools::fs::WriteFileAtomically(
          absl::StrCat(db, "/vms/", vm.id(), ".pb"), vm.SerializeAsString());
    }
    if (!s.ok()) Die(s);
  }
  return absl::Now() - start;
}

// A put of `count` new records: batched (Index::PutAll) against the
// per-record path, each into a fresh index on `parent`; the page cache is
// flushed before each so neither pays for the other's writeback.
void PutRows(const std::string& parent, int count,
             const std::string& vm_index) {
  std::vector<Vm> vms;
  for (int n = 0; n < count; ++n) vms.push_back(RealisticVm(n));
  std::string old_root = MakeRoot(parent, "put-old");
  std::string new_root = MakeRoot(parent, "put-new");
  std::unique_ptr<Index> old_index = OrDie(Index::Open(old_root));
  std::unique_ptr<Index> new_index = OrDie(Index::Open(new_root));
  ::sync();
  absl::Duration old_time = PerRecordPut(*old_index, vms);
  ::sync();
  absl::Time start = absl::Now();
  absl::Status s = new_index->PutAll(vms);
  absl::Duration new_time = absl::Now() - start;
  if (!s.ok()) Die(s);
  if (OrDie(new_index->List()).size() != vms.size() ||
      OrDie(old_index->List()).size() != vms.size()) {
    Die(absl::InternalError("put lost records"));
  }
  auto ms = [](absl::Duration d) {
    return absl::StrFormat("%.0f ms", absl::ToDoubleMilliseconds(d));
  };
  Row(absl::StrFormat("put of %d new VMs, per-record fsyncs", count),
      ms(old_time), ms(old_time), "1.00", "");
  Row(absl::StrFormat("put of %d new VMs, batched (PutAll)", count),
      ms(new_time), ms(old_time), Ratio(new_time, old_time), "");
  if (!vm_index.empty()) {
    // The whole program: `vm-index put` of the same records as a text
    // stream, into a fresh index.
    chtools::Records records;
    for (const Vm& vm : vms) *records.add_vm() = vm;
    std::string stream = absl::StrCat(new_root, ".stream.txtpb");
    absl::Status w = chtools::fs::WriteFileAtomically(
        stream, chtools::record::FormatRecords(records));
    if (!w.ok()) Die(w);
    std::string root = MakeRoot(parent, "put-cli");
    int in = ::open(stream.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) Die(absl::InternalError("open " + stream));
    ::sync();
    chtools::process::SpawnOptions opt;
    // The records name the default run and log dirs (put checks them).
    opt.argv = {vm_index, "--root-dir=" + root,
                "--run-dir=/var/lib/chtools/run", "--log-dir=/var/log/chtools",
                "put"};
    opt.stdin_fd = in;
    opt.stderr_fd = 2;
    absl::Time t0 = absl::Now();
    chtools::process::Child child = OrDie(chtools::process::Spawn(opt));
    chtools::process::ExitInfo exit = OrDie(child.Wait());
    absl::Duration cli_time = absl::Now() - t0;
    ::close(in);
    if (!exit.exited() || exit.code() != 0) {
      Die(absl::InternalError("vm-index put failed: " + exit.ToString()));
    }
    Row(absl::StrFormat("vm-index put of %d new VMs (process)", count),
        ms(cli_time), ms(old_time), Ratio(cli_time, old_time), "");
    ::unlink(stream.c_str());
    RemoveTree(root);
  }
  RemoveTree(old_root);
  RemoveTree(new_root);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args = chtools::InitTool(kUsage, argc, argv);
  if (!args.empty())
    return chtools::UsageError("unexpected argument: " + args[0]);
  std::string parent = absl::GetFlag(FLAGS_dir);
  if (parent.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    parent = tmp && *tmp ? tmp : "/tmp";
  }
  std::string vm_index = absl::GetFlag(FLAGS_vm_index);
  if (!vm_index.empty() && vm_index[0] != '/') {
    char cwd[4096];
    if (::getcwd(cwd, sizeof(cwd)) != nullptr)
      vm_index = absl::StrCat(cwd, "/", vm_index);
  }
  int updates = absl::GetFlag(FLAGS_updates);
  int repeats = absl::GetFlag(FLAGS_repeats);

  Row("measurement", "value", "baseline", "ratio", "target");
  if (int count = absl::GetFlag(FLAGS_put_records); count > 0) {
    PutRows(parent, count, vm_index);
  }
  // 1. Update cost against the number of VMs.
  UpdateRows(parent, "disk", updates);
  struct stat st;
  if (absl::GetFlag(FLAGS_tmpfs) && ::stat("/dev/shm", &st) == 0) {
    // Cheap without fsyncs: ten times the samples.
    UpdateRows("/dev/shm", "tmpfs", updates * 10);
  }

  // 2. Listing 10,000 VMs against cat of the same files.
  std::string root = MakeRoot(parent, "list");
  std::unique_ptr<Index> index = OrDie(Index::Open(root));
  Populate(*index, 0, 10000);
  std::vector<std::string> cat = {"cat"};
  for (uint64_t n = 0; n < 10000; ++n) {
    cat.push_back(absl::StrCat(index->db_dir(), "/vms/", Id(n), ".pb"));
  }
  absl::Duration cat_time = MedianOf(repeats, [&] { return TimeCommand(cat); });
  Row("cat of the 10,000 record files", Ms(cat_time), Ms(cat_time), "1.00", "");
  absl::Duration lib_list = MedianOf(repeats, [&] {
    absl::Time start = absl::Now();
    std::vector<Vm> vms = OrDie(index->List());
    if (vms.size() != 10000) Die(absl::InternalError("list lost VMs"));
    return absl::Now() - start;
  });
  Row("Index::List of 10,000 VMs (in process)", Ms(lib_list), Ms(cat_time),
      Ratio(lib_list, cat_time), "<= 5");
  absl::Duration lib_text = MedianOf(repeats, [&] {
    absl::Time start = absl::Now();
    chtools::Records records;
    for (Vm& vm : OrDie(index->List())) *records.add_vm() = std::move(vm);
    std::string text = chtools::record::FormatRecords(records);
    if (text.empty()) Die(absl::InternalError("empty output"));
    return absl::Now() - start;
  });
  Row("Index::List + text format (in process)", Ms(lib_text), Ms(cat_time),
      Ratio(lib_text, cat_time), "<= 5");
  if (!vm_index.empty()) {
    std::vector<std::string> ls = {vm_index, "--root-dir=" + root, "ls",
                                   "--format=textproto"};
    absl::Duration ls_time = MedianOf(repeats, [&] { return TimeCommand(ls); });
    Row("vm-index ls, 10,000 VMs (process)", Ms(ls_time), Ms(cat_time),
        Ratio(ls_time, cat_time), "<= 5");
  }
  RemoveTree(root);

  // 3. An empty index.
  std::string empty = MakeRoot(parent, "empty");
  index = OrDie(Index::Open(empty));
  absl::Duration true_time =
      MedianOf(repeats * 4, [&] { return TimeCommand({"/bin/true"}); });
  absl::Duration empty_lib = MedianOf(repeats * 4, [&] {
    absl::Time start = absl::Now();
    OrDie(index->List());
    return absl::Now() - start;
  });
  Row("Index::List, empty index (in process)", Ms(empty_lib), "", "", "");
  if (!vm_index.empty()) {
    std::vector<std::string> ls = {vm_index, "--root-dir=" + empty, "ls",
                                   "--format=textproto"};
    absl::Duration ls_time =
        MedianOf(repeats * 4, [&] { return TimeCommand(ls); });
    Row("vm-index ls, empty index (process)", Ms(ls_time), Ms(true_time),
        Ratio(ls_time, true_time), "<= 2 ms");
  } else {
    Row("/bin/true (process start)", Ms(true_time), "", "", "");
  }
  RemoveTree(empty);
  return 0;
}

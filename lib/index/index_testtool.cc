// index_testtool: drives lib/index from a separate process for the
// concurrency and crash tests (testonly).
//
//   index_testtool reserve ROOT ID NAME
//       Waits for EOF on stdin (the start barrier), then reserves the VM.
//       Prints "won" (exit 0) or "lost: <message>" (exit 3).
//   index_testtool updates ROOT ID NAME COUNT
//       Reserves the VM, waits for EOF on stdin, then makes COUNT updates,
//       the i-th appending snapshot id TestId(i). Exit 0 when all returned.
//   index_testtool writer ROOT WRITER SEED
//       Waits for EOF on stdin, then runs random operations on its own VMs (ids
//       starting with the hex digit 10+WRITER) until killed. Before each
//       operation it prints "B <op> <args>" and after it returned "D", each
//       with one write(2), so whoever kills it knows which operations
//       completed. Ops:
//         B reserve ID NAME | B update ID COUNTER | B rename ID NAME |
//         B delete ID | B put ID NAME COUNTER ID NAME COUNTER
//       (COUNTER is kept in config.image as "c<COUNTER>".) It prints "R"
//       once it has opened the index and is about to start. Exit 1 with
//       "F <message>" if an operation fails.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lib/index/index.h"
#include "lib/index/test_vms.h"

namespace chtools::index {
namespace {

void Say(const std::string& line) {
  std::string l = line + "\n";
  // One write per line: a line is either fully in the pipe or not at all.
  if (::write(1, l.data(), l.size()) != static_cast<ssize_t>(l.size())) {
    std::_Exit(4);
  }
}

[[noreturn]] void Fail(const absl::Status& s) {
  Say(absl::StrCat("F ", s.ToString()));
  std::exit(1);
}

void WaitForBarrier() {
  char buf[64];
  while (::read(0, buf, sizeof(buf)) > 0) {
  }
}

std::unique_ptr<Index> OpenOrDie(const char* root) {
  absl::StatusOr<std::unique_ptr<Index>> index = Index::Open(root);
  if (!index.ok()) Fail(index.status());
  return *std::move(index);
}

int Reserve(const char* root, const char* id, const char* name) {
  std::unique_ptr<Index> index = OpenOrDie(root);
  WaitForBarrier();
  absl::Status s = index->Reserve(TestVm(id, name, Vm::CREATING));
  if (s.ok()) {
    Say("won");
    return 0;
  }
  Say(absl::StrCat("lost: ", s.ToString()));
  return absl::IsAlreadyExists(s) ? 3 : 1;
}

int Updates(const char* root, const char* id, const char* name, int count) {
  std::unique_ptr<Index> index = OpenOrDie(root);
  absl::Status s = index->Reserve(TestVm(id, name, Vm::CREATING));
  if (!s.ok()) Fail(s);
  WaitForBarrier();
  for (int i = 0; i < count; ++i) {
    absl::StatusOr<Vm> vm = index->Update(id, [&](Vm& v) {
      v.add_snapshot_ids(TestId(i));
      return absl::OkStatus();
    });
    if (!vm.ok()) Fail(vm.status());
  }
  return 0;
}

struct Own {
  std::string name;
  int counter = 0;
};

int Writer(const char* root, int writer, uint64_t seed) {
  std::unique_ptr<Index> index = OpenOrDie(root);
  WaitForBarrier();
  std::mt19937_64 rng(seed);
  const char prefix = "abcdef"[writer % 6];
  std::map<std::string, Own> own;
  absl::StatusOr<std::vector<Vm>> all = index->List();
  if (!all.ok()) Fail(all.status());
  for (const Vm& vm : *all) {
    if (vm.id()[0] != prefix) continue;
    int c = 0;
    if (!absl::SimpleAtoi(vm.config().image().substr(1), &c)) c = 0;
    own[vm.id()] = {vm.config().name(), c};
  }
  Say("R");  // ready: the caller's random kill delay starts now
  auto new_id = [&] {
    return absl::StrFormat("%c%015x", prefix, rng() & 0xfffffffffffffffULL);
  };
  auto new_name = [&] {
    return absl::StrFormat("w%d-%08x", writer, rng() & 0xffffffffULL);
  };
  auto pick = [&] {
    auto it = own.begin();
    std::advance(it, rng() % own.size());
    return it->first;
  };
  auto with_counter = [](const std::string& id, const std::string& name,
                         int c) {
    Vm vm = TestVm(id, name, Vm::STOPPED);
    vm.mutable_config()->set_image(absl::StrCat("c", c));
    return vm;
  };
  for (;;) {
    int dice = static_cast<int>(rng() % 100);
    if (own.size() < 4) dice = 0;
    if (own.size() > 24 && dice < 20) dice = 70;  // keep the population small
    if (dice < 20) {
      std::string id = new_id(), name = new_name();
      Say(absl::StrCat("B reserve ", id, " ", name));
      Vm vm = with_counter(id, name, 0);
      vm.set_state(Vm::CREATING);
      absl::Status s = index->Reserve(vm);
      if (!s.ok()) Fail(s);
      own[id] = {name, 0};
    } else if (dice < 55) {
      std::string id = pick();
      int c = own[id].counter + 1;
      Say(absl::StrCat("B update ", id, " ", c));
      absl::StatusOr<Vm> vm = index->Update(id, [&](Vm& v) {
        v.mutable_config()->set_image(absl::StrCat("c", c));
        return absl::OkStatus();
      });
      if (!vm.ok()) Fail(vm.status());
      own[id].counter = c;
    } else if (dice < 70) {
      std::string id = pick(), name = new_name();
      Say(absl::StrCat("B rename ", id, " ", name));
      absl::StatusOr<Vm> vm = index->Update(id, [&](Vm& v) {
        v.mutable_config()->set_name(name);
        return absl::OkStatus();
      });
      if (!vm.ok()) Fail(vm.status());
      own[id].name = name;
    } else if (dice < 85) {
      std::string id = pick();
      Say(absl::StrCat("B delete ", id));
      absl::Status s = index->Delete(id);
      if (!s.ok()) Fail(s);
      own.erase(id);
    } else if (dice < 93) {
      // A put that passes a name inside its batch: id1 takes a new name
      // and gives its old one to a new VM (two waves of writes).
      std::string id1 = pick(), id2 = new_id(), name1 = new_name();
      std::string old_name = own[id1].name;
      int c1 = own[id1].counter + 1;
      Say(absl::StrCat("B put ", id1, " ", name1, " ", c1, " ", id2, " ",
                       old_name, " 0"));
      absl::Status s = index->PutAll(
          {with_counter(id2, old_name, 0), with_counter(id1, name1, c1)});
      if (!s.ok()) Fail(s);
      own[id1] = {name1, c1};
      own[id2] = {old_name, 0};
    } else {
      std::string id1 = pick(), id2 = new_id(), name2 = new_name();
      int c1 = own[id1].counter + 1;
      Say(absl::StrCat("B put ", id1, " ", own[id1].name, " ", c1, " ", id2,
                       " ", name2, " 0"));
      absl::Status s = index->PutAll(
          {with_counter(id1, own[id1].name, c1), with_counter(id2, name2, 0)});
      if (!s.ok()) Fail(s);
      own[id1].counter = c1;
      own[id2] = {name2, 0};
    }
    Say("D");
  }
}

int Usage() {
  std::fprintf(stderr, "usage: index_testtool reserve|updates|writer ...\n");
  return 2;
}

}  // namespace
}  // namespace chtools::index

int main(int argc, char** argv) {
  using namespace chtools::index;  // NOLINT: a test tool's main
  if (argc < 2) return Usage();
  std::string mode = argv[1];
  if (mode == "reserve" && argc == 5) return Reserve(argv[2], argv[3], argv[4]);
  int n = 0;
  if (mode == "updates" && argc == 6 && absl::SimpleAtoi(argv[5], &n)) {
    return Updates(argv[2], argv[3], argv[4], n);
  }
  uint64_t seed = 0;
  if (mode == "writer" && argc == 5 && absl::SimpleAtoi(argv[3], &n) &&
      absl::SimpleAtoi(argv[4], &seed)) {
    return Writer(argv[2], n, seed);
  }
  return Usage();
}

// Concurrency and crash safety of lib/index with real processes: many
// index_testtool processes race for one name, update their own VMs in
// parallel, or are killed with SIGKILL at random moments while writing.
//
// Usage (from Bazel): index_process_test <path of index_testtool>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/unique_fd.h"
#include "lib/index/index.h"
#include "lib/index/test_vms.h"
#include "lib/process/spawn.h"
#include "lib/testing/status_matchers.h"
#include "lib/testing/temp_dir.h"

namespace chtools::index {
namespace {

using ::chtools::testing::IsOkAndHolds;
using ::chtools::testing::TempDir;
using process::Child;
using process::SpawnOptions;

std::string* tool_path = nullptr;

struct Pipe {
  UniqueFd read, write;
};

Pipe MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) std::abort();
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, n);
  return out;
}

// A spawned index_testtool with its stdout captured and its stdin held as the
// start barrier.
struct Tool {
  std::optional<Child> child;
  UniqueFd out;
  UniqueFd barrier;
};

Tool StartTool(const std::vector<std::string>& args) {
  Pipe in = MakePipe(), out = MakePipe();
  SpawnOptions opt;
  opt.argv = {*tool_path};
  opt.argv.insert(opt.argv.end(), args.begin(), args.end());
  opt.stdin_fd = in.read.get();
  opt.stdout_fd = out.write.get();
  opt.stderr_fd = out.write.get();
  absl::StatusOr<Child> child = process::Spawn(opt);
  EXPECT_OK(child.status());
  Tool t;
  if (child.ok()) t.child.emplace(*std::move(child));
  t.out = std::move(out.read);
  t.barrier = std::move(in.write);
  return t;
}

std::unique_ptr<Index> OpenIndex(const std::string& root) {
  absl::StatusOr<std::unique_ptr<Index>> index = Index::Open(root);
  EXPECT_OK(index.status());
  return index.ok() ? *std::move(index) : nullptr;
}

std::vector<std::string> Kinds(const std::vector<Finding>& findings) {
  std::vector<std::string> out;
  for (const Finding& f : findings) {
    out.push_back(absl::StrCat(f.kind(), " ", f.vm_id(), " ", f.path(),
                               f.repaired() ? " (repaired)" : ""));
  }
  return out;
}

TEST(IndexProcessTest, ExactlyOneOf32ProcessesWinsAName) {
  TempDir root;
  for (int round = 0; round < 3; ++round) {
    std::string name = absl::StrCat("contested-", round);
    std::vector<Tool> tools;
    for (int i = 0; i < 32; ++i) {
      tools.push_back(StartTool(
          {"reserve", root.path(), TestId(round * 100 + i + 1), name}));
    }
    // Every process has opened the index and blocks on its stdin: closing
    // the write ends lets them all go at once.
    for (Tool& t : tools) t.barrier.reset();
    int winners = 0;
    std::string winner_id;
    std::vector<std::string> losers;
    for (int i = 0; i < 32; ++i) {
      ASSERT_TRUE(tools[i].child.has_value());
      std::string out = ReadAll(tools[i].out.get());
      ASSERT_OK_AND_ASSIGN(process::ExitInfo exit, tools[i].child->Wait());
      if (exit.exited() && exit.code() == 0) {
        ++winners;
        winner_id = TestId(round * 100 + i + 1);
      } else {
        ASSERT_TRUE(exit.exited() && exit.code() == 3)
            << exit.ToString() << out;
        losers.push_back(out);
      }
    }
    ASSERT_EQ(winners, 1) << absl::StrJoin(losers, "");
    for (const std::string& out : losers) {
      EXPECT_THAT(
          out, ::testing::HasSubstr("vm \"" + name +
                                    "\": name already used by " + winner_id));
    }
    std::unique_ptr<Index> index = OpenIndex(root.path());
    ASSERT_NE(index, nullptr);
    EXPECT_THAT(index->Resolve(name), IsOkAndHolds(winner_id));
    ASSERT_OK_AND_ASSIGN(std::vector<Vm> vms, index->List());
    EXPECT_EQ(vms.size(), static_cast<size_t>(round + 1));
    ASSERT_OK_AND_ASSIGN(std::vector<Finding> findings,
                         index->Check(false, CheckContext()));
    EXPECT_THAT(Kinds(findings), ::testing::IsEmpty());
  }
}

TEST(IndexProcessTest, SixteenProcessesEachMake200UpdatesNoneLost) {
  TempDir root;
  constexpr int kProcs = 16, kUpdates = 200;
  std::vector<Tool> tools;
  for (int i = 0; i < kProcs; ++i) {
    tools.push_back(
        StartTool({"updates", root.path(), TestId(i + 1),
                   absl::StrCat("vm-", i), absl::StrCat(kUpdates)}));
  }
  for (Tool& t : tools) t.barrier.reset();
  for (Tool& t : tools) {
    ASSERT_TRUE(t.child.has_value());
    std::string out = ReadAll(t.out.get());
    ASSERT_OK_AND_ASSIGN(process::ExitInfo exit, t.child->Wait());
    ASSERT_TRUE(exit.exited() && exit.code() == 0) << exit.ToString() << out;
  }
  std::unique_ptr<Index> index = OpenIndex(root.path());
  ASSERT_NE(index, nullptr);
  ASSERT_OK_AND_ASSIGN(std::vector<Vm> vms, index->List());
  ASSERT_EQ(vms.size(), static_cast<size_t>(kProcs));
  for (int i = 0; i < kProcs; ++i) {
    ASSERT_OK_AND_ASSIGN(Vm vm, index->Get(TestId(i + 1)));
    ASSERT_EQ(vm.snapshot_ids_size(), kUpdates) << vm.config().name();
    for (int u = 0; u < kUpdates; ++u) {
      ASSERT_EQ(vm.snapshot_ids(u), TestId(u)) << vm.config().name();
    }
  }
  ASSERT_OK_AND_ASSIGN(std::vector<Finding> findings,
                       index->Check(false, CheckContext()));
  EXPECT_THAT(Kinds(findings), ::testing::IsEmpty());
}

// What the crash test expects of one VM: its name and counter.
struct Expect {
  std::string name;
  int counter = 0;
  bool operator==(const Expect& o) const {
    return name == o.name && counter == o.counter;
  }
};
using Model = std::map<std::string, Expect>;

std::string Show(const std::optional<Expect>& e) {
  return e.has_value() ? absl::StrCat(e->name, "/c", e->counter) : "(absent)";
}

// Applies one "B ..." line to `model`; returns the ids it touches.
std::vector<std::string> Apply(const std::string& line, Model& model) {
  std::vector<std::string> f = absl::StrSplit(line, ' ');
  int c = 0;
  if (f[1] == "reserve") {
    model[f[2]] = {f[3], 0};
    return {f[2]};
  }
  if (f[1] == "update") {
    EXPECT_TRUE(absl::SimpleAtoi(f[3], &c));
    model[f[2]].counter = c;
    return {f[2]};
  }
  if (f[1] == "rename") {
    model[f[2]].name = f[3];
    return {f[2]};
  }
  if (f[1] == "delete") {
    model.erase(f[2]);
    return {f[2]};
  }
  if (f[1] == "put") {
    int c2 = 0;
    EXPECT_TRUE(absl::SimpleAtoi(f[4], &c) && absl::SimpleAtoi(f[7], &c2));
    model[f[2]] = {f[3], c};
    model[f[5]] = {f[6], c2};
    return {f[2], f[5]};
  }
  ADD_FAILURE() << "unknown op line: " << line;
  return {};
}

TEST(IndexProcessTest, WritersKilledAtRandomMomentsLoseNothing) {
  TempDir root;
  int rounds = 200;  // x2 writers: 400 kills
  if (const char* r = std::getenv("INDEX_CRASH_ROUNDS")) {
    ASSERT_TRUE(absl::SimpleAtoi(r, &rounds));
  }
  uint64_t seed = absl::ToUnixNanos(absl::Now());
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  std::mt19937_64 rng(seed);
  constexpr int kWriters = 2;
  Model model;
  int killed_mid_op = 0, ops_done = 0, repaired_rounds = 0;
  absl::Duration startup, running, spawning, verifying, repairing;
  auto start_writers = [&] {
    std::vector<Tool> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.push_back(StartTool(
          {"writer", root.path(), absl::StrCat(w), absl::StrCat(rng())}));
    }
    return writers;
  };
  std::vector<Tool> next_writers = start_writers();
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    // The writers of this round were started during the previous round's
    // checks (process start-up is most of a round); they read the index only
    // after the barrier opens.
    absl::Time t0 = absl::Now();
    std::vector<Tool> writers = std::move(next_writers);
    for (Tool& t : writers) t.barrier.reset();
    // Wait until both have started (process start-up is most of a round),
    // then kill them somewhere in their first few operations.
    std::vector<std::string> outs(kWriters);
    for (int w = 0; w < kWriters; ++w) {
      char c;
      while (!absl::StartsWith(outs[w], "R\n") &&
             ::read(writers[w].out.get(), &c, 1) == 1) {
        outs[w].push_back(c);
      }
      ASSERT_EQ(outs[w], "R\n");
      outs[w].clear();
    }
    absl::Time t1 = absl::Now();
    absl::SleepFor(absl::Microseconds(rng() % 30000));
    for (Tool& t : writers) {
      ASSERT_TRUE(t.child.has_value());
      ASSERT_OK(t.child->Signal(SIGKILL));
    }
    Model after_done = model;
    std::vector<std::pair<std::vector<std::string>, Model>> in_flight;
    for (int w = 0; w < kWriters; ++w) {
      Tool& t = writers[w];
      ASSERT_OK_AND_ASSIGN(process::ExitInfo exit, t.child->Wait());
      std::string out = outs[w] + ReadAll(t.out.get());
      ASSERT_TRUE(!exit.exited() && exit.signal() == SIGKILL)
          << exit.ToString() << "\n"
          << out;
      std::optional<std::string> pending;
      for (absl::string_view line :
           absl::StrSplit(out, '\n', absl::SkipEmpty())) {
        ASSERT_FALSE(absl::StartsWith(line, "F ")) << out;
        if (line == "D") {
          ASSERT_TRUE(pending.has_value()) << out;
          Apply(*pending, after_done);
          ++ops_done;
          pending.reset();
        } else {
          ASSERT_TRUE(absl::StartsWith(line, "B ")) << out;
          pending = std::string(line);
        }
      }
      if (pending.has_value()) {
        Model alt;
        std::vector<std::string> ids = Apply(*pending, alt);
        in_flight.emplace_back(ids, Model());
        in_flight.back().second = alt;
        in_flight.back().first.push_back(*pending);  // kept for messages
        ++killed_mid_op;
      }
    }
    // Build the in-flight alternatives on top of the completed ops.
    std::map<std::string, std::optional<Expect>> alternative;
    std::vector<std::string> pending_lines;
    for (auto& [ids, unused] : in_flight) {
      std::string line = ids.back();
      ids.pop_back();
      pending_lines.push_back(line);
      Model m = after_done;
      Apply(line, m);
      for (const std::string& id : ids) {
        auto it = m.find(id);
        alternative[id] =
            it == m.end() ? std::nullopt : std::optional<Expect>(it->second);
      }
    }
    SCOPED_TRACE("in flight: " + absl::StrJoin(pending_lines, " | "));

    absl::Time t2 = absl::Now();
    if (round + 1 < rounds) next_writers = start_writers();
    absl::Time t3 = absl::Now();
    std::unique_ptr<Index> index = OpenIndex(root.path());
    ASSERT_NE(index, nullptr);
    ASSERT_OK_AND_ASSIGN(std::vector<Vm> vms, index->List());
    Model actual;
    for (const Vm& vm : vms) {
      int c = -1;
      ASSERT_TRUE(absl::SimpleAtoi(vm.config().image().substr(1), &c));
      actual[vm.id()] = {vm.config().name(), c};
    }
    std::set<std::string> ids;
    for (const auto& [id, e] : actual) ids.insert(id);
    for (const auto& [id, e] : after_done) ids.insert(id);
    for (const auto& [id, e] : alternative) ids.insert(id);
    for (const std::string& id : ids) {
      auto get = [&](const Model& m) -> std::optional<Expect> {
        auto it = m.find(id);
        return it == m.end() ? std::nullopt : std::optional<Expect>(it->second);
      };
      std::optional<Expect> got = get(actual), want = get(after_done);
      if (got == want) continue;
      auto alt = alternative.find(id);
      ASSERT_TRUE(alt != alternative.end() && got == alt->second)
          << "vm " << id << ": on disk " << Show(got) << ", expected "
          << Show(want)
          << (alt != alternative.end() ? " or " + Show(alt->second) : "");
    }
    // Every record's name resolves to it (names are claimed before records
    // carry them), even before any repair.
    for (const auto& [id, e] : actual) {
      ASSERT_THAT(index->Resolve(e.name), IsOkAndHolds(id));
    }
    ASSERT_OK_AND_ASSIGN(std::vector<Finding> findings,
                         index->Check(false, CheckContext()));
    for (const Finding& f : findings) {
      ASSERT_THAT(f.kind(), ::testing::AnyOf("dangling-name", "stale-temp",
                                             "orphan-lock"))
          << absl::StrJoin(Kinds(findings), "\n");
    }
    absl::Time t4 = absl::Now();
    if (!findings.empty()) {
      ++repaired_rounds;
      ASSERT_OK_AND_ASSIGN(std::vector<Finding> repaired,
                           index->Check(true, CheckContext()));
      for (const Finding& f : repaired) {
        ASSERT_TRUE(f.repaired()) << absl::StrJoin(Kinds(repaired), "\n");
      }
      ASSERT_OK_AND_ASSIGN(std::vector<Finding> after,
                           index->Check(false, CheckContext()));
      ASSERT_THAT(Kinds(after), ::testing::IsEmpty());
      ASSERT_OK_AND_ASSIGN(std::vector<Vm> again, index->List());
      ASSERT_EQ(again.size(), vms.size());  // repair removed no record
    }
    model = actual;
    startup += t1 - t0;
    running += t2 - t1;
    spawning += t3 - t2;
    verifying += t4 - t3;
    repairing += absl::Now() - t4;
  }
  std::printf(
      "%d rounds: %d operations completed, %d killed mid-operation, "
      "%d needed repair\n",
      rounds, ops_done, killed_mid_op, repaired_rounds);
  std::printf(
      "time: waiting for start-up %s, writers running %s, spawning "
      "%s, verifying %s, check --repair %s\n",
      absl::FormatDuration(startup).c_str(),
      absl::FormatDuration(running).c_str(),
      absl::FormatDuration(spawning).c_str(),
      absl::FormatDuration(verifying).c_str(),
      absl::FormatDuration(repairing).c_str());
  // The test is only meaningful if kills really land inside operations.
  EXPECT_GT(killed_mid_op, rounds / 4);
  EXPECT_GT(ops_done, rounds);
}

}  // namespace
}  // namespace chtools::index

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc != 2) {
    std::fprintf(stderr, "usage: index_process_test <index_testtool>\n");
    return 2;
  }
  static std::string path = argv[1];
  chtools::index::tool_path = &path;
  return RUN_ALL_TESTS();
}

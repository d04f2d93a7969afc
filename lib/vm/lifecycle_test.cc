// StartVm and StopVm in-process, with a fake CH API (lib/vm's Env) and a
// small stand-in process for CH: what start waits for and what stop asks CH
// for are checked call by call.
#include "lib/vm/lifecycle.h"

#include <sys/stat.h>

#include <deque>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/chapi/client.h"
#include "lib/index/index.h"
#include "lib/testing/status_matchers.h"
#include "lib/testing/temp_dir.h"
#include "lib/vm/paths.h"

namespace chtools::vm {
namespace {

using ::chtools::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Stands in for CH: holds its --disk files open, listens on --api-socket
// (never answering: the fake API below answers), exits on SIGTERM.
constexpr char kStandIn[] = R"(#!/usr/bin/python3
import signal, socket, sys, time
a = sys.argv
disks = [open(x.split(',')[0][5:]) for x in a if x.startswith('path=')]
s = socket.socket(socket.AF_UNIX)
s.bind(a[a.index('--api-socket') + 1])
s.listen(8)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
while True:
    time.sleep(1)
)";

// Shared by the fake clients the factory hands out.
struct Script {
  std::mutex mu;
  std::deque<absl::StatusOr<nlohmann::json>> info;  // the last one repeats
  std::vector<std::string> calls;
};

class FakeApi : public chapi::Client {
 public:
  FakeApi(std::string sock, std::shared_ptr<Script> s)
      : chapi::Client(std::move(sock)), s_(std::move(s)) {}
  absl::StatusOr<nlohmann::json> Info() override {
    std::lock_guard<std::mutex> l(s_->mu);
    s_->calls.push_back("info");
    absl::StatusOr<nlohmann::json> a = s_->info.front();
    if (s_->info.size() > 1) s_->info.pop_front();
    return a;
  }
  absl::Status Shutdown() override { return Record("shutdown"); }
  absl::Status PowerButton() override { return Record("power-button"); }

 private:
  absl::Status Record(const std::string& what) {
    std::lock_guard<std::mutex> l(s_->mu);
    s_->calls.push_back(what);
    return absl::OkStatus();
  }
  std::shared_ptr<Script> s_;
};

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ch_ = dir_.Join("ch-stand-in");
    std::ofstream(ch_) << kStandIn;
    ASSERT_EQ(::chmod(ch_.c_str(), 0755), 0);
    for (const char* f : {"vmlinuz", "initrd"})
      std::ofstream(dir_.Join(f)) << "x";
    env_.config.set_root_dir(dir_.Join("root"));
    env_.config.set_run_dir(dir_.Join("run"));
    env_.config.set_log_dir(dir_.Join("log"));
    env_.config.set_ch_binary(ch_);
    env_.config.set_socket_wait_seconds(10);
    env_.config.set_terminate_grace_seconds(5);
    env_.host = {.cpus = 2, .hugepages = false};
    ASSERT_OK_AND_ASSIGN(index_, index::Index::Open(env_.config.root_dir()));
    env_.index = index_.get();
    env_.api = [this](const std::string& sock, absl::Duration) {
      return std::make_unique<FakeApi>(sock, script_);
    };
    // A created direct-boot VM with its disk in place.
    Vm vm;
    vm.set_id("3f9c0a1b2c3d4e5f");
    vm.set_state(Vm::CREATING);
    vm.mutable_config()->set_name("web");
    vm.mutable_config()->set_cpu(1);
    vm.mutable_config()->set_memory_bytes(int64_t{512} << 20);
    vm.mutable_config()->set_storage_bytes(int64_t{10} << 30);
    ASSERT_OK(index_->Reserve(vm));
    paths_ = PathsFor(env_.config, vm.id());
    ASSERT_EQ(
        ::system(absl::StrCat("mkdir -p ", paths_.run_dir, " ", paths_.log_dir)
                     .c_str()),
        0);
    std::ofstream(paths_.cow_raw) << "disk";
    ASSERT_OK(
        index_
            ->Update(vm.id(),
                     [&](Vm& r) {
                       r.set_state(Vm::CREATED);
                       r.set_run_dir(paths_.run_dir);
                       r.set_log_dir(paths_.log_dir);
                       StorageConfig* d = r.add_storage();
                       d->set_path(paths_.cow_raw);
                       d->set_serial("cocoon-cow");
                       r.mutable_boot()->set_kernel_path(dir_.Join("vmlinuz"));
                       r.mutable_boot()->set_initrd_path(dir_.Join("initrd"));
                       return absl::OkStatus();
                     })
            .status());
  }

  std::vector<std::string> Calls() {
    std::lock_guard<std::mutex> l(script_->mu);
    return script_->calls;
  }

  testing::TempDir dir_{"/tmp"};  // the API socket must fit in sun_path
  std::string ch_;
  Env env_;
  std::unique_ptr<index::Index> index_;
  std::shared_ptr<Script> script_ = std::make_shared<Script>();
  VmPaths paths_;
};

absl::Status NotCreated() {
  return chapi::ChErrorStatus("vm.info", 500, R"(["VM is not created"])");
}

TEST_F(LifecycleTest, StartWaitsOutTheBootWindowThenStopShutsDown) {
  script_->info = {NotCreated(), nlohmann::json{{"state", "Created"}},
                   nlohmann::json{{"state", "Running"}}};
  ASSERT_OK_AND_ASSIGN(Vm started, StartVm(env_, "3f9c0a1b2c3d4e5f"));
  EXPECT_EQ(started.state(), Vm::RUNNING);
  EXPECT_EQ(started.api_socket(), paths_.api_socket);
  EXPECT_THAT(Calls(), ElementsAre("info", "info", "info"));
  ASSERT_OK_AND_ASSIGN(std::optional<process::ChProcess> ch,
                       FindCh(env_, started));
  ASSERT_TRUE(ch.has_value());
  EXPECT_EQ(ch->pid(), started.pid());

  // Direct boot: vm.shutdown, then SIGTERM ends the stand-in.
  ASSERT_OK_AND_ASSIGN(Vm stopped,
                       StopVm(env_, "3f9c0a1b2c3d4e5f", absl::Seconds(5)));
  EXPECT_EQ(stopped.state(), Vm::STOPPED);
  EXPECT_THAT(Calls(), ElementsAre("info", "info", "info", "shutdown"));
  EXPECT_TRUE(ch->WaitExit(absl::Seconds(5)).value_or(false));
  struct stat st;
  EXPECT_NE(::stat(paths_.pid_file.c_str(), &st), 0)
      << "runtime files go with stop";
}

TEST_F(LifecycleTest, AVmThatNeverRunsIsKilledAndMarkedError) {
  script_->info = {nlohmann::json{{"state", "Created"}}};
  env_.config.set_socket_wait_seconds(1);
  EXPECT_THAT(StartVm(env_, "3f9c0a1b2c3d4e5f"),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       HasSubstr("state Created")));
  ASSERT_OK_AND_ASSIGN(Vm vm, index_->Get("3f9c0a1b2c3d4e5f"));
  EXPECT_EQ(vm.state(), Vm::ERROR);
  ASSERT_OK_AND_ASSIGN(std::optional<process::ChProcess> ch, FindCh(env_, vm));
  EXPECT_FALSE(ch.has_value()) << "the stand-in was left running";
}

}  // namespace
}  // namespace chtools::vm

// ch-gc: removes what nothing references: run and log dirs with no record,
// CREATING placeholders and snapshot temp dirs older than the grace period,
// dangling names, stale sockets and pid files, CHs left behind by removed
// VMs, snapshot dirs with no record or whose data is gone. `ch-gc pins`
// prints the image blobs that VMs and snapshots pin.
//
// stdin:  not read.
// stdout: gc: one `finding` record per thing in the plan (kind, path, vm or
//         snapshot id, bytes, why; `repaired: true` once removed), written
//         once at the end. pins: one blob id per line, or `finding` records
//         of kind "pin" with --format.
// stderr: what was skipped (an operation holds its lock), what failed.
// Exit:   0 ok; 1 a removal failed, something could not be judged, or an
//         index or dir could not be read (then nothing is removed); 2 usage
//         error.
//
// Example:
//   ch-gc --dry-run --format=table && ch-gc
#include <unistd.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "lib/cli/format.h"
#include "lib/cli/output.h"
#include "lib/cli/tool.h"
#include "lib/config/config.h"
#include "lib/index/index.h"
#include "lib/snapshot/store.h"
#include "tools/ch-gc/ch_gc.h"
#include "tools/ch-gc/policy.h"

ABSL_FLAG(bool, dry_run, false, "gc: print the plan, remove nothing.");
ABSL_FLAG(std::string, grace, "",
          "gc: age below which CREATING placeholders and snapshot temp dirs "
          "are kept (default 24h; e.g. 90m, 1h, 0s).");
ABSL_FLAG(std::string, format, "",
          "Records out: textproto, table or json (gc default: table on a "
          "terminal, textproto otherwise; pins: one blob id per line unless "
          "given).");

namespace {

constexpr char kUsage[] = R"(ch-gc: remove what nothing references.

Usage:
  ch-gc [--dry-run] [--grace=24h] [--format=table|textproto|json]
  ch-gc pins [--format=table|textproto|json]

gc prints its plan as finding records (kind, path, vm or snapshot id, bytes,
why), then removes exactly that, each thing re-checked under the lock its
operations take (a VM's operation lock, the snapshot store's lock): what is
locked is skipped and said so on stderr, never waited for. Kinds:
orphan-ch, orphan-run-dir, orphan-log-dir, stale-creating, stale-socket,
stale-pid-file, dangling-name, snapshot-temp, snapshot-rm-leftover,
orphan-snapshot-dir, snapshot-data-gone. An index, record or dir it cannot
read: nothing is removed, exit 1.

pins prints the image blob ids pinned by VM records (CREATING ones
included) and snapshots, one per line; with --format, finding records of
kind "pin" with blob_id set and what pins it in detail.

Exit: 0 ok, 1 something failed or could not be read, 2 usage error.

Examples:
  ch-gc --dry-run --format=table     what would go, and why
  ch-gc --grace=1h                   collect, keeping the last hour's leftovers
  ch-gc pins | sort > pinned.txt

)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args =
      chtools::InitTool(absl::StrCat(kUsage, ch_gc::kPolicyHelp), argc, argv);
  const bool pins = !args.empty() && args[0] == "pins";
  if (!args.empty() && !pins) {
    return chtools::UsageError(
        absl::StrCat("unknown verb \"", args[0], "\" (gc takes none; pins)"));
  }
  if (args.size() > 1) {
    return chtools::UsageError(
        absl::StrCat("pins takes no arguments (got \"", args[1], "\")"));
  }
  const std::string grace_flag = absl::GetFlag(FLAGS_grace);
  if (pins && absl::GetFlag(FLAGS_dry_run)) {
    return chtools::UsageError("--dry-run applies to gc only, not pins");
  }
  if (pins && !grace_flag.empty()) {
    return chtools::UsageError("--grace applies to gc only, not pins");
  }
  ch_gc::Options options;
  if (!grace_flag.empty() &&
      (!absl::ParseDuration(grace_flag, &options.grace) ||
       options.grace < absl::ZeroDuration() ||
       options.grace == absl::InfiniteDuration())) {
    return chtools::UsageError(absl::StrCat(
        "--grace=", grace_flag, ": expected a duration such as 24h, 90m, 0s"));
  }
  options.dry_run = absl::GetFlag(FLAGS_dry_run);
  options.now = absl::Now();
  std::string format_flag = absl::GetFlag(FLAGS_format);
  const bool pin_lines = pins && format_flag.empty();
  if (format_flag.empty())
    format_flag = ::isatty(STDOUT_FILENO) ? "table" : "textproto";
  absl::StatusOr<chtools::cli::Format> format =
      chtools::cli::ParseFormat(format_flag);
  if (!format.ok()) return chtools::UsageError(format.status().message());

  absl::StatusOr<chtools::ToolConfig> config =
      chtools::config::LoadToolConfig();
  if (!config.ok()) return chtools::ExitCode(config.status());
  absl::StatusOr<std::unique_ptr<chtools::index::Index>> index =
      chtools::index::Index::Open(config->root_dir());
  if (!index.ok()) return chtools::ExitCode(index.status());
  absl::StatusOr<std::unique_ptr<chtools::snapshot::Store>> store =
      chtools::snapshot::Store::Open(config->root_dir());
  if (!store.ok()) return chtools::ExitCode(store.status());
  // Set up: from here on records, run dirs and /proc are read. ch-gc never
  // starts a program, so the whole process is confined.
  if (!config->no_seccomp()) {
    if (absl::Status s = ch_gc::BuildPolicy().Apply(); !s.ok()) {
      return chtools::ExitCode(s);
    }
  }

  chtools::cli::Batch batch;
  chtools::cli::Sink out(STDOUT_FILENO);
  if (pins) {
    absl::StatusOr<std::map<std::string, std::vector<std::string>>> blobs =
        ch_gc::Pins(**index, **store);
    if (!blobs.ok()) return chtools::ExitCode(blobs.status());
    for (const auto& [blob, by] : *blobs) {
      if (pin_lines) {
        batch.text.push_back(blob);
      } else {
        chtools::Finding* f = batch.out.add_finding();
        f->set_kind("pin");
        f->set_blob_id(blob);
        f->set_detail(
            absl::StrCat(blob, ": pinned by ", absl::StrJoin(by, ", ")));
      }
    }
    return chtools::cli::Finish(batch, out, *format);
  }

  absl::StatusOr<ch_gc::Plan> plan =
      ch_gc::MakePlan(*config, **index, **store, options);
  if (!plan.ok()) {
    return chtools::ExitCode(absl::Status(
        plan.status().code(),
        absl::StrCat(plan.status().message(), " (nothing removed)")));
  }
  std::vector<std::string> skipped = plan->skipped;
  batch.errors = plan->errors;
  if (!options.dry_run) {
    ch_gc::Outcome outcome =
        ch_gc::Collect(*config, **index, **store, *plan, options);
    skipped.insert(skipped.end(), outcome.skipped.begin(),
                   outcome.skipped.end());
    batch.errors.insert(batch.errors.end(), outcome.errors.begin(),
                        outcome.errors.end());
  }
  for (const std::string& s : skipped) chtools::PrintError(s);
  for (chtools::Finding& f : plan->findings) *batch.out.add_finding() = f;
  return chtools::cli::Finish(batch, out, *format);
}

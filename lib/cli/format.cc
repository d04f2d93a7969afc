#include "lib/cli/format.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/json_util.h"
#include "lib/record/printable.h"
#include "lib/record/textproto.h"

namespace chtools::cli {
namespace {

using Row = std::vector<std::string>;

// Left-aligned columns separated by two spaces; the last column unpadded.
// Cells are record text, which anyone who can put a record controls: each is
// escaped (record::Printable), so that it can neither start a new row nor
// send escape sequences to the terminal.
std::string RenderTable(const std::vector<Row>& raw_rows) {
  std::vector<Row> rows;
  std::vector<std::vector<size_t>> cell_widths;
  std::vector<size_t> widths;
  for (const Row& raw : raw_rows) {
    Row& row = rows.emplace_back();
    std::vector<size_t>& cw = cell_widths.emplace_back();
    if (widths.size() < raw.size()) widths.resize(raw.size(), 0);
    for (size_t i = 0; i < raw.size(); ++i) {
      row.push_back(chtools::record::Printable(raw[i]));
      cw.push_back(chtools::record::PrintableWidth(row.back()));
      widths[i] = std::max(widths[i], cw.back());
    }
  }
  std::string out;
  for (size_t r = 0; r < rows.size(); ++r) {
    const Row& row = rows[r];
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        line.append(widths[i] - cell_widths[r][i] + 2, ' ');
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

std::string StateName(chtools::Vm::State state) {
  return absl::AsciiStrToLower(chtools::Vm::State_Name(state));
}

}  // namespace

std::string HumanBytes(int64_t bytes) {
  static constexpr const char* kUnits[] = {"", "K", "M", "G", "T", "P"};
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024 && unit < 5) {
    v /= 1024;
    ++unit;
  }
  if (unit == 0) return absl::StrCat(bytes);
  std::string s = absl::StrFormat("%.1f", v);
  if (s.size() > 2 && s.substr(s.size() - 2) == ".0") s.resize(s.size() - 2);
  return absl::StrCat(s, kUnits[unit]);
}

absl::StatusOr<Format> ParseFormat(absl::string_view s) {
  if (s == "textproto") return Format::kTextproto;
  if (s == "table") return Format::kTable;
  if (s == "json") return Format::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("--format: unknown format \"", s,
                   "\" (expected textproto, table or json)"));
}

absl::StatusOr<std::string> FormatOutput(const chtools::Records& records,
                                         Format format) {
  switch (format) {
    case Format::kTextproto:
      return chtools::record::FormatRecords(records);
    case Format::kJson: {
      google::protobuf::util::JsonPrintOptions opts;
      opts.add_whitespace = true;
      opts.preserve_proto_field_names = true;
      std::string out;
      auto status =
          google::protobuf::util::MessageToJsonString(records, &out, opts);
      if (!status.ok()) {
        return absl::InternalError(
            absl::StrCat("json: ", std::string(status.message())));
      }
      if (out.empty() || out.back() != '\n') out += '\n';
      return out;
    }
    case Format::kTable: {
      std::string out;
      if (records.vm_size() > 0 ||
          (records.finding_size() == 0 && records.snapshot_size() == 0)) {
        std::vector<Row> rows = {
            {"ID", "NAME", "STATE", "CPU", "MEMORY", "STORAGE", "IMAGE"}};
        for (const chtools::Vm& vm : records.vm()) {
          rows.push_back({vm.id(), vm.config().name(), StateName(vm.state()),
                          absl::StrCat(vm.config().cpu()),
                          HumanBytes(vm.config().memory_bytes()),
                          HumanBytes(vm.config().storage_bytes()),
                          vm.config().image()});
        }
        out += RenderTable(rows);
      }
      if (records.snapshot_size() > 0) {
        std::vector<Row> rows = {
            {"ID", "NAME", "VM", "CREATED", "CPU", "MEMORY", "DESCRIPTION"}};
        for (const chtools::Snapshot& s : records.snapshot()) {
          rows.push_back({s.id(), s.name().empty() ? "-" : s.name(),
                          s.source_vm_name().empty() ? "-" : s.source_vm_name(),
                          s.created_at(), absl::StrCat(s.cpu()),
                          HumanBytes(s.memory_bytes()), s.description()});
        }
        out += RenderTable(rows);
      }
      if (records.finding_size() > 0) {
        std::vector<Row> rows = {{"KIND", "VM", "PATH", "REPAIRED", "DETAIL"}};
        for (const chtools::Finding& f : records.finding()) {
          rows.push_back({f.kind(), f.vm_id().empty() ? "-" : f.vm_id(),
                          f.path().empty() ? "-" : f.path(),
                          f.repaired() ? "yes" : "no", f.detail()});
        }
        out += RenderTable(rows);
      }
      return out;
    }
  }
  return absl::InternalError("unknown format");
}

}  // namespace chtools::cli

// Index::PutAll: a validated, all-or-nothing (with respect to validation and
// name conflicts) upsert of complete records, with a bounded number of open
// fds whatever the size of the batch.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/index/index.h"
#include "lib/index/store.h"
#include "lib/record/ids.h"
#include "lib/record/validate.h"

namespace chtools::index {

using ::chtools::fs::FileLock;

absl::Status Index::PutAll(const std::vector<Vm>& vms) {
  Store store(db_);
  const size_t n = vms.size();

  // 1. Validation of the whole batch, before any lock or write.
  absl::flat_hash_map<std::string, size_t> by_id, by_name;
  for (size_t i = 0; i < n; ++i) {
    std::string where = absl::StrCat("vm[", i, "]");
    RETURN_IF_ERROR(record::ValidateVm(vms[i], where));
    if (!record::IsValidId(vms[i].id()) ||
        !record::IsValidName(vms[i].config().name())) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": bad id or name"));
    }
    if (!by_id.emplace(vms[i].id(), i).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".id: ", vms[i].id(), " also in vm[",
                       by_id[vms[i].id()], "]"));
    }
    if (!by_name.emplace(vms[i].config().name(), i).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".config.name: \"", vms[i].config().name(),
                       "\" also in vm[", by_name[vms[i].config().name()], "]"));
    }
  }

  if (n == 0) return absl::OkStatus();

  // 2. The batch's ids published as put.ids under put.lock: from now on
  // every other writer leaves these VMs alone (index.h, "Puts and ownership"),
  // so the put owns them without holding one fd per VM.
  std::vector<std::string> ids;
  ids.reserve(n);
  for (const Vm& vm : vms) ids.push_back(vm.id());
  std::sort(ids.begin(), ids.end());
  absl::flat_hash_set<std::string> held(ids.begin(), ids.end());
  ASSIGN_OR_RETURN(FileLock put_lock, store.BeginPut(ids));
  // Destroyed before put_lock: put.ids goes while the put still holds it.
  absl::Cleanup end_put = [&] { store.EndPut().IgnoreError(); };

  // 3. Current records, each read under its VM's lock, taken once: that
  // waits for an operation that started before put.ids was published. One
  // lock at a time, so the fds in use stay bounded.
  std::vector<std::optional<Vm>> current(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string& id = vms[i].id();
    ASSIGN_OR_RETURN(FileLock lock, store.LockForPut(id));
    absl::StatusOr<std::optional<Vm>> cur = store.ReadRecord(id);
    // A new VM keeps no lock file (nothing is written yet).
    if (cur.ok() && !cur->has_value()) {
      store.DropLockIfNoRecord(lock, id).IgnoreError();
    }
    if (!cur.ok()) return cur.status();
    current[i] = *std::move(cur);
  }

  // 4. The plan for each name.
  // takes_from[i] = j: vms[i] takes the name that batch VM j holds now, so j
  // must be written (with its new name) first.
  std::vector<std::optional<size_t>> takes_from(n);
  std::vector<bool> needs_claim(n, false);
  std::vector<bool> name_taken_by_peer(n, false);
  absl::Status failed;
  for (size_t i = 0; i < n && failed.ok(); ++i) {
    const std::string& name = vms[i].config().name();
    const std::string& id = vms[i].id();
    if (current[i].has_value() && current[i]->config().name() == name &&
        store.NameIsValid(name, id)) {
      continue;
    }
    absl::StatusOr<std::optional<std::string>> owner = store.ReadName(name);
    if (!owner.ok()) {
      failed = owner.status();
      break;
    }
    if (!owner->has_value() || **owner == id) {
      needs_claim[i] = true;
      continue;
    }
    auto peer = by_id.find(**owner);
    if (peer != by_id.end() && current[peer->second].has_value() &&
        current[peer->second]->config().name() == name &&
        store.NameIsValid(name, **owner)) {
      takes_from[i] = peer->second;
      name_taken_by_peer[peer->second] = true;
      continue;
    }
    if (store.NameIsValid(name, **owner)) {
      failed = absl::AlreadyExistsError(
          absl::StrCat("vm \"", name, "\": name already used by ", **owner));
      break;
    }
    needs_claim[i] = true;  // a dangling link: ClaimName clears it
  }
  // Names passed around inside the batch must form chains, not cycles: a
  // cycle has no order in which every step keeps the names unique.
  for (size_t i = 0; i < n && failed.ok(); ++i) {
    size_t steps = 0;
    for (std::optional<size_t> j = takes_from[i]; j.has_value();
         j = takes_from[*j]) {
      if (++steps > n) {
        failed = absl::InvalidArgumentError(absl::StrCat(
            "vm[", i, "].config.name: \"", vms[i].config().name(),
            "\": names are swapped in a cycle within the batch; rename "
            "through a temporary name"));
        break;
      }
    }
  }
  if (!failed.ok()) return failed;

  // Removes the links to batch VM k that its record (as it is now) does not
  // carry: what a failed put must not leave behind (I3 keeps every link a
  // record carries). Only links to k are touched, and the put owns k.
  auto drop_dangling = [&](size_t k) {
    const std::string& id = vms[k].id();
    std::vector<std::string> names = {vms[k].config().name()};
    if (current[k].has_value()) names.push_back(current[k]->config().name());
    for (const std::string& name : names) {
      absl::StatusOr<std::optional<std::string>> link = store.ReadName(name);
      if (link.ok() && *link == id && !store.NameIsValid(name, id)) {
        store.ReleaseName(name, id).IgnoreError();
      }
    }
  };

  // 5. Claim every free name before writing anything, so that a lost race
  // with an outside claim still changes nothing.
  std::vector<size_t> claimed;
  for (size_t i = 0; i < n; ++i) {
    if (!needs_claim[i]) continue;
    absl::Status s = store.ClaimName(vms[i].config().name(), vms[i].id(), held,
                                     /*sync=*/false);
    if (!s.ok()) {
      for (size_t k : claimed) drop_dangling(k);
      return s;
    }
    claimed.push_back(i);
  }
  // One fsync of names/ for every claim, before any record carries one (I3).
  if (!claimed.empty()) {
    absl::Status s = store.SyncNames();
    if (!s.ok()) {
      for (size_t k : claimed) drop_dangling(k);
      return s;
    }
  }

  // 6. Writes in waves, with one durability pass per wave (WriteRecords:
  // all temp files, one syncfs, the renames, one fsync of vms/): wave 0 is
  // every VM that takes no name from a batch peer (almost always the whole
  // batch); a VM that takes a peer's name comes one wave after that peer,
  // so the peer's record no longer carries the name, durably, before the
  // link moves (I3). Only the system can fail a write now (a full disk, an
  // I/O error): then every name the batch claimed or moved and no written
  // record carries is released, so the failure leaves no dangling links
  // (the records already written stay).
  std::vector<size_t> wave(n, 0);
  size_t waves = 1;
  for (size_t i = 0; i < n; ++i) {
    size_t depth = 0;
    for (std::optional<size_t> j = takes_from[i]; j.has_value();
         j = takes_from[*j]) {
      ++depth;
    }
    wave[i] = depth;
    waves = std::max(waves, depth + 1);
  }
  std::string now = FormatRecordTime(absl::Now());
  std::vector<Vm> stamped;
  stamped.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    stamped.push_back(vms[i]);
    if (stamped[i].created_at().empty()) stamped[i].set_created_at(now);
    if (stamped[i].updated_at().empty()) stamped[i].set_updated_at(now);
  }
  bool released = false;
  for (size_t w = 0; w < waves; ++w) {
    std::vector<const Vm*> batch;
    std::vector<size_t> members;
    absl::Status written;
    for (size_t i = 0; i < n && written.ok(); ++i) {
      if (wave[i] != w) continue;
      members.push_back(i);
      batch.push_back(&stamped[i]);
      if (takes_from[i].has_value()) {
        written = store.ReplaceName(stamped[i].config().name(), vms[i].id());
      }
    }
    if (written.ok()) written = store.WriteRecords(batch);
    if (!written.ok()) {
      for (size_t k = 0; k < n; ++k) drop_dangling(k);
      return written;
    }
    for (size_t i : members) {
      if (current[i].has_value() &&
          current[i]->config().name() != vms[i].config().name() &&
          !name_taken_by_peer[i]) {
        // Committed already; a leftover link is only a dangling one.
        store
            .ReleaseName(current[i]->config().name(), vms[i].id(),
                         /*sync=*/false)
            .IgnoreError();
        released = true;
      }
    }
  }
  // The old names' links go durably too (I6); a crash before leaves only
  // dangling links, so a failure here is not the put's.
  if (released) store.SyncNames().IgnoreError();
  return absl::OkStatus();
}

}  // namespace chtools::index

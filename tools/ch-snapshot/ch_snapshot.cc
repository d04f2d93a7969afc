#include "tools/ch-snapshot/ch_snapshot.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <set>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "lib/archive/confined_reader.h"
#include "lib/archive/reader.h"
#include "lib/archive/writer.h"
#include "lib/base/errno.h"
#include "lib/base/status_macros.h"
#include "lib/base/unique_fd.h"
#include "lib/cli/tool.h"
#include "lib/fs/files.h"
#include "lib/record/ids.h"
#include "lib/vm/capture.h"
#include "lib/vm/op_lock.h"

namespace ch_snapshot {
namespace {

using chtools::Records;
using chtools::Snapshot;
using chtools::Vm;
using chtools::cli::Batch;
using chtools::snapshot::Store;

std::string SnapError(absl::string_view ref, absl::string_view op,
                      const absl::Status& s) {
  if (absl::StartsWith(s.message(), "snapshot \"") ||
      absl::StartsWith(s.message(), "vm \"")) {
    return std::string(s.message());
  }
  return absl::StrCat("snapshot \"", ref, "\": ", op, ": ", s.message());
}

// Progress on stderr: bytes, rate, ETA; only when stderr is a terminal.
std::function<void(uint64_t, uint64_t)> Progress(bool on,
                                                 const std::string& what) {
  if (!on) return nullptr;
  const absl::Time start = absl::Now();
  return [start, what, last = absl::InfinitePast()](uint64_t done,
                                                    uint64_t total) mutable {
    absl::Time now = absl::Now();
    if (now - last < absl::Milliseconds(200) && done < total) return;
    last = now;
    double secs = absl::ToDoubleSeconds(now - start);
    double rate = secs > 0 ? done / secs : 0;
    double eta = rate > 0 && total > done ? (total - done) / rate : 0;
    std::fprintf(stderr, "\r%s: %.1f / %.1f MiB, %.1f MiB/s, ETA %.0fs   %s",
                 what.c_str(), done / 1048576.0, total / 1048576.0,
                 rate / 1048576.0, eta, done >= total ? "\n" : "");
    std::fflush(stderr);
  };
}

chtools::archive::WriteOptions WriteOpts(const Options& o,
                                         const std::string& what) {
  chtools::archive::WriteOptions w;
  w.compression = o.zstd ? chtools::archive::Compression::kZstd
                         : chtools::archive::Compression::kNone;
  w.progress = Progress(o.progress, what);
  // The files were hashed when the snapshot was made (and the importer
  // hashes them again); hashing 10 GiB of holes here made export 20x slower.
  w.verify_sha256 = false;
  return w;
}

// Writes an archive to `o.output`: "-" is stdout; a file is made next to its
// final name and renamed into place, so a failure leaves no half archive.
absl::Status WriteArchiveTo(const Options& o, const Io& io,
                            const Snapshot& record, int dirfd) {
  const std::string what = absl::StrCat("snapshot ", record.id());
  if (o.output == "-") {
    if (io.stdout_is_tty) {
      return chtools::UsageStatus(
          "refusing to write an archive to a terminal (use -o FILE)");
    }
    return chtools::archive::WriteSnapshotArchive(io.stdout_fd, record, dirfd,
                                                  WriteOpts(o, what));
  }
  std::string tmp = o.output + ".tmp-XXXXXX";
  chtools::UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd.valid()) return chtools::ErrnoError(errno, "create", tmp);
  absl::Cleanup drop = [&] { ::unlink(tmp.c_str()); };
  if (::fchmod(fd.get(), 0600) != 0)
    return chtools::ErrnoError(errno, "fchmod", tmp);
  RETURN_IF_ERROR(chtools::archive::WriteSnapshotArchive(
      fd.get(), record, dirfd, WriteOpts(o, what)));
  if (::fsync(fd.get()) != 0) return chtools::ErrnoError(errno, "fsync", tmp);
  RETURN_IF_ERROR(fd.Close());
  // Never over an existing file: link() fails if the name is taken.
  if (::link(tmp.c_str(), o.output.c_str()) != 0) {
    return chtools::ErrnoError(errno, "create", o.output);
  }
  return absl::OkStatus();
}

absl::StatusOr<Batch> Save(const chtools::vm::Env& env, const Store& store,
                           const Options& o, const Io& io) {
  ASSIGN_OR_RETURN(std::vector<std::string> refs,
                   chtools::cli::RefsOrStream("save", o.args, io.in));
  if (!o.output.empty() && refs.size() != 1) {
    return chtools::UsageStatus("save -o takes exactly one VM");
  }
  if (!o.name.empty() && refs.size() > 1) {
    return chtools::UsageStatus(
        "--name names one snapshot: save one VM at a time with it");
  }
  if (!o.name.empty()) {
    if (absl::Status s = chtools::record::IsValidName(o.name)
                             ? absl::OkStatus()
                             : absl::InvalidArgumentError("");
        !s.ok()) {
      return chtools::UsageStatus(absl::StrCat(
          "--name=", o.name,
          ": must match ^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$ and not be an id"));
    }
  }
  Batch b;
  std::set<std::string> seen;
  for (const std::string& ref : refs) {
    absl::StatusOr<std::string> id = env.index->Resolve(ref);
    if (!id.ok()) {
      b.errors.push_back(chtools::cli::VmError(ref, "save", id.status()));
      continue;
    }
    if (!seen.insert(*id).second) continue;
    absl::StatusOr<Vm> rec = env.index->Get(*id);
    const std::string name = rec.ok() ? rec->config().name() : ref;
    chtools::vm::CaptureOptions copts{.name = o.name,
                                      .description = o.description};
    absl::StatusOr<Snapshot> snap;
    if (o.output.empty()) {
      snap =
          chtools::vm::CaptureVm(env, store, *id, copts, /*record_on_vm=*/true,
                                 [&](chtools::vm::Captured& c) {
                                   return store.Publish(c.dir, c.record);
                                 });
    } else {
      // Straight into an archive: nothing is kept in the store.
      snap = chtools::vm::CaptureVm(
          env, store, *id, copts, /*record_on_vm=*/false,
          [&](chtools::vm::Captured& c) -> absl::StatusOr<Snapshot> {
            RETURN_IF_ERROR(WriteArchiveTo(o, io, c.record, c.dir.fd()));
            return c.record;
          });
    }
    if (!snap.ok()) {
      b.errors.push_back(chtools::cli::VmError(name, "save", snap.status()));
      continue;
    }
    if (o.output != "-") *b.out.add_snapshot() = *snap;
  }
  return b;
}

// Snapshot refs from argv or the snapshot (else vm: its snapshot_ids) records
// of the stream.
absl::StatusOr<std::vector<std::string>> SnapRefs(const Options& o,
                                                  const Io& io) {
  ASSIGN_OR_RETURN(bool stream,
                   chtools::cli::WantsStream(o.verb, o.args, io.in));
  if (!stream) {
    if (o.args.empty()) {
      return chtools::UsageStatus(absl::StrCat(
          o.verb, " needs snapshot refs (id, name or id prefix) or a stream"));
    }
    return o.args;
  }
  ASSIGN_OR_RETURN(Records r, chtools::cli::ReadStream(io.in));
  return chtools::cli::SnapshotRefs(r, io.in);
}

absl::StatusOr<Batch> Ls(const chtools::vm::Env& env, const Store& store,
                         const Options& o) {
  if (!o.args.empty())
    return chtools::UsageStatus("ls takes no arguments (filter with --vm)");
  std::string vm_id;
  if (!o.vm.empty()) {
    ASSIGN_OR_RETURN(vm_id, env.index->Resolve(o.vm));
  }
  ASSIGN_OR_RETURN(std::vector<Snapshot> all, store.List());
  Batch b;
  for (Snapshot& s : all) {
    if (!vm_id.empty() && s.source_vm_id() != vm_id) continue;
    *b.out.add_snapshot() = std::move(s);
  }
  return b;
}

absl::StatusOr<Batch> GetOrRm(const chtools::vm::Env& env, const Store& store,
                              const Options& o, const Io& io) {
  ASSIGN_OR_RETURN(std::vector<std::string> refs, SnapRefs(o, io));
  Batch b;
  std::set<std::string> seen;
  for (const std::string& ref : refs) {
    absl::StatusOr<std::string> id = store.Resolve(ref);
    if (!id.ok()) {
      b.errors.push_back(SnapError(ref, o.verb, id.status()));
      continue;
    }
    if (!seen.insert(*id).second) continue;
    absl::StatusOr<Snapshot> s = store.Get(*id);
    if (!s.ok()) {
      b.errors.push_back(SnapError(ref, o.verb, s.status()));
      continue;
    }
    if (o.verb == "rm") {
      if (absl::Status r = store.Remove(*id); !r.ok()) {
        b.errors.push_back(SnapError(ref, o.verb, r));
        continue;
      }
      // The source VM forgets it (if it still exists).
      if (!s->source_vm_id().empty()) {
        (void)env.index->Update(s->source_vm_id(), [&](Vm& v) {
          auto* ids = v.mutable_snapshot_ids();
          for (int i = ids->size() - 1; i >= 0; --i) {
            if (ids->Get(i) == *id) ids->erase(ids->begin() + i);
          }
          return absl::OkStatus();
        });
      }
    }
    *b.out.add_snapshot() = *std::move(s);
  }
  return b;
}

absl::StatusOr<Batch> Export(const Store& store, const Options& o,
                             const Io& io) {
  if (o.args.size() != 1)
    return chtools::UsageStatus("export takes one snapshot ref");
  if (o.output.empty())
    return chtools::UsageStatus("export needs -o FILE (or -o - for stdout)");
  Batch b;
  absl::StatusOr<std::string> id = store.Resolve(o.args[0]);
  absl::StatusOr<Snapshot> s =
      id.ok() ? store.Get(*id) : absl::StatusOr<Snapshot>(id.status());
  if (!s.ok()) {
    b.errors.push_back(SnapError(o.args[0], "export", s.status()));
    return b;
  }
  chtools::UniqueFd dir(
      ::open(s->data_dir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) {
    b.errors.push_back(
        SnapError(o.args[0], "export",
                  chtools::ErrnoError(errno, "open", s->data_dir())));
    return b;
  }
  Snapshot clean = *s;
  clean.clear_data_dir();
  if (absl::Status w = WriteArchiveTo(o, io, clean, dir.get()); !w.ok()) {
    if (chtools::IsUsageStatus(w)) return w;
    b.errors.push_back(SnapError(o.args[0], "export", w));
    return b;
  }
  if (o.output != "-") *b.out.add_snapshot() = *std::move(s);
  return b;
}

absl::StatusOr<Batch> Import(const Store& store, const Options& o,
                             const Io& io) {
  if (o.args.size() > 1)
    return chtools::UsageStatus("import takes one archive (FILE or -)");
  std::string source = o.args.empty() ? "-" : o.args[0];
  chtools::UniqueFd file;
  int in_fd = -1;
  if (source == "-") {
    if (io.in.is_tty)
      return chtools::UsageStatus(
          "import reads an archive: stdin is a terminal");
    in_fd = 0;
  } else {
    file.reset(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file.valid()) return chtools::ErrnoError(errno, "open", source);
    in_fd = file.get();
  }
  // Staged under a fresh id; the archive's record says which id it becomes.
  Batch b;
  const std::string name = source == "-" ? "<stdin>" : source;
  absl::StatusOr<chtools::snapshot::TempDir> stage =
      store.NewTemp(chtools::record::NewId());
  if (!stage.ok()) return stage.status();
  // The archive is hostile: its parser runs in a child that can only read
  // in_fd and create files in the staging dir (lib/archive/confined_reader.h).
  absl::StatusOr<Snapshot> rec =
      o.confine_import
          ? chtools::archive::ExtractSnapshotArchiveConfined(
                in_fd, name, stage->fd(), chtools::archive::ReadLimits())
          : chtools::archive::ExtractSnapshotArchive(
                in_fd, name, stage->fd(), chtools::archive::ReadLimits());
  if (!rec.ok()) {
    b.errors.push_back(
        absl::StrCat(name, ": import: ", rec.status().message()));
    return b;
  }
  // Under its own id (the staging dir is renamed by Publish).
  absl::StatusOr<chtools::snapshot::TempDir> target = store.NewTemp(rec->id());
  if (!target.ok()) {
    b.errors.push_back(SnapError(rec->id(), "import", target.status()));
    return b;
  }
  // Move the staged files into a temp dir named for the id.
  for (const chtools::SnapshotFile& f : rec->files()) {
    if (::renameat(stage->fd(), f.name().c_str(), target->fd(),
                   f.name().c_str()) != 0) {
      b.errors.push_back(SnapError(
          rec->id(), "import", chtools::ErrnoError(errno, "rename", f.name())));
      return b;
    }
  }
  absl::StatusOr<Snapshot> done = store.Publish(*target, *rec);
  if (!done.ok()) {
    b.errors.push_back(SnapError(rec->id(), "import", done.status()));
    return b;
  }
  *b.out.add_snapshot() = *std::move(done);
  return b;
}

}  // namespace

absl::StatusOr<Batch> Run(const chtools::vm::Env& env, const Store& store,
                          const Options& o, const Io& io) {
  const std::string& v = o.verb;
  if (v != "save" && v != "ls" && v != "get" && v != "rm" && v != "export" &&
      v != "import") {
    return chtools::UsageStatus(
        v.empty() ? "missing verb: save, ls, get, rm, export or import"
                  : absl::StrCat("unknown verb \"", v,
                                 "\" (save, ls, get, rm, export, import)"));
  }
  if ((!o.name.empty() || !o.description.empty()) && v != "save") {
    return chtools::UsageStatus("--name and --description apply to save only");
  }
  if (!o.output.empty() && v != "save" && v != "export") {
    return chtools::UsageStatus("-o applies to save and export only");
  }
  if (o.zstd && o.output.empty()) {
    return chtools::UsageStatus(
        "--compress applies to archives (save -o, export -o)");
  }
  if (!o.vm.empty() && v != "ls")
    return chtools::UsageStatus("--vm applies to ls only");
  if (v == "save") return Save(env, store, o, io);
  if (v == "ls") return Ls(env, store, o);
  if (v == "export") return Export(store, o, io);
  if (v == "import") return Import(store, o, io);
  return GetOrRm(env, store, o, io);
}

}  // namespace ch_snapshot

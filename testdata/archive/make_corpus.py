#!/usr/bin/env python3
"""Generates the snapshot-archive corpus of testdata/archive/.

valid/    archives lib/archive's reader must accept (and extract exactly)
hostile/  archives it must reject, one broken rule each

Run from anywhere; it rewrites both directories (see README.md):

    python3 testdata/archive/make_corpus.py

Needs python3, zstd and GNU tar. The config.json/state.json inside come from
sim/, captured from the CH simulator (README.md says how). The output is
deterministic for a given zstd and GNU tar version.
"""

import gzip
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
MTIME = 1767323045  # 2026-01-02T03:04:05Z, the manifests' created_at
MiB = 1 << 20
GiB = 1 << 30
TiB = 1 << 40


def read(path):
    with open(os.path.join(HERE, path), "rb") as f:
        return f.read()


DIRECT_CONFIG = read("sim/direct-config.json")
DIRECT_STATE = read("sim/direct-state.json")  # 512 MiB of RAM
CLOUD_CONFIG = read("sim/cloud-config.json")
CLOUD_STATE = read("sim/cloud-state.json")  # 1 GiB of RAM


def pattern(seed, n):
    """n bytes of recognisable non-zero data."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(b"%s-%d" % (seed.encode(), i)).digest()
        i += 1
    return bytes(out[:n])


class File:
    """A snapshot file: `size` bytes, zeros except `pieces` [(offset, data)]."""

    def __init__(self, name, size, pieces=(), mode=0o600):
        self.name = name
        self.size = size
        self.pieces = sorted(pieces)
        self.mode = mode

    @staticmethod
    def dense(name, data):
        return File(name, len(data), [(0, data)] if data else [])

    def sha256(self):
        if self.size > 4 * GiB:
            # Only the bombs are this big; they are rejected on their size.
            return "f" * 64
        h = hashlib.sha256()
        zeros = bytes(MiB)
        pos = 0

        def hole(n):
            while n > 0:
                k = min(n, len(zeros))
                h.update(zeros[:k])
                n -= k

        for off, data in self.pieces:
            hole(off - pos)
            h.update(data)
            pos = off + len(data)
        hole(self.size - pos)
        return h.hexdigest()

    def extents(self):
        return [(off, len(data)) for off, data in self.pieces]

    def is_dense(self):
        return self.extents() == [(0, self.size)] or self.size == 0

    def content(self):
        """Every byte (only for small files)."""
        out = bytearray(self.size)
        for off, data in self.pieces:
            out[off:off + len(data)] = data
        return bytes(out)


def manifest(files, direct=True, extra="", **override):
    """snapshot.txtpb listing `files` ([(name, size, sha256)] or File)."""
    rows = []
    for f in files:
        if isinstance(f, File):
            f = (f.name, f.size, f.sha256())
        rows.append('  files {\n    name: "%s"\n    size_bytes: %d\n'
                    '    sha256: "%s"\n  }\n' % f)
    fields = {
        "id": '"0123456789abcdef"',
        "name": '"web-1-snap"',
        "source_vm_id": '"fedcba9876543210"',
        "source_vm_name": '"web-1"',
        "cpu": "2" if direct else "1",
        "memory_bytes": str(512 * MiB if direct else GiB),
        "storage_bytes": str(64 * MiB if direct else GiB),
        "created_at": '"2026-01-02T03:04:05Z"',
        "data_dir": '"/var/lib/chtools/snapshot/0123456789abcdef"',
    }
    fields.update(override)
    text = "# proto-file: lib/record/records.proto\n"
    text += "# proto-message: chtools.Records\n"
    text += "snapshot {\n"
    for k, v in fields.items():
        text += "  %s: %s\n" % (k, v)
    text += "".join(rows)
    if direct:
        text += '  direct_boot: true\n  boot {\n' \
                '    kernel_path: "/var/lib/chtools/boot/vmlinux"\n' \
                '    cmdline: "console=hvc0 cocoon.hostname=web-1"\n  }\n'
    else:
        text += '  boot {\n    firmware_path: "/usr/share/cloud-hypervisor/' \
                'CLOUDHV.fd"\n  }\n'
    text += extra
    text += "}\n"
    return text.encode()


def direct_files():
    return [
        File.dense("config.json", DIRECT_CONFIG),
        File.dense("state.json", DIRECT_STATE),
        File("memory-ranges", 512 * MiB,
             [(0, pattern("ram0", 512)), (1 * MiB, pattern("ram1", 1024)),
              (512 * MiB - 512, pattern("ram2", 512))]),
        File("cow.raw", 64 * MiB,
             [(1024, pattern("sb", 1024)), (32 * MiB, pattern("cow", 512))]),
    ]


def cloud_files():
    qcow = b"QFI\xfb" + pattern("qcow2", 508)
    return [
        File.dense("config.json", CLOUD_CONFIG),
        File.dense("state.json", CLOUD_STATE),
        File("memory-ranges", GiB,
             [(4096, pattern("cram", 512)), (GiB - 1024, pattern("top", 1024))]),
        File("overlay.qcow2", 196624, [(0, qcow), (65536, pattern("l1", 512))]),
        File("cidata.img", MiB, [(0, pattern("fat", 512)),
                                  (16384, pattern("meta", 512))]),
    ]


def info(name, type=tarfile.REGTYPE, mode=0o600):
    ti = tarfile.TarInfo(name)
    ti.type = type
    ti.mode = mode
    ti.mtime = MTIME
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    return ti


class Tar:
    """A tar built entry by entry with full control over every header."""

    def __init__(self, fmt=tarfile.PAX_FORMAT):
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=fmt)

    def raw(self, ti, data=b""):
        ti.size = len(data)
        self.tar.addfile(ti, io.BytesIO(data))
        return self

    def plain(self, name, data, mode=0o600, pax=None):
        ti = info(name, mode=mode)
        if pax:
            ti.pax_headers = dict(pax)
        return self.raw(ti, data)

    def sparse(self, f, extents=None, realsize=None, data=None,
               major="1", map_text=None):
        """`f` as a GNU 1.0 sparse pax entry; the map, size and stored data
        can be forged."""
        extents = f.extents() if extents is None else extents
        if map_text is None:
            map_text = "%d\n" % len(extents)
            for off, n in extents:
                map_text += "%d\n%d\n" % (off, n)
            map_text = map_text.encode()
        padded = map_text + bytes(-len(map_text) % 512)
        if data is None:
            data = b"".join(d for _, d in f.pieces)
        ti = info("GNUSparseFile.0/" + f.name, mode=f.mode)
        ti.pax_headers = {
            "GNU.sparse.major": major,
            "GNU.sparse.minor": "0",
            "GNU.sparse.name": f.name,
            "GNU.sparse.realsize": str(f.size if realsize is None else realsize),
        }
        return self.raw(ti, padded + data)

    def file(self, f):
        if f.is_dense():
            return self.plain(f.name, f.content(), mode=f.mode)
        return self.sparse(f)

    def manifest(self, text):
        return self.plain("snapshot.txtpb", text)

    def bytes(self):
        # The end-of-archive marker is two zero blocks; tarfile pads on to
        # 10240 bytes, which only makes the corpus bigger.
        end = self.tar.offset + 1024
        self.tar.close()
        return self.buf.getvalue()[:end]


def snapshot_tar(files, text=None, skip=(), **kw):
    t = Tar()
    t.manifest(text if text is not None else manifest(files, **kw))
    for f in files:
        if f.name not in skip:
            t.file(f)
    return t


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def zst(data):
    return subprocess.run(["zstd", "-19", "-q", "-c"], input=data,
                          check=True, stdout=subprocess.PIPE).stdout


def gnu_tar(files, fmt):
    """The archive GNU tar makes of `files` (sparse on disk), in order."""
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "snapshot.txtpb"), "wb") as out:
            out.write(manifest(files))
        for f in files:
            with open(os.path.join(d, f.name), "wb") as out:
                out.truncate(f.size)
                for off, data in f.pieces:
                    out.seek(off)
                    out.write(data)
        names = ["snapshot.txtpb"] + [f.name for f in files]
        args = ["tar", "--format=" + fmt, "-S", "--owner=0", "--group=0",
                "--numeric-owner", "--mode=0600", "--mtime=@%d" % MTIME,
                "-C", d, "-cf", "-"] + names
        if fmt == "posix":
            args[2:3] = ["-S", "--sparse-version=1.0",
                         "--pax-option=delete=atime,delete=ctime,"
                         "exthdr.name=%d/PaxHeaders/%f"]
        return subprocess.run(args, check=True, stdout=subprocess.PIPE).stdout


def valid():
    d, c = direct_files(), cloud_files()
    dense_ram = direct_files()
    dense_ram[2] = File("memory-ranges", 512 * MiB, [(0, bytes(512 * MiB))])
    return {
        "direct.tar": snapshot_tar(d).bytes(),
        "direct.tar.gz": gz(snapshot_tar(d).bytes()),
        "cloud.tar": snapshot_tar(c, direct=False).bytes(),
        "cloud.tar.zst": zst(snapshot_tar(c, direct=False).bytes()),
        # memory-ranges as CH writes it: dense, 512 MiB, almost all zeros.
        "direct-dense-ram.tar.zst": zst(snapshot_tar(dense_ram).bytes()),
        "direct-gnutar-gnu.tar": gnu_tar(d, "gnu"),
        "direct-gnutar-pax.tar": gnu_tar(d, "posix"),
    }


def hostile():
    d = direct_files()
    config, state, ram, cow = d
    m = manifest(d)
    out = {}

    def case(name, tar):
        out[name] = tar.bytes() if isinstance(tar, Tar) else tar

    def with_entry(make_bad):
        """The direct snapshot with config.json replaced by `make_bad(t)`."""
        t = Tar().manifest(m)
        make_bad(t)
        for f in d[1:]:
            t.file(f)
        return t

    # Entry types and modes.
    case("symlink.tar", with_entry(lambda t: t.raw(
        _link("config.json", tarfile.SYMTYPE, "/etc/passwd"))))
    case("hardlink.tar", Tar().manifest(m).file(config).raw(
        _link("state.json", tarfile.LNKTYPE, "config.json")))
    case("directory.tar", with_entry(lambda t: t.raw(
        info("config.json", tarfile.DIRTYPE, 0o700))))
    case("chardev.tar", with_entry(lambda t: t.raw(
        _dev("config.json", tarfile.CHRTYPE))))
    case("blockdev.tar", with_entry(lambda t: t.raw(
        _dev("config.json", tarfile.BLKTYPE))))
    case("fifo.tar", with_entry(lambda t: t.raw(
        info("config.json", tarfile.FIFOTYPE))))
    case("setuid.tar", with_entry(lambda t: t.plain(
        "config.json", DIRECT_CONFIG, mode=0o4755)))
    case("sticky.tar", with_entry(lambda t: t.plain(
        "config.json", DIRECT_CONFIG, mode=0o1600)))

    # Names.
    case("absolute-name.tar", with_entry(lambda t: t.plain(
        "/config.json", DIRECT_CONFIG)))
    case("dotdot-name.tar", with_entry(lambda t: t.plain(
        "../config.json", DIRECT_CONFIG)))
    case("subdir-name.tar", with_entry(lambda t: t.plain(
        "x/config.json", DIRECT_CONFIG)))
    case("pax-path-dotdot.tar", with_entry(lambda t: t.plain(
        "config.json", DIRECT_CONFIG, pax={"path": "../../etc/cron.d/x"})))
    case("not-allowlisted.tar", Tar().manifest(
        manifest(d + [File.dense("evil.sh", b"#!/bin/sh\n")])))
    case("not-in-manifest.tar", snapshot_tar(d, text=manifest(d[:3])))
    case("duplicate-entry.tar", snapshot_tar(d).file(config))
    case("duplicate-in-manifest.tar", snapshot_tar(d, text=manifest(
        d + [config])))
    case("manifest-twice.tar", snapshot_tar(d).manifest(m))

    # The manifest itself.
    t = Tar()
    for f in d:
        t.file(f)
    case("missing-manifest.tar", t)
    t = Tar().file(config).manifest(m)
    for f in d[1:]:
        t.file(f)
    case("manifest-not-first.tar", t)
    case("empty.tar", Tar())
    case("malformed-manifest.tar", snapshot_tar(
        d, text=m.replace(b"snapshot {", b"snapshot {{")))
    case("manifest-two-snapshots.tar", snapshot_tar(
        d, text=m + m.split(b"\n", 2)[2].replace(b"0123456789abcdef",
                                                 b"0123456789abcdee")))
    case("manifest-invalid.tar", snapshot_tar(d, id='"NOT-AN-ID"'))
    case("manifest-no-sha256.tar", snapshot_tar(
        d, text=m.replace(b'sha256: "%s"' % cow.sha256().encode(),
                          b'sha256: ""')))
    case("manifest-no-state.tar", snapshot_tar(
        d, text=manifest([config, ram, cow]), skip=("state.json",)))
    case("manifest-too-large.tar.gz", gz(snapshot_tar(
        d, text=m + b"#" * MiB + b"\n").bytes()))

    # Contents against the manifest.
    case("size-mismatch.tar", with_entry(lambda t: t.plain(
        "config.json", DIRECT_CONFIG + b" ")))
    case("sha256-mismatch.tar", with_entry(lambda t: t.plain(
        "config.json", DIRECT_CONFIG.replace(b"cocoon-cow", b"cocoon-cox"))))
    case("sparse-sha256-mismatch.tar", snapshot_tar(
        d, skip=("memory-ranges",)).sparse(File(
            "memory-ranges", ram.size,
            [(512, pattern("ram0", 512)), (MiB, pattern("ram1", 1024)),
             (ram.size - 512, pattern("ram2", 512))])))
    case("missing-file.tar", snapshot_tar(d, skip=("cow.raw",)))
    full = snapshot_tar(d).bytes()
    case("truncated.tar", full[:len(full) // 2])
    second_header = 512 + (len(m) + 511) // 512 * 512
    case("truncated-mid-header.tar", full[:second_header + 100])
    full_zst = zst(full)
    case("truncated.tar.zst", full_zst[:len(full_zst) - 40])

    # Sparse maps (libarchive returns the data of these extents as they are).
    def bad_map(extents, data, **kw):
        return snapshot_tar(d, skip=("cow.raw",)).sparse(
            cow, extents=extents, data=data, **kw)
    case("sparse-overlap.tar", bad_map(
        [(0, 8192), (4096, 4096)], pattern("a", 12288)))
    case("sparse-out-of-order.tar", bad_map(
        [(MiB, 4096), (0, 4096)], pattern("b", 8192)))
    case("sparse-past-size.tar", bad_map(
        [(0, 4096), (cow.size, 4096)], pattern("c", 8192)))
    case("sparse-far-offset.tar", bad_map(
        [(1 << 62, 4096)], pattern("d", 4096)))
    case("sparse-unknown-version.tar", bad_map(
        cow.extents(), b"".join(x for _, x in cow.pieces), major="2"))

    # Bombs: sizes beyond the limits, maps and data beyond any budget.
    big = File("cow.raw", 17 * TiB, [(0, pattern("big", 4096))])
    case("bomb-file-size.tar", snapshot_tar(d[:3] + [big]))
    case("bomb-total-size.tar", snapshot_tar(
        [config, state, ram, File("cow.raw", 15 * TiB),
         File("overlay.qcow2", 15 * TiB), File("cidata.img", 3 * TiB)]))
    case("bomb-entry-size.tar", snapshot_tar(d, skip=("cow.raw",)).sparse(
        cow, realsize=(1 << 62)))
    # 4.3M empty extents: 17 MB of map that libarchive would hold in memory
    # (40 bytes each) before returning the entry.
    n = 4_300_000
    bomb_map = b"%d\n" % n + b"0\n0\n" * n
    bomb = snapshot_tar(d, skip=("cow.raw",)).sparse(
        cow, map_text=bomb_map).bytes()
    case("bomb-sparse-map.tar.zst", zst(bomb))
    case("bomb-sparse-map.tar.gz", gz(bomb))
    # 256 MiB of zeros stored in memory-ranges beyond what its map accounts
    # for. libarchive 3.6.2 ignores the stored size of a GNU 1.0 sparse entry
    # and parses the next header right after the mapped data, so the zeros
    # read as the end of the archive and are never decompressed: cow.raw is
    # missing.
    t = Tar().manifest(m).file(config).file(state)
    t.sparse(ram, data=b"".join(x for _, x in ram.pieces) + bytes(256 * MiB))
    case("bomb-hidden-data.tar.zst", zst(t.file(cow).bytes()))

    # memory-ranges against state.json.
    short = File("memory-ranges", 256 * MiB, [(0, pattern("ram0", 512))])
    case("memory-ranges-short.tar", snapshot_tar([config, state, short, cow]))
    case("memory-ranges-missing.tar", snapshot_tar([config, state, cow]))
    bad_state = File.dense("state.json", b'{"snapshots":{}}')
    case("state-json-no-ram.tar", snapshot_tar([config, bad_state, ram, cow]))

    # Not a (single, plain) tar at all.
    case("not-tar.bin", pattern("noise", 4096))
    case("nested-gzip.tar.gz.gz", gz(gz(full)))
    return out


def _link(name, type, target):
    ti = info(name, type, 0o777)
    ti.linkname = target
    return ti


def _dev(name, type):
    ti = info(name, type, 0o600)
    ti.devmajor, ti.devminor = 1, 3
    return ti


def main():
    for sub, cases in (("valid", valid()), ("hostile", hostile())):
        path = os.path.join(HERE, sub)
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)
        for name, data in sorted(cases.items()):
            with open(os.path.join(path, name), "wb") as out:
                out.write(data)
            print("%-40s %8d bytes" % (os.path.join(sub, name), len(data)))


if __name__ == "__main__":
    main()

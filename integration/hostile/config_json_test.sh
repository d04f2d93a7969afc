#!/usr/bin/env bash
# A malicious snapshot's config.json (its manifest made consistent, as an
# attacker's archive would be): paths to host files, sockets in another VM's
# dir, enormous numbers, wrong types, duplicate keys, deep nesting, invalid
# JSON and UTF-8, a huge file. ch-clone, from the store and from an archive
# stream, refuses each with exit 1 naming config.json and the field, and
# leaves nothing: no record, dir, CH or process; the other VM untouched. The
# JSON is parsed in confined children: the same errors as with --no-seccomp,
# and strace sees the filters loaded.
source "$(dirname "$0")/lib.sh"
make_direct_files
export CHSIM_SPARSE_MEMORY_RANGES=1
run "$LAUNCH" create --name web --cpu 1 --memory 512M "${K[@]}"; [[ $rc == 0 ]] || die "create"
run "$LAUNCH" start web; [[ $rc == 0 ]] || die "start"
OTHER=$(field run_dir)
run "$SNAP" save web --name s; [[ $rc == 0 ]] || die "save"
S=$(field data_dir)
cp -a "$S" "$T/s.orig"

# edit PY: rewrite $S/config.json with the Python expression PY over `t` (the
# text) and `j` (parsed), then make the record's manifest agree.
edit() {
  rm -rf "$S"; cp -a "$T/s.orig" "$S"
  python3 - "$S" "$OTHER" "$1" <<'PY' || die "edit $1"
import hashlib, json, re, sys
d, other, expr = sys.argv[1], sys.argv[2], sys.argv[3]
t = open(d + "/config.json", "rb").read().decode()
j = json.loads(t)
out = eval(expr)
if isinstance(out, str):
    out = out.encode("utf-8", "surrogateescape")
open(d + "/config.json", "wb").write(out)
rec = open(d + "/snapshot.txtpb").read()
def fix(m):
    block = m.group(0)
    if '"config.json"' not in block:
        return block
    block = re.sub(r"size_bytes: \d+", "size_bytes: %d" % len(out), block)
    return re.sub(r'sha256: "[0-9a-f]+"', 'sha256: "%s"' % hashlib.sha256(out).hexdigest(), block)
rec = re.sub(r"files \{[^}]*\}", fix, rec)
open(d + "/snapshot.txtpb", "w").write(rec)
PY
}
# with PY: j modified by the statements in PY, dumped.
with() { edit "(lambda j: ($1, json.dumps(j))[1])(j)"; }

# vm_info ID: CH's vm.info of VM ID (its live config).
vm_info() {
  python3 - "$T/run/cloudhypervisor/$1/api.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"GET /api/v1/vm.info HTTP/1.1\r\nHost: localhost\r\n\r\n")
buf = b""
while True:
    head, sep, body = buf.partition(b"\r\n\r\n")
    if sep:
        n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
        if len(body) >= n: break
    buf += s.recv(65536)
print(body[:n].decode())
PY
}
overridden() {  # overridden WHAT PATH: the clone runs, CH's config lacks PATH
  run "$CLONE" s --name x
  [[ $rc == 0 && $(field state) == RUNNING ]] || die "$1: rc $rc"
  local info; info=$(vm_info "$(field id)")
  [[ -n $info && $info != *"$2"* ]] || die "$1: CH was given $2: $info"
  run "$LAUNCH" rm --force x; [[ $rc == 0 ]] || die "$1: rm x"
}

hostile() {  # hostile WHAT WANT...: ch-clone s is refused, nothing changes
  local what=$1; shift
  before=$(world)
  run "$CLONE" s --name x
  refused "$what" "config.json" "$@"
  clean_stderr "$what"
  unchanged "$what"
  # The JSON is parsed in a confined child (lib/vm/snapshot_json.h): the
  # same refusal, byte for byte, as when parsed in process.
  local c_rc=$rc c_err=$err
  run "$CLONE" --no-seccomp s --name x
  [[ $rc == "$c_rc" && $err == "$c_err" ]] || die "$what: differs with --no-seccomp: $err (confined: $c_err)"
  unchanged "$what (--no-seccomp)"
}

with 'j["payload"].__setitem__("kernel", "/etc/shadow")'
hostile "kernel: a host file" 'payload.kernel: "/etc/shadow"'
with 'j["disks"][0].__setitem__("path", "/etc/passwd")'
hostile "disk: a host file" 'disks[0]'
with 'j.__setitem__("vsock", {"cid": 3, "socket": other + "/console.sock", "iommu": False})'
hostile "vsock socket in another VM's dir" 'vsock: is set'
# Consoles are rewritten per boot type, not refused: CH must not see it.
with 'j.__setitem__("serial", {"mode": "File", "file": other + "/cow.raw"})'
overridden "serial file: another VM's disk" "$OTHER/cow.raw"
with 'j["rng"].__setitem__("src", other + "/api.sock")'
hostile "rng: another VM's api socket" 'rng.src'
with 'j.__setitem__("fs", [{"tag": "x", "socket": other + "/virtiofs.sock", "num_queues": 1, "queue_size": 1024}])'
hostile "virtio-fs socket" 'fs: is set'
with 'j["memory"].__setitem__("size", 2**70)'
hostile "memory size 2^70" 'memory'
with 'j["memory"].__setitem__("size", -1)'
hostile "memory size -1" 'memory'
with 'j["cpus"].__setitem__("boot_vcpus", 2**40)'
hostile "boot_vcpus 2^40" 'cpus'
with 'j["cpus"].__setitem__("boot_vcpus", 1e300)'
hostile "boot_vcpus 1e300" 'cpus'
with 'j.__setitem__("cpus", "lots")'
hostile "cpus a string" 'cpus'
with 'j.__setitem__("disks", {"path": "/etc/passwd"})'
hostile "disks an object" 'disks'
with 'j["disks"][0].__setitem__("path", 7)'
hostile "disk path a number" 'disks[0].path'
edit 't[:-1] + ", \"payload\": {\"kernel\": \"/etc/shadow\"}}"'
hostile "duplicate key: the last payload names a host file" 'payload.kernel: "/etc/shadow"'
edit '"[" * 100000 + "]" * 100000'
hostile "nested 100000 deep" 'nests deeper than 64'
edit 't[: len(t) // 2]'
hostile "truncated" 'is not valid JSON'
edit 't.replace("\"", "\"\\udcff", 1)'
hostile "invalid UTF-8" 'is not valid JSON'
edit 't.replace("{", "{\u0000", 1)'
hostile "a NUL byte" 'is not valid JSON'
edit 't + " " * (64 << 20)'
hostile "64 MiB of config.json" 'bytes'

# From an archive stream (the same checks, in the confined reader's wake).
for case in kernel nesting; do
  case $case in
    kernel) with 'j["payload"].__setitem__("kernel", "/etc/shadow")'; want='payload.kernel: "/etc/shadow"' ;;
    nesting) edit '"[" * 100000 + "]" * 100000'; want='nests deeper than 64' ;;
  esac
  rm -f "$T/s.tar"; "$SNAP" export s -o "$T/s.tar" || die "export of the edited snapshot"
  before=$(world)
  run "$CLONE" - --name x <"$T/s.tar"
  refused "stream: $case" "config.json" "$want"
  clean_stderr "stream: $case"
  unchanged "stream: $case"
done

# The untouched snapshot still clones. Its JSON is read and rewritten in two
# children that each load a seccomp filter (strace counts them; -b execve
# stops following at CH's exec); none with --no-seccomp; from an archive
# stream, one more for the archive reader.
rm -rf "$S"; cp -a "$T/s.orig" "$S"
rm -f "$T/s.tar"; "$SNAP" export s -o "$T/s.tar" || die "export of the original"
# filters: how many filters were loaded (libseccomp's probes fail first).
filters() { grep -c 'seccomp(SECCOMP_SET_MODE_FILTER, .*filter=.*) = 0$' "$T/strace"; }
# LeakSanitizer cannot run under ptrace: off for these runs in --config=asan
# builds (ASAN_OPTIONS means nothing to a normal build).
traced() {
  run env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    strace -f -b execve -qq -e trace=seccomp -e signal=none -o "$T/strace" "$@"
}
traced "$CLONE" s --name x; [[ $rc == 0 && $(field state) == RUNNING ]] || die "clone of the original"
[[ $(filters) == 2 ]] || die "store clone: $(filters) seccomp filters loaded, want 2: $(cat "$T/strace")"
run "$LAUNCH" rm --force x; [[ $rc == 0 ]] || die "rm x"
traced "$CLONE" --no-seccomp s --name x; [[ $rc == 0 ]] || die "clone --no-seccomp"
[[ $(filters) == 0 ]] || die "--no-seccomp: $(filters) seccomp filters loaded"
run "$LAUNCH" rm --force x; [[ $rc == 0 ]] || die "rm x"
traced "$CLONE" - --name x <"$T/s.tar"; [[ $rc == 0 ]] || die "stream clone: $err"
[[ $(filters) == 3 ]] || die "stream clone: $(filters) seccomp filters loaded, want 3"
run "$LAUNCH" rm --force x; [[ $rc == 0 ]] || die "rm x"
echo PASS

#!/usr/bin/env bash
# ch-clone end to end on the real binaries against the simulator: clones of a
# direct-boot and a cloud-image VM from the store and from an archive stream,
# NICs swapped onto single- and multi-queue taps in their own netns, guest
# markers proving the data path, --restore to an older and a newer snapshot,
# 16 clones at once, --cpu, faults (restore/resume failing, CH killed during
# restore, a short memory-ranges, a config.json naming a host file, the
# hostile archive corpus): each a clean error with nothing left behind.
set -u
LAUNCH=$(realpath "$1") CONSOLE=$(realpath "$2") SIM=$(realpath "$3") INDEX=$(realpath "$4")
SNAP=$(realpath "$5") CLONE=$(realpath "$6") CORPUS=$(dirname "$(dirname "$(realpath "$7")")")
export PATH=$PATH:/usr/sbin:/sbin
T=$(mktemp -d /tmp/chk.XXXXXX)  # short: socket paths
export CHTOOLS_ROOT_DIR=$T/root CHTOOLS_RUN_DIR=$T/run CHTOOLS_LOG_DIR=$T/log CHTOOLS_CH_BINARY=$SIM
unset CHTOOLS_CONFIG
NS=chk$$  # netns prefix
out="" err="" rc=0
die() {
  echo "FAIL: $*" >&2
  echo "--- stdout:" >&2; echo "$out" >&2
  echo "--- stderr:" >&2; echo "$err" >&2
  exit 1
}
run() { local ef=$T/.err; out=$("$@" 2>"$ef"); rc=$?; err=$(<"$ef"); }
field() { sed -n "s/^ *$1: \"\{0,1\}\([^\"]*\)\"\{0,1\}$/\1/p" <<<"$out" | head -1; }
cleanup() {
  local f n
  for f in "$T"/run/cloudhypervisor/*/ch.pid; do
    [[ -f $f ]] && kill -9 "$(<"$f")" 2>/dev/null
  done
  pkill -9 -f -- "$T/run" 2>/dev/null
  for n in $(ip netns list | awk '{print $1}' | grep "^$NS"); do ip netns del "$n"; done
  rm -rf "$T"
}
trap cleanup EXIT
# console CMD VM [IDLE]: the guest's answer lines (prompt and CR stripped).
console() { printf '%s\n' "$1" | "$CONSOLE" --idle="${3:-1s}" "$2" | sed 's/\r$//; s/^root@[^#]*# //' | grep -v '^$'; }
# netns NAME [multi]: a netns with tap0 (multi-queue if asked).
netns() { ip netns add "$NS$1" && ip -n "$NS$1" tuntap add tap0 mode tap ${2:+multi_queue} || die "netns $1"; }
verify_dir() {
  local dir=$1 name sha n=0
  while read -r name sha; do
    [[ $(sha256sum "$dir/$name" | cut -d' ' -f1) == "$sha" ]] || die "$dir/$name: SHA-256 differs from the manifest"
    n=$((n + 1))
  done < <(awk '/name:/{gsub(/"/,"",$2); n=$2} /sha256:/{gsub(/"/,"",$2); print n, $2}' "$dir/snapshot.txtpb")
  ((n >= 4)) || die "$dir: only $n files in the manifest"
}
# The state of the world a failed clone must leave as it found it.
world() {
  echo "dirs: $(ls "$T/run/cloudhypervisor" "$T/log/cloudhypervisor" 2>/dev/null | sort | tr '\n' ' ')"
  echo "vms: $("$INDEX" ls --format=textproto | grep -c '^vm {')"
  echo "ch: $(pgrep -fc -- "--api-socket $T/run")"
  echo "taps: $(for n in $(ip netns list | awk '{print $1}' | grep "^$NS"); do ip -n "$n" -o link | awk -v n="$n" '{print n":"$2}'; done | sort | tr '\n' ' ')"
}

mkdir -p "$T/img"
truncate -s 1M "$T/img/vmlinuz" "$T/img/initrd.img" "$T/img/layer0.erofs"
K=(--kernel "$T/img/vmlinuz" --initrd "$T/img/initrd.img" --layer "$T/img/layer0.erofs")
netns src; netns csrc; netns c1; netns c2; netns mqsrc multi; netns mq1 multi

# --- a direct-boot VM, two snapshots with different markers.
run "$LAUNCH" create --name web --cpu 1 --memory 512M "${K[@]}" --nic "tap=tap0,netns=${NS}src,mac=02:00:00:00:01:01"
[[ $rc == 0 ]] || die "create web"
run "$LAUNCH" start web; [[ $rc == 0 ]] || die "start web"
console "mem-marker set m1" web >/dev/null; console "disk-marker set d1" web >/dev/null
run "$SNAP" save web --name s1; [[ $rc == 0 ]] || die "save s1"
s1=$(field id); s1dir=$(field data_dir)
console "mem-marker set m2" web >/dev/null; console "disk-marker set d2" web >/dev/null
run "$SNAP" save web --name s2; [[ $rc == 0 ]] || die "save s2"
s2dir=$(field data_dir)
console "mem-marker set m3" web >/dev/null; console "disk-marker set d3" web >/dev/null

# --- clone from the store: the snapshot's markers, the clone's MAC on its tap.
run "$CLONE" s1 --name web-c1 --nic "tap=tap0,netns=${NS}c1,mac=02:00:00:00:02:01"
[[ $rc == 0 && $(field name) == web-c1 && $(field state) == RUNNING ]] || die "clone s1"
c1=$(field id); c1run=$T/run/cloudhypervisor/$c1
[[ $(field mac) == 02:00:00:00:02:01 && $(field first_booted) == true ]] || die "clone record"
[[ $out == *"cocoon.hostname=web-c1"* ]] || die "clone cmdline for cold boots"
[[ $(console "mem-marker get" web-c1) == m1 && $(console "disk-marker get" web-c1) == d1 ]] || die "clone markers"
[[ $(console "ip link" web-c1) == "eth0: 02:00:00:00:02:01" ]] || die "clone MAC: $(console "ip link" web-c1)"
[[ $(console "nproc" web-c1) == 1 ]] || die "clone nproc"
[[ $(console "free -b" web-c1) == "Mem: 536870912" ]] || die "clone RAM"
# The source is untouched.
[[ $(console "mem-marker get" web) == m3 && $(console "disk-marker get" web) == d3 ]] || die "source markers"
[[ $(console "ip link" web) == "eth0: 02:00:00:00:01:01" ]] || die "source MAC"
# After restore CH has read them: no RAM image, no JSON left in the run dir;
# the parking tap went with the ejected NIC.
for f in memory-ranges config.json state.json; do [[ ! -e $c1run/$f ]] || die "$f left in the clone's run dir"; done
[[ $(ip -n "${NS}c1" -o link | awk '{print $2}' | tr '\n' ' ') == "lo: tap0: " ]] || die "taps in c1: $(ip -n "${NS}c1" -o link)"
verify_dir "$s1dir"
# It is a VM like any other: stop and cold start (cidata-less direct boot).
run "$LAUNCH" stop web-c1; [[ $rc == 0 ]] || die "stop clone"
run "$LAUNCH" start web-c1; [[ $rc == 0 ]] || die "start clone"
console "" web-c1 >/dev/null  # the boot lines
[[ $(console "disk-marker get" web-c1) == d1 && $(console "hostname" web-c1) == web-c1 ]] || die "clone after cold start"
run "$LAUNCH" rm --force web-c1; [[ $rc == 0 ]] || die "rm clone"

# --- clone from a stream: export | ch-clone -.
"$SNAP" export s2 -o - | "$CLONE" - --name web-c2 --nic "tap=tap0,netns=${NS}c2" >"$T/c2.out" 2>"$T/c2.err"
out=$(<"$T/c2.out") err=$(<"$T/c2.err")
[[ $(field name) == web-c2 ]] || die "stream clone"
c2=$(field id); c2mac=$(field mac)
[[ $c2mac =~ ^[0-9a-f]{2}(:[0-9a-f]{2}){5}$ && $c2mac != 02:00:00:00:01:01 ]] || die "stream clone MAC $c2mac"
[[ $(console "mem-marker get" web-c2) == m2 && $(console "disk-marker get" web-c2) == d2 ]] || die "stream clone markers"
[[ $(console "ip link" web-c2) == "eth0: $c2mac" ]] || die "stream clone guest MAC"
for f in memory-ranges config.json state.json snapshot.txtpb; do [[ ! -e $T/run/cloudhypervisor/$c2/$f ]] || die "$f left after a stream clone"; done
run "$LAUNCH" rm --force web-c2; [[ $rc == 0 ]] || die "rm web-c2"

# --- default name; too few NICs; --cpu beyond the headroom; bad flags.
run "$CLONE" s1 --nic "tap=tap0,netns=${NS}c1"
[[ $rc == 0 && $(field name) =~ ^web-[0-9a-f]{6}$ ]] || die "default name $(field name)"
run "$LAUNCH" rm --force "$(field id)"; [[ $rc == 0 ]] || die "rm default-named clone"
before=$(world)
run "$CLONE" s1 --name nonic; [[ $rc == 1 && $err == *"1 NIC(s): give at least as many --nic"* ]] || die "too few NICs"
# ch-launch starts CH with max_vcpus = the host's CPUs: that is the headroom.
ncpu=$(nproc)
run "$CLONE" s1 --name x --cpu $((ncpu + 1)) --nic "tap=tap0,netns=${NS}mq1"
[[ $rc == 1 && $err == *"at most $ncpu vCPUs (its max_vcpus)"* ]] || die "--cpu beyond headroom"
run "$CLONE" s1 --cpu zero; [[ $rc == 2 ]] || die "--cpu zero: rc $rc"
run "$CLONE" s1 --nic bogus; [[ $rc == 2 && $err == *"--nic"* ]] || die "--nic bogus: rc $rc"
run "$CLONE" s1 --restore web --name x; [[ $rc == 2 ]] || die "--restore with --name"
run "$CLONE" nosuch --nic "tap=tap0,netns=${NS}c1"; [[ $rc == 1 && $err == *'"nosuch": neither a snapshot'* ]] || die "unknown snapshot"
run "$CLONE" s1 --name web --nic "tap=tap0,netns=${NS}c1"; [[ $rc == 1 && $err == *web* ]] || die "taken name"
[[ $(world) == "$before" ]] || die "refused clones changed things: $(world) vs $before"

# --- restore: the older snapshot, then the newer one.
run "$CLONE" --restore web s1; [[ $rc == 0 && $(field state) == RUNNING ]] || die "restore s1"
[[ $(console "mem-marker get" web) == m1 && $(console "disk-marker get" web) == d1 ]] || die "markers after restore s1"
[[ $(console "ip link" web) == "eth0: 02:00:00:00:01:01" ]] || die "MAC after restore"
[[ ! -e $T/run/cloudhypervisor/$(field id)/restore-staging ]] || die "staging left"
"$SNAP" export s2 -o - | "$CLONE" --restore web - >"$T/r.out" 2>"$T/r.err" || { err=$(<"$T/r.err"); die "restore s2 from a stream"; }
[[ $(console "mem-marker get" web) == m2 && $(console "disk-marker get" web) == d2 ]] || die "markers after restore s2"
verify_dir "$s1dir"; verify_dir "$s2dir"
# Not its snapshot: refused, nothing changes.
run "$LAUNCH" create --name other --cpu 1 --memory 512M "${K[@]}" --nic "tap=tap0,netns=${NS}c2"
run "$CLONE" --restore other s1; [[ $rc == 1 && $err == *"was not taken of this VM"* ]] || die "restore of another VM's snapshot"
run "$LAUNCH" rm other; [[ $rc == 0 ]] || die "rm other"

# --- multi-queue taps: a 2-vCPU VM, cloned onto another multi-queue tap.
run "$LAUNCH" create --name mq --cpu 2 --memory 512M "${K[@]}" --nic "tap=tap0,netns=${NS}mqsrc"
[[ $rc == 0 ]] || die "create mq"
run "$LAUNCH" start mq; [[ $rc == 0 ]] || die "start mq"
console "mem-marker set mq1" mq >/dev/null
run "$SNAP" save mq --name mqs; [[ $rc == 0 ]] || die "save mq"
run "$CLONE" mqs --name mq-c --nic "tap=tap0,netns=${NS}mq1,mac=02:00:00:00:03:01"
[[ $rc == 0 && $(field num_queues) == 4 ]] || die "multi-queue clone"
[[ $(console "mem-marker get" mq-c) == mq1 && $(console "ip link" mq-c) == "eth0: 02:00:00:00:03:01" && $(console nproc mq-c) == 2 ]] \
  || die "multi-queue clone guest"
run "$LAUNCH" rm --force mq-c; [[ $rc == 0 ]] || die "rm mq-c"
# A single-queue tap cannot serve 4 queues: refused before anything is made.
before=$(world)
run "$CLONE" mqs --name mq-x --nic "tap=tap0,netns=${NS}c1"
[[ $rc == 1 && $err == *"single-queue"* || $rc == 1 && $err == *"multi"* ]] || die "single-queue tap for 2 vCPUs"
[[ $(world) == "$before" ]] || die "refused multi-queue clone changed things"

# --- --cpu within the headroom: vm.resize after the resume; the guest and
# the record agree (a cold start will want 4 queues: a multi-queue tap).
if ((ncpu >= 2)); then
  run "$CLONE" s1 --name grown --cpu 2 --nic "tap=tap0,netns=${NS}mq1"
  [[ $rc == 0 && $(sed -n 's/^ *cpu: //p' <<<"$out" | head -1) == 2 ]] || die "--cpu 2 within headroom"
  [[ $(console nproc grown) == 2 && $(console "mem-marker get" grown) == m1 ]] || die "grown guest nproc: $(console nproc grown)"
  run "$LAUNCH" rm --force grown; [[ $rc == 0 ]] || die "rm grown"
else
  echo "SKIP: --cpu growth needs 2 host CPUs" >&2
fi

# --- a cloud-image VM: overlay reflinked/copied, cidata regenerated.
truncate -s 1M "$T/img/CLOUDHV.fd"; qemu-img create -q -f qcow2 "$T/img/base.qcow2" 2G
run "$LAUNCH" create --name cvm --cpu 1 --base "$T/img/base.qcow2" --firmware "$T/img/CLOUDHV.fd" --nic "tap=tap0,netns=${NS}csrc"
[[ $rc == 0 ]] || die "create cvm"
run "$LAUNCH" start cvm; [[ $rc == 0 ]] || die "start cvm"
console "disk-marker set cd1" cvm >/dev/null
run "$SNAP" save cvm --name cs; [[ $rc == 0 ]] || die "save cvm"
"$SNAP" export cs -o - | "$CLONE" - --name cvm-c --nic "tap=tap0,netns=${NS}c2,mac=02:00:00:00:04:01" >"$T/cc.out" 2>"$T/cc.err"
out=$(<"$T/cc.out") err=$(<"$T/cc.err")
[[ $(field name) == cvm-c ]] || die "cloud-image stream clone"
cc=$(field id)
[[ $(console "disk-marker get" cvm-c) == cd1 && $(console "ip link" cvm-c) == "eth0: 02:00:00:00:04:01" ]] || die "cloud clone guest"
# The guest keeps the hostname it booted with (RAM); cidata is the clone's.
[[ $(console hostname cvm-c) == cvm ]] || die "cloud clone hostname"
md=$(mtype -i "$T/run/cloudhypervisor/$cc/cidata.img" ::meta-data)
[[ $md == *"instance-id: $cc"* && $md == *"local-hostname: cvm-c"* ]] || die "clone cidata: $md"
[[ $(mtype -i "$T/run/cloudhypervisor/$cc/cidata.img" ::network-config) == *02:00:00:00:04:01* ]] || die "clone cidata network-config"
[[ $(qemu-img info -U --output=json "$T/run/cloudhypervisor/$cc/overlay.qcow2") == *"\"backing-filename\": \"$T/img/base.qcow2\""* ]] || die "clone overlay's backing file"
run "$LAUNCH" rm --force cvm-c; [[ $rc == 0 ]] || die "rm cvm-c"
run "$CLONE" cs --name cvm-d --nic "tap=tap0,netns=${NS}c2"; [[ $rc == 0 ]] || die "cloud-image store clone"
[[ $(console "disk-marker get" cvm-d) == cd1 ]] || die "cloud store clone marker"
run "$LAUNCH" rm --force cvm-d; [[ $rc == 0 ]] || die "rm cvm-d"
# A snapshot taken after a restart has no cidata (first boot done): the
# clone's own is made and hot-added.
run "$LAUNCH" stop cvm; [[ $rc == 0 ]] || die "stop cvm"
run "$LAUNCH" start cvm; [[ $rc == 0 ]] || die "restart cvm"
console "" cvm >/dev/null
run "$SNAP" save cvm --name cs2; [[ $rc == 0 ]] || die "save cvm after a restart"
[[ $(grep -c cidata "$(field data_dir)/config.json") == 0 ]] || die "cs2 has cidata in its config.json"
run "$CLONE" cs2 --name cvm-e --nic "tap=tap0,netns=${NS}c2"; [[ $rc == 0 ]] || die "clone of cs2"
ce=$(field id)
[[ $(mtype -i "$T/run/cloudhypervisor/$ce/cidata.img" ::meta-data) == *"instance-id: $ce"* ]] || die "cs2 clone cidata"
disks=$(python3 - "$T/run/cloudhypervisor/$ce/api.sock" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"GET /api/v1/vm.info HTTP/1.1\r\nHost: localhost\r\n\r\n")
buf = b""
while True:
    head, sep, body = buf.partition(b"\r\n\r\n")
    if sep:
        n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
        if len(body) >= n: break
    buf += s.recv(65536)
print(" ".join(d["path"] for d in json.loads(body[:n])["config"]["disks"]))
PY
)
[[ $disks == *"$T/run/cloudhypervisor/$ce/cidata.img"* ]] || die "cidata not hot-added: $disks"
run "$LAUNCH" rm --force cvm-e; [[ $rc == 0 ]] || die "rm cvm-e"

# --- 16 clones of one snapshot at once, each on its own tap of one netns.
ip netns add "${NS}many" || die "netns many"
for i in $(seq 1 16); do ip -n "${NS}many" tuntap add "tap$i" mode tap || die "tap$i"; done
for i in $(seq 1 16); do
  "$CLONE" s1 --name "many-$i" --nic "tap=tap$i,netns=${NS}many" >"$T/many.$i" 2>&1 &
done
wait
ids=() macs=()
for i in $(seq 1 16); do
  out=$(<"$T/many.$i")
  [[ $(field state) == RUNNING ]] || die "clone many-$i"
  ids+=("$(field id)"); macs+=("$(field mac)")
done
(( $(printf '%s\n' "${ids[@]}" | sort -u | wc -l) == 16 )) || die "ids not unique"
(( $(printf '%s\n' "${macs[@]}" | sort -u | wc -l) == 16 )) || die "MACs not unique"
(( $(pgrep -fc -- "--api-socket $T/run") >= 16 )) || die "not all 16 clones run"
[[ $(console "mem-marker get" many-16) == m1 ]] || die "many-16 marker"
verify_dir "$s1dir"
for i in $(seq 1 16); do "$LAUNCH" rm --force "many-$i" >/dev/null || die "rm many-$i"; done

# --- faults: each a clean error, nothing left, source and snapshot intact.
before=$(world)
fault() {  # fault WHAT EXPECTED-ERROR CLONE-ARGS...
  local what=$1 want=$2; shift 2
  run "$@"
  [[ $rc == 1 && $err == *"$want"* ]] || die "$what: rc $rc"
  [[ $(world) == "$before" ]] || die "$what left things behind: $(world) vs $before"
}
fault "restore failing" "simulated failure (CHSIM_FAIL_RESTORE=1)" \
  env CHSIM_FAIL_RESTORE=1 "$CLONE" s1 --nic "tap=tap0,netns=${NS}c1"
fault "resume failing" "simulated failure (CHSIM_FAIL_RESUME=1)" \
  env CHSIM_FAIL_RESUME=1 "$CLONE" s1 --nic "tap=tap0,netns=${NS}c1"
# CH killed while it restores (a CH that was not there before the clone).
old_ch=" $(pgrep -f -- "--api-socket $T/run" | tr '\n' ' ') "
(CHSIM_RESTORE_DELAY_MS=3000 "$CLONE" s1 --nic "tap=tap0,netns=${NS}c1" >"$T/k.out" 2>"$T/k.err"; echo $? >"$T/k.rc") &
killed=0
for _ in $(seq 250); do
  for p in $(pgrep -f -- "--api-socket $T/run"); do
    [[ $old_ch == *" $p "* ]] && continue
    kill -9 "$p" && killed=1
  done
  ((killed)) && break
  sleep 0.02
done
wait
((killed)) || die "never saw the clone's CH to kill it"
out=$(<"$T/k.out") err=$(<"$T/k.err")
[[ $(<"$T/k.rc") == 1 ]] || die "CH killed during restore: rc $(<"$T/k.rc")"
[[ $(world) == "$before" ]] || die "CH killed during restore left things: $(world) vs $before"
# A short memory-ranges (CH v51 would spin forever): refused up front.
cp -a "$s1dir" "$T/s1.bak"
truncate -s 100M "$s1dir/memory-ranges"
fault "short memory-ranges" "memory-ranges" "$CLONE" s1 --nic "tap=tap0,netns=${NS}c1"
rm -rf "$s1dir" && mv "$T/s1.bak" "$s1dir"
# A config.json naming a host file (same length: its size still matches).
cp -a "$s1dir" "$T/s1.bak"
sed -i 's#"src":"/dev/urandom"#"src":"/etc//shadow"#' "$s1dir/config.json"
grep -q '/etc//shadow' "$s1dir/config.json" || die "could not plant the host path"
fault "config.json naming /etc/shadow" 'rng.src: "/etc//shadow"' "$CLONE" s1 --nic "tap=tap0,netns=${NS}c1"
rm -rf "$s1dir" && mv "$T/s1.bak" "$s1dir"
verify_dir "$s1dir"
# Restore failing: the VM is left stopped, on its previous disk.
run env CHSIM_FAIL_RESTORE=1 "$CLONE" --restore web s1
[[ $rc == 1 && $err == *"the VM is stopped, on its previous disk"* ]] || die "failed restore"
run "$INDEX" get web; [[ $(field state) == STOPPED ]] || die "VM after a failed restore: $(field state)"
run "$LAUNCH" start web; [[ $rc == 0 ]] || die "start after a failed restore"
console "" web >/dev/null  # the boot lines
[[ $(console "disk-marker get" web) == d2 ]] || die "previous disk not put back"
before=$(world)

# --- every hostile archive of the shared corpus is refused by ch-clone -.
n=0
for a in "$CORPUS"/hostile/*; do
  run "$CLONE" - --nic "tap=tap0,netns=${NS}c1" <"$a"
  [[ $rc == 1 ]] || die "hostile $(basename "$a"): rc $rc"
  [[ $(world) == "$before" ]] || die "hostile $(basename "$a") left things: $(world)"
  n=$((n + 1))
done
((n >= 30)) || die "only $n hostile archives"
echo "PASS: clone_test ($n hostile archives refused)"

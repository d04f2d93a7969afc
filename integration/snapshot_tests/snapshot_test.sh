#!/usr/bin/env bash
# ch-snapshot end to end on the real binaries against the simulator: save of
# a direct-boot and a cloud-image VM (running again afterwards, guest markers
# unchanged, files verified), ls/get/rm, export | import, bsdtar both ways,
# faults (CH killed mid-snapshot, resume failing, SIGINT in the pause window,
# a full disk) and 8 saves of one VM at once.
set -u
LAUNCH=$(realpath "$1") CONSOLE=$(realpath "$2") SIM=$(realpath "$3") INDEX=$(realpath "$4")
SNAP=$(realpath "$5")
export PATH=$PATH:/usr/sbin:/sbin
T=$(mktemp -d /tmp/chs.XXXXXX)  # short: socket paths
export CHTOOLS_ROOT_DIR=$T/root CHTOOLS_RUN_DIR=$T/run CHTOOLS_LOG_DIR=$T/log CHTOOLS_CH_BINARY=$SIM
unset CHTOOLS_CONFIG
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
  local f p
  for f in "$T"/run/cloudhypervisor/*/ch.pid; do
    [[ -f $f ]] || continue; p=$(<"$f"); kill -9 "$p" 2>/dev/null
  done
  mountpoint -q "$T/small" && umount "$T/small"
  rm -rf "$T"
}
trap cleanup EXIT
# console CMD VM: the guest's answer lines (prompt and CR stripped).
console() { printf '%s\n' "$1" | "$CONSOLE" --idle="${3:-1s}" "$2" | sed 's/\r$//; s/^root@[^#]*# //' | grep -v '^$'; }
# verify_dir DIR: every file of the manifest in DIR/snapshot.txtpb has its SHA-256.
verify_dir() {
  local dir=$1 name sha n=0
  while read -r name sha; do
    [[ $(sha256sum "$dir/$name" | cut -d' ' -f1) == "$sha" ]] || die "$dir/$name: SHA-256 differs from the manifest"
    n=$((n + 1))
  done < <(awk '/name:/{gsub(/"/,"",$2); n=$2} /sha256:/{gsub(/"/,"",$2); print n, $2}' "$dir/snapshot.txtpb")
  ((n >= 4)) || die "$dir: only $n files in the manifest"
}

mkdir -p "$T/img"
truncate -s 1M "$T/img/vmlinuz" "$T/img/initrd.img" "$T/img/layer0.erofs"
K=(--kernel "$T/img/vmlinuz" --initrd "$T/img/initrd.img" --layer "$T/img/layer0.erofs")

# --- save of a direct-boot VM: running again, markers unchanged, verified.
run "$LAUNCH" create --name web --cpu 1 --memory 512M "${K[@]}"; [[ $rc == 0 ]] || die "create web"
run "$LAUNCH" start web; [[ $rc == 0 ]] || die "start web"
console "mem-marker set m1" web >/dev/null; console "disk-marker set d1" web >/dev/null
console "mem-dirty 64" web 5s | grep -q "dirtied 64 MiB" || die "mem-dirty"
run "$SNAP" save web --name first --description "before the upgrade"
[[ $rc == 0 && $(field name) == first && $(field source_vm_name) == web ]] || die "save web"
snap=$(field id); data=$(field data_dir)
[[ $data == "$T/root/cloudhypervisor/snapshots/$snap" ]] || die "data_dir $data"
verify_dir "$data"
run "$INDEX" get web
[[ $(field state) == RUNNING && $out == *"snapshot_ids: \"$snap\""* ]] || die "VM after save"
[[ $(console "mem-marker get" web) == m1 && $(console "disk-marker get" web) == d1 ]] || die "markers after save"
# memory-ranges: CH writes it dense; the store holds it with holes.
mem=$data/memory-ranges
(( $(stat -c %s "$mem") == 512 << 20 )) || die "memory-ranges size"
(( $(stat -c %b "$mem") * 512 < 100 << 20 )) || die "memory-ranges not sparse: $(( $(stat -c %b "$mem") / 2048 )) MiB allocated"
[[ $(stat -c %a "$data") == 700 ]] || die "snapshot dir mode"

# ls, get, names.
run "$SNAP" ls --vm web; [[ $rc == 0 && $(grep -c '^snapshot {' <<<"$out") == 1 ]] || die "ls --vm"
run "$SNAP" get first; [[ $rc == 0 && $(field id) == "$snap" ]] || die "get by name"
run "$SNAP" get "${snap:0:5}"; [[ $rc == 0 && $(field id) == "$snap" ]] || die "get by prefix"
run "$SNAP" save web --name first; [[ $rc == 1 && $err == *'"first" is taken'* ]] || die "duplicate name"
run "$SNAP" save web --name "${snap:0:6}"; [[ $rc == 1 && $err == *"id prefix"* ]] || die "name = id prefix"
[[ $(console "mem-marker get" web) == m1 ]] || die "VM not resumed after a refused name"

# export | import into another root: identical SHA-256s; bsdtar reads it.
run "$SNAP" export first -o "$T/first.tar"; [[ $rc == 0 ]] || die "export"
(( $(stat -c %s "$T/first.tar") < 200 << 20 )) || die "archive not sparse: $(stat -c %s "$T/first.tar") bytes"
bsdtar -tvf "$T/first.tar" >"$T/list" || die "bsdtar -t"
[[ $(head -1 "$T/list") == *snapshot.txtpb* ]] || die "snapshot.txtpb is not first: $(head -1 "$T/list")"
mkdir "$T/x" && (cd "$T/x" && bsdtar -xSf "$T/first.tar") || die "bsdtar -x"
verify_dir "$T/x"
(( $(stat -c %b "$T/x/memory-ranges") * 512 < 100 << 20 )) || die "bsdtar -xS did not keep holes"
run env CHTOOLS_ROOT_DIR=$T/root2 "$SNAP" import "$T/first.tar"
[[ $rc == 0 && $(field id) == "$snap" ]] || die "import"
verify_dir "$T/root2/cloudhypervisor/snapshots/$snap"
# An archive made by bsdtar from those files imports too.
(cd "$T/x" && bsdtar --format=pax -cSf "$T/by-bsdtar.tar" snapshot.txtpb config.json state.json memory-ranges cow.raw) \
  || die "bsdtar -c"
run env CHTOOLS_ROOT_DIR=$T/root3 "$SNAP" import - <"$T/by-bsdtar.tar"
[[ $rc == 0 && $(field id) == "$snap" ]] || die "import of a bsdtar archive"
# save -o -: straight into a stream, nothing kept in the store.
run bash -c "'$SNAP' save web -o - | env CHTOOLS_ROOT_DIR=$T/root4 '$SNAP' import"
[[ $rc == 0 && -n $(field id) ]] || die "save -o - | import"
streamed=$(field id)
run "$SNAP" get "$streamed"; [[ $rc == 1 ]] || die "save -o - kept a copy in the store"

# rm: data, record and the VM's snapshot_ids entry.
run "$SNAP" rm first; [[ $rc == 0 && ! -e $data ]] || die "rm"
run "$INDEX" get web; [[ $out != *"snapshot_ids: \"$snap\""* ]] || die "snapshot_ids after rm"
run "$SNAP" get first; [[ $rc == 1 && $err == *'snapshot "first": not found'* ]] || die "get after rm"

# --- a cloud-image VM (overlay + cidata).
truncate -s 1M "$T/img/CLOUDHV.fd"; qemu-img create -q -f qcow2 "$T/img/base.qcow2" 2G
run "$LAUNCH" create --name cvm --cpu 1 --base "$T/img/base.qcow2" --firmware "$T/img/CLOUDHV.fd"
[[ $rc == 0 ]] || die "create cvm"
run "$LAUNCH" start cvm; [[ $rc == 0 ]] || die "start cvm"
run "$SNAP" save cvm; [[ $rc == 0 ]] || die "save cvm"
verify_dir "$(field data_dir)"
[[ -e $(field data_dir)/overlay.qcow2 ]] || die "no overlay in the cloud-image snapshot"

# --- faults. Each ends with the VM running (or ERROR, said), no snapshot
# listed, nothing left in the store but what ch-gc removes.
listed() { "$SNAP" ls | grep -c '^snapshot {'; }
before=$(listed)
"$LAUNCH" stop web >/dev/null || die "stop web"
# CH killed mid-snapshot.
CHSIM_CRASH_IN_SNAPSHOT=1 "$LAUNCH" start web >/dev/null || die "start crashing"
run "$SNAP" save web; [[ $rc == 1 && -z $out ]] || die "save with CH dying"
(( $(listed) == before )) || die "a snapshot was listed after CH died"
[[ -z $(ls -A "$T/root/cloudhypervisor/snapshots" | grep -v '^\.lock$' | grep -v "^[0-9a-f]\{16\}$") ]] \
  || die "temp dirs left: $(ls -A "$T/root/cloudhypervisor/snapshots")"
"$LAUNCH" rm --force web >/dev/null 2>&1
run "$LAUNCH" create --name web --cpu 1 --memory 512M "${K[@]}"; [[ $rc == 0 ]] || die "re-create web"
# resume failing: the snapshot is kept, the VM is ERROR with CH's message.
CHSIM_FAIL_RESUME=1 "$LAUNCH" start web >/dev/null || die "start failing resume"
run "$SNAP" save web
[[ $rc == 1 && $err == *"could not be resumed"* ]] || die "save with resume failing"
(( $(listed) == before + 1 )) || die "the snapshot of a VM that failed to resume was not kept"
run "$INDEX" get web
[[ $(field state) == ERROR && $out == *'error: "snapshot: vm.resume failed'* ]] || die "VM after a failed resume"
"$LAUNCH" stop web >/dev/null 2>&1
# SIGINT during a slow vm.snapshot: resumed, no snapshot, exit 130.
CHSIM_SNAPSHOT_DELAY_MS=1500 "$LAUNCH" start web >/dev/null || die "start slow"
n=$(listed)
"$SNAP" save web >/dev/null 2>"$T/int.err" &
spid=$!
sleep 0.5
kill -INT "$spid"
wait "$spid"; rc=$?
[[ $rc == 130 ]] || die "save after SIGINT: rc=$rc $(<"$T/int.err")"
(( $(listed) == n )) || die "a snapshot was published after SIGINT"
run "$INDEX" get web; [[ $(field state) == RUNNING ]] || die "VM not running after an interrupted save"
[[ $(console "mem-marker get" web) == "" ]] || true
# A full store: a small tmpfs as the root.
mkdir -p "$T/small"
mount -t tmpfs -o size=64m tmpfs "$T/small" || die "mount tmpfs"
cp -a "$T/root/." "$T/small/" || die "copy root"
n=$(CHTOOLS_ROOT_DIR=$T/small "$SNAP" ls | grep -c '^snapshot {')
CHTOOLS_ROOT_DIR=$T/small run "$SNAP" save web
[[ $rc == 1 && $err == *"No space left"* ]] || die "save into a full store"
(( $(CHTOOLS_ROOT_DIR=$T/small "$SNAP" ls | grep -c '^snapshot {') == n )) || die "a snapshot listed after ENOSPC"
[[ -z $(ls -A "$T/small/cloudhypervisor/snapshots" | grep '^\.tmp-') ]] || die "temp dir left after ENOSPC"
run "$INDEX" get web; [[ $(field state) == RUNNING ]] || die "VM not running after ENOSPC"
umount "$T/small"

# --- 8 saves of one VM at once: all succeed (one pause window at a time).
"$LAUNCH" stop web >/dev/null && "$LAUNCH" start web >/dev/null || die "restart web"
n=$(listed)
for i in $(seq 8); do "$SNAP" save web >"$T/c$i.out" 2>"$T/c$i.err" & done
fails=0; for j in $(jobs -p); do wait "$j" || fails=$((fails + 1)); done
((fails == 0)) || die "$fails of 8 concurrent saves failed: $(cat "$T"/c*.err)"
(( $(listed) == n + 8 )) || die "8 concurrent saves made $(( $(listed) - n )) snapshots"
for i in $(seq 8); do verify_dir "$(sed -n 's/^ *data_dir: "\(.*\)"$/\1/p' "$T/c$i.out")"; done
run "$INDEX" get web; [[ $(field state) == RUNNING ]] || die "VM after concurrent saves"
echo PASS

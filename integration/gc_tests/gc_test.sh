#!/usr/bin/env bash
# ch-gc end to end on the real binaries against the simulator. Makes orphans
# of every kind for real (a create killed with -9 mid-way, a VM whose record
# file was deleted under its running CH, a CH killed with -9, planted dirs,
# snapshot temp and removal leftovers aged with touch -d, a snapshot without
# its record or its data), then checks that --dry-run lists them and changes
# nothing, that gc removes exactly them (and kills the left-behind CH), and
# that a running VM, a VM whose operation lock is held (flock from the shell),
# young leftovers and published snapshots stay; pins; usage errors; fail
# closed on an unreadable record.
set -u
LAUNCH=$(realpath "$1") SIM=$(realpath "$2") INDEX=$(realpath "$3")
SNAP=$(realpath "$4") GC=$(realpath "$5")
export PATH=$PATH:/usr/sbin:/sbin
T=$(mktemp -d /tmp/chg.XXXXXX)  # short: socket paths
export CHTOOLS_ROOT_DIR=$T/root CHTOOLS_RUN_DIR=$T/run CHTOOLS_LOG_DIR=$T/log CHTOOLS_CH_BINARY=$SIM
unset CHTOOLS_CONFIG
RUNP=$T/run/cloudhypervisor LOGP=$T/log/cloudhypervisor DB=$T/root/cloudhypervisor/db
STORE=$T/root/cloudhypervisor/snapshots OPLOCKS=$T/root/cloudhypervisor/oplocks
out="" err="" rc=0
die() {
  echo "FAIL: $*" >&2
  echo "--- stdout:" >&2; echo "$out" >&2
  echo "--- stderr:" >&2; echo "$err" >&2
  exit 1
}
run() { local ef=$T/.err; out=$("$@" 2>"$ef"); rc=$?; err=$(<"$ef"); }
field() { sed -n "s/^ *$1: \"\{0,1\}\([^\"]*\)\"\{0,1\}$/\1/p" <<<"$out" | head -1; }
PIDS=()  # processes this test started and must end (by pid)
cleanup() {
  local f p
  for f in "$RUNP"/*/ch.pid; do
    [[ -f $f ]] || continue; p=$(<"$f")
    [[ $(readlink "/proc/$p/exe" 2>/dev/null) == "$SIM" ]] && kill -9 "$p" 2>/dev/null
  done
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
# tree: every path under the root, run and log dirs with its type (the
# state a dry run must not change).
tree() { find "$T/root" "$T/run" "$T/log" -printf '%p %y\n' | sort; }
# finding KIND: the paths of the findings of KIND in $out.
finding_paths() {
  awk -v k="$1" '/^finding \{/{kind=""; path=""} /^ *kind:/{gsub(/"/,"",$2); kind=$2}
    /^ *path:/{gsub(/"/,"",$2); path=$2} /^\}/{if (kind==k) print path}' <<<"$out"
}
alive() { kill -0 "$1" 2>/dev/null && [[ $(awk '{print $3}' "/proc/$1/stat") != Z ]]; }

mkdir -p "$T/img" "$T/fakebin"
truncate -s 1M "$T/img/vmlinuz" "$T/img/initrd.img" "$T/img/deadbeef.erofs" "$T/img/cafe01.erofs"
K=(--kernel "$T/img/vmlinuz" --initrd "$T/img/initrd.img")

# --- what must stay: a running VM, with a published snapshot.
run "$LAUNCH" create --name keep --cpu 1 --memory 512M "${K[@]}" --layer "$T/img/deadbeef.erofs"
[[ $rc == 0 ]] || die "create keep"
keep=$(field id)
run "$LAUNCH" start keep; [[ $rc == 0 ]] || die "start keep"
keep_pid=$(field pid)
run "$SNAP" save keep --name snap1; [[ $rc == 0 ]] || die "save keep"
snap=$(field id)

# --- a VM whose CH was killed with -9: its api.sock and ch.pid are stale.
run "$LAUNCH" create --name crashed --cpu 1 --memory 512M "${K[@]}"; [[ $rc == 0 ]] || die "create crashed"
crashed=$(field id)
run "$LAUNCH" start crashed; [[ $rc == 0 ]] || die "start crashed"
kill -9 "$(field pid)"
for _ in $(seq 100); do alive "$(field pid)" || break; sleep 0.05; done
[[ -S $RUNP/$crashed/api.sock && -f $RUNP/$crashed/ch.pid ]] || die "no stale files after kill -9"

# --- a VM whose record file was deleted under its running CH: a left-behind
# CH, orphan run and log dirs and a dangling name.
run "$LAUNCH" create --name gone --cpu 1 --memory 512M "${K[@]}"; [[ $rc == 0 ]] || die "create gone"
gone=$(field id)
run "$LAUNCH" start gone; [[ $rc == 0 ]] || die "start gone"
gone_pid=$(field pid)
rm "$DB/vms/$gone.pb"

# --- a create killed with -9 mid-way (while it makes the disk): a CREATING
# placeholder, young, with its dirs.
cat >"$T/fakebin/mkfs.ext4" <<EOS
#!/bin/sh
echo \$\$ >"$T/mkfs.pid"
exec sleep 600
EOS
chmod +x "$T/fakebin/mkfs.ext4"
PATH=$T/fakebin:$PATH "$LAUNCH" create --name half --cpu 1 --memory 512M "${K[@]}" \
  --layer "$T/img/cafe01.erofs" >/dev/null 2>&1 &
create_pid=$!
PIDS+=("$create_pid")
for _ in $(seq 600); do [[ -s $T/mkfs.pid ]] && break; sleep 0.05; done
[[ -s $T/mkfs.pid ]] || die "the create never reached mkfs"
kill -9 "$create_pid"; wait "$create_pid" 2>/dev/null
kill -9 "$(<"$T/mkfs.pid")"
run "$INDEX" get half; [[ $rc == 0 && $(field state) == CREATING ]] || die "no CREATING placeholder"
half=$(field id)
[[ -d $RUNP/$half && -d $LOGP/$half ]] || die "the killed create left no dirs"

# --- planted orphan dirs; one of them held by an operation (flock on its
# operation lock, as a create or clone in flight holds it).
orphan=0123456789abcdef busy=fedcba9876543210
mkdir -p "$RUNP/$orphan" "$LOGP/$orphan" "$RUNP/$busy" "$LOGP/$busy" "$RUNP/not-an-id"
echo data >"$RUNP/$orphan/cow.raw"; echo data >"$RUNP/$busy/cow.raw"
# One process that holds the lock itself (flock(1) with a command would leave
# the lock with the command's child).
(exec 9>"$OPLOCKS/$busy" && flock 9 && exec sleep 600) &
flock_pid=$!
PIDS+=("$flock_pid")
for _ in $(seq 100); do [[ -e $OPLOCKS/$busy ]] && ! flock -n "$OPLOCKS/$busy" true && break; sleep 0.05; done

# --- snapshot leftovers: old and young temp dirs, an old removal leftover,
# a published dir without its record, a snapshot whose data is gone.
t_old=1111111111111111 t_young=2222222222222222 r_old=3333333333333333
norec=4444444444444444 nodata=5555555555555555
mkdir "$STORE/.tmp-$t_old" "$STORE/.tmp-$t_young" "$STORE/.rm-$r_old" "$STORE/$norec"
echo x >"$STORE/.tmp-$t_old/memory-ranges"; echo x >"$STORE/.tmp-$t_young/memory-ranges"
echo x >"$STORE/.rm-$r_old/memory-ranges"; echo '{}' >"$STORE/$norec/state.json"
touch -d '2 days ago' "$STORE/.tmp-$t_old" "$STORE/.tmp-$t_old/memory-ranges" \
  "$STORE/.rm-$r_old" "$STORE/.rm-$r_old/memory-ranges"
cp -a "$STORE/$snap" "$STORE/$nodata"
sed -i "s/$snap/$nodata/g; s/name: \"snap1\"/name: \"snap2\"/" "$STORE/$nodata/snapshot.txtpb"
rm "$STORE/$nodata/memory-ranges"
run "$SNAP" get snap2; [[ $rc == 0 ]] || die "the crafted snapshot is not readable"

# --- usage errors: exit 2, nothing on stdout.
for args in "pins --dry-run" "pins --grace=1h" "bogus" "--grace=soon" "--grace=-1h" "pins extra" "--format=xml"; do
  run "$GC" $args
  [[ $rc == 2 && -z $out && -n $err ]] || die "ch-gc $args: expected a usage error"
done
run "$GC" --help; [[ $rc == 0 && $out$err == *"Examples:"* ]] || die "--help"

# --- dry run: lists every orphan, changes nothing.
before=$(tree)
run "$GC" --dry-run
[[ $rc == 0 ]] || die "dry run failed"
after=$(tree)
[[ $before == "$after" ]] || die "dry run changed: $(diff <(echo "$before") <(echo "$after"))"
[[ $out != *"repaired: true"* ]] || die "dry run claims removals"
expect() {  # KIND PATH: the plan in $out lists PATH as KIND
  finding_paths "$1" | grep -qxF -- "$2" || die "no $1 finding for $2"
}
expect_plan() {
  expect orphan-ch "$RUNP/$gone/api.sock"
  expect orphan-run-dir "$RUNP/$gone"
  expect orphan-log-dir "$LOGP/$gone"
  expect dangling-name "$DB/names/gone"
  expect stale-socket "$RUNP/$crashed/api.sock"
  expect stale-pid-file "$RUNP/$crashed/ch.pid"
  expect orphan-run-dir "$RUNP/$orphan"
  expect orphan-log-dir "$LOGP/$orphan"
  expect snapshot-temp "$STORE/.tmp-$t_old"
  expect snapshot-rm-leftover "$STORE/.rm-$r_old"
  expect orphan-snapshot-dir "$STORE/$norec"
  expect snapshot-data-gone "$STORE/$nodata"
  local n; n=$(grep -c '^finding {' <<<"$out")
  [[ $n == 12 ]] || die "expected 12 findings, got $n"
}
expect_plan
[[ $err == *"$busy"*"skipped"* ]] || die "the locked VM is not reported as skipped"
alive "$gone_pid" || die "dry run killed the left-behind CH"

# --- gc: removes exactly the plan.
run "$GC"
[[ $rc == 0 ]] || die "gc failed"
expect_plan
[[ $(grep -c 'repaired: true' <<<"$out") == 12 ]] || die "not every finding was removed"
[[ $err == *"$busy"*"skipped"* ]] || die "the locked VM is not reported as skipped"
after=$(tree)
# Every path that went is a finding's path or under one (or the lock of a
# VM gc took); nothing appeared but operation lock files and the store lock.
mapfile -t planned < <(awk '/^ *path:/{gsub(/"/,"",$2); print $2}' <<<"$out")
while read -r path type; do
  ok=0
  for p in "${planned[@]}"; do [[ $path == "$p" || $path == "$p"/* ]] && ok=1; done
  ((ok)) || die "gc removed $path, which no finding lists"
done < <(comm -23 <(echo "$before") <(echo "$after"))
while read -r path type; do
  [[ $path == "$OPLOCKS"/* || $path == "$STORE/.lock" ]] || die "gc made $path"
done < <(comm -13 <(echo "$before") <(echo "$after"))
for p in "${planned[@]}"; do [[ ! -e $p && ! -L $p ]] || die "$p is still there"; done
for _ in $(seq 100); do alive "$gone_pid" || break; sleep 0.05; done
! alive "$gone_pid" || die "the left-behind CH (pid $gone_pid) is still alive"
# What stays.
alive "$keep_pid" || die "gc killed the running VM"
run "$INDEX" get keep; [[ $rc == 0 && $(field state) == RUNNING ]] || die "keep's record"
[[ -S $RUNP/$keep/api.sock && -f $RUNP/$keep/ch.pid && -f $RUNP/$keep/cow.raw ]] || die "keep's run files"
run "$SNAP" get snap1; [[ $rc == 0 && $(field id) == "$snap" ]] || die "the published snapshot went"
[[ -f $STORE/$snap/memory-ranges ]] || die "the published snapshot lost its data"
run "$INDEX" get half; [[ $rc == 0 && $(field state) == CREATING ]] || die "a young placeholder went"
[[ -d $RUNP/$half && -d $STORE/.tmp-$t_young && -d $RUNP/$busy && -d $LOGP/$busy && -d $RUNP/not-an-id ]] ||
  die "something young, locked or not ours went"
run "$INDEX" get crashed; [[ $rc == 0 && -f $RUNP/$crashed/cow.raw ]] || die "crashed's record or disk went"
run "$LAUNCH" start crashed; [[ $rc == 0 ]] || die "start after gc"
run "$LAUNCH" stop crashed; [[ $rc == 0 ]] || die "stop after gc"

# --- a second gc finds nothing; with --grace=0s the young leftovers go.
run "$GC"; [[ $rc == 0 && -z $out ]] || die "second gc found something"
run "$GC" --grace=0s
[[ $rc == 0 ]] || die "gc --grace=0s"
expect stale-creating "$RUNP/$half"
expect snapshot-temp "$STORE/.tmp-$t_young"
[[ $(grep -c '^finding {' <<<"$out") == 2 ]] || die "expected 2 findings with --grace=0s"
run "$INDEX" get half; [[ $rc == 1 ]] || die "the stale placeholder's record stayed"
[[ ! -e $RUNP/$half && ! -e $LOGP/$half && ! -e $DB/names/half && ! -e $STORE/.tmp-$t_young ]] ||
  die "the stale placeholder's files stayed"

# --- the lock released: the orphan goes.
kill "$flock_pid"; wait "$flock_pid" 2>/dev/null
run "$GC"; [[ $rc == 0 ]] || die "gc after the lock was released"
expect orphan-run-dir "$RUNP/$busy"
[[ ! -e $RUNP/$busy && ! -e $LOGP/$busy ]] || die "the released orphan stayed"

# --- pins: keep's layer and its snapshot; a CREATING placeholder's too.
run "$GC" pins; [[ $rc == 0 && $out == deadbeef ]] || die "pins: $out"
rm -f "$T/mkfs.pid"
PATH=$T/fakebin:$PATH "$LAUNCH" create --name half2 --cpu 1 --memory 512M "${K[@]}" \
  --layer "$T/img/cafe01.erofs" >/dev/null 2>&1 &
create_pid=$!
PIDS+=("$create_pid")
for _ in $(seq 600); do [[ -s $T/mkfs.pid ]] && break; sleep 0.05; done
run "$GC" pins; [[ $rc == 0 && $out == $'cafe01\ndeadbeef' ]] || die "pins with a CREATING placeholder: $out"
run "$GC" pins --format=textproto
[[ $rc == 0 && $(grep -c 'kind: "pin"' <<<"$out") == 2 && $out == *'blob_id: "cafe01"'* ]] || die "pins --format"
kill -9 "$create_pid"; wait "$create_pid" 2>/dev/null
kill -9 "$(<"$T/mkfs.pid")"

# --- fail closed: an unreadable record means nothing is removed, exit 1.
mkdir -p "$RUNP/$orphan"
echo garbage >"$DB/vms/abababababababab.pb"
run "$GC"
[[ $rc == 1 && -z $out && $err == *abababababababab.pb* && $err == *"nothing removed"* ]] || die "gc with a bad record"
[[ -d $RUNP/$orphan ]] || die "gc removed something despite the bad record"
run "$GC" pins; [[ $rc == 1 && -z $out ]] || die "pins with a bad record"
echo PASS

#!/usr/bin/env bash
# ch-gc's whole-process seccomp policy through the real binary: once the
# index and store are open it runs with Seccomp: 2 (filter mode), and still
# plans and collects; --no-seccomp / CHTOOLS_NO_SECCOMP=1 leave it at 0.
set -u
GC=$(realpath "$1")
T=$(mktemp -d /tmp/chgs.XXXXXX)
export CHTOOLS_ROOT_DIR=$T/root CHTOOLS_RUN_DIR=$T/run CHTOOLS_LOG_DIR=$T/log
unset CHTOOLS_CONFIG
RUNP=$T/run/cloudhypervisor
out="" err="" rc=0
PIDS=()
die() {
  echo "FAIL: $*" >&2
  echo "--- stdout:" >&2; echo "$out" >&2
  echo "--- stderr:" >&2; echo "$err" >&2
  exit 1
}
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
run() { local ef=$T/.err; out=$("$@" 2>"$ef"); rc=$?; err=$(<"$ef"); }
seccomp_mode() { sed -n 's/^Seccomp:[[:space:]]*//p' "/proc/$1/status"; }
mkdir -p "$T/root" "$RUNP"
# Enough orphan run dirs that the plan (written once at the end) fills a
# pipe nobody reads: ch-gc then waits in write(), confined, for us to look.
for i in $(seq 1000 1999); do mkdir "$RUNP/$(printf '%016x' "$i")"; done

# mode_while_blocked ARGS...: ch-gc's Seccomp field while it waits to write.
mode_while_blocked() {
  mkfifo "$T/out"
  exec 4<>"$T/out"  # held open, never read: the pipe fills up
  "$GC" --dry-run --format=textproto "$@" >"$T/out" 2>"$T/err" &
  local pid=$! i mode=""
  PIDS+=("$pid")
  for i in $(seq 100); do
    # Blocked in write once its state is S and stdout is full.
    if [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == S ]] &&
       grep -q pipe_write "/proc/$pid/wchan" 2>/dev/null; then break; fi
    sleep 0.1
  done
  mode=$(seccomp_mode "$pid")
  kill -9 "$pid"; wait "$pid" 2>/dev/null
  exec 4>&-
  rm -f "$T/out"
  echo "$mode"
}

m=$(mode_while_blocked)
[[ $m == 2 ]] || die "ch-gc Seccomp: '$m' (want 2: filter)"
m=$(mode_while_blocked --no-seccomp)
[[ $m == 0 ]] || die "ch-gc --no-seccomp Seccomp: '$m'"
m=$(CHTOOLS_NO_SECCOMP=1 mode_while_blocked)
[[ $m == 0 ]] || die "CHTOOLS_NO_SECCOMP=1 Seccomp: '$m'"

# Confined, it still does its work: every orphan dir is planned and removed.
run "$GC" --dry-run --format=textproto
[[ $rc == 0 && $(grep -c 'kind: "orphan-run-dir"' <<<"$out") == 1000 ]] || die "dry run"
run "$GC" --grace=0s --format=textproto
[[ $rc == 0 && $(grep -c 'repaired: true' <<<"$out") == 1000 && -z $(ls -A "$RUNP") ]] || die "gc"
run "$GC" pins
[[ $rc == 0 && -z $out ]] || die "pins"
run "$GC" --help
[[ $out$err == *"Seccomp: once the index and the snapshot store are open"* ]] || die "--help"
echo PASS

#!/usr/bin/env bash
# lib/vm end to end through the real binaries: first use of a fresh host, the
# boot window (CH serves before it boots), CH run through wrappers and
# renamed binaries (process identity), an interrupted create rolls back, a
# check beside a create reports nothing, and start racing rm --force leaves
# no CH without a record.
source "$(dirname "$0")/lib.sh"
INDEX=$(realpath "$4")
make_direct_files
K=(--kernel "$T/img/vmlinuz" --initrd "$T/img/initrd.img" --layer "$T/img/layer0.erofs")
nothing_left() {
  [[ -z $(ls -A "$CHTOOLS_RUN_DIR/cloudhypervisor" 2>/dev/null) ]] || die "run dir left: $(ls "$CHTOOLS_RUN_DIR/cloudhypervisor")"
  [[ -z $(ls -A "$CHTOOLS_LOG_DIR/cloudhypervisor" 2>/dev/null) ]] || die "log dir left"
  [[ -z $(ls -A "$CHTOOLS_ROOT_DIR/cloudhypervisor/db/vms" 2>/dev/null) ]] || die "record left"
  [[ -z $(ls -A "$CHTOOLS_ROOT_DIR/cloudhypervisor/db/names" 2>/dev/null) ]] || die "name left"
}
# ch_procs: live processes whose argv names a socket under this test's run dir.
ch_procs() { pgrep -f -- "$T/run/cloudhypervisor/" || true; }
# ch_procs, once a CH just stopped has had a moment: its SIGWINCH helper (same
# cmdline, docs/ch-v51.md §1.5) dies by PR_SET_PDEATHSIG after its parent,
# which a loaded machine can delay by a few ms.
ch_procs_settled() {
  local p
  for _ in $(seq 100); do p=$(ch_procs); [[ -z $p ]] && return; sleep 0.02; done
  echo "$p"
}

# --- A fresh host: nothing exists yet; the first commands make the root, run
# and log dirs, owner-only.
(
  export CHTOOLS_ROOT_DIR=$T/fresh/root CHTOOLS_RUN_DIR=$T/fresh/run CHTOOLS_LOG_DIR=$T/fresh/log
  run "$INDEX" ls
  [[ $rc == 0 && -z $err ]] || die "ls on a fresh host"
  run "$LAUNCH" create --name f --cpu 1 "${K[@]}"
  [[ $rc == 0 ]] || die "create on a fresh host"
  for d in "$T/fresh/root" "$T/fresh/run/cloudhypervisor" "$T/fresh/log/cloudhypervisor" \
           "$(field run_dir)" "$(field log_dir)"; do
    [[ $(stat -c %a "$d") == 700 ]] || die "$d has mode $(stat -c %a "$d"), not 700"
  done
  run "$LAUNCH" rm f
  [[ $rc == 0 ]] || die "rm on the fresh host"
) || exit 1

# --- The boot window: CH answers "VM is not created", then "Created", for a
# while before Running; start waits it out instead of failing the VM.
run "$LAUNCH" create --name slow --cpu 1 "${K[@]}"
[[ $rc == 0 ]] || die "create slow"
t0=$(date +%s%N)
CHSIM_BOOT_DELAY_MS=300 run "$LAUNCH" start slow
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[[ $rc == 0 && $(field state) == RUNNING ]] || die "start across the boot window"
(( ms >= 600 )) || die "start returned after ${ms} ms, before the VM could be running"
run "$LAUNCH" rm --force slow
[[ $rc == 0 ]] || die "rm slow"
nothing_left

# --- Identity: CH run through a shell wrapper (exec), a Python wrapper that
# runs it as a child, and a binary renamed after the VM started. Each VM is
# seen running by vm-index, protected from vm-index rm, and stopped by stop.
mkdir -p "$T/bin"
printf '#!/bin/sh\nexec "%s" "$@"\n' "$SIM" >"$T/bin/ch-shell-wrapper"
printf '#!/usr/bin/python3\nimport subprocess, sys\nsys.exit(subprocess.call(["%s"] + sys.argv[1:]))\n' \
  "$SIM" >"$T/bin/ch-python-wrapper"
cp "$SIM" "$T/bin/.cloud-hypervisor-wrapped"
chmod +x "$T/bin/"*
for ch in ch-shell-wrapper ch-python-wrapper .cloud-hypervisor-wrapped; do
  name=w${#ch}
  CHTOOLS_CH_BINARY=$T/bin/$ch run "$LAUNCH" create --name "$name" --cpu 1 "${K[@]}"
  [[ $rc == 0 ]] || die "create via $ch"
  CHTOOLS_CH_BINARY=$T/bin/$ch run "$LAUNCH" start "$name"
  [[ $rc == 0 && $(field state) == RUNNING ]] || die "start via $ch"
  pid=$(field pid)
  # Later commands run with the settings' binary, which is not what runs.
  run "$INDEX" ls --state=running --format=textproto
  [[ $rc == 0 && $out == *"name: \"$name\""* ]] || die "vm-index does not see the $ch CH running"
  run "$INDEX" rm "$name"
  [[ $rc == 1 && $err == *"refusing to remove: Cloud Hypervisor is running"* ]] \
    || die "vm-index rm removed the record of a running $ch CH"
  run "$LAUNCH" start "$name"
  [[ $rc == 0 && $(field pid) == "$pid" ]] || die "second start via $ch did not find the running CH"
  run "$LAUNCH" stop "$name"
  [[ $rc == 0 && $(field state) == STOPPED ]] || die "stop via $ch"
  [[ -z $(ch_procs) ]] || die "a CH is still running after stop via $ch: $(ch_procs)"
  run "$LAUNCH" rm "$name"
  [[ $rc == 0 ]] || die "rm via $ch"
done
nothing_left

# --- An interrupted create rolls back. mkfs.ext4 is slowed down by a shim
# first in PATH (the tools look there first).
mkdir -p "$T/slowbin"
printf '#!/bin/sh\nsleep 1\nexec /sbin/mkfs.ext4 "$@"\n' >"$T/slowbin/mkfs.ext4"
chmod +x "$T/slowbin/mkfs.ext4"
# SIGTERM to ch-launch alone: mkfs finishes, then everything is undone.
PATH=$T/slowbin:$PATH "$LAUNCH" create --name int1 --cpu 1 "${K[@]}" >"$T/int.out" 2>"$T/int.err" &
cpid=$!
for _ in $(seq 200); do [[ -n $(ls -A "$T/run/cloudhypervisor" 2>/dev/null) ]] && break; sleep 0.01; done
# Meanwhile a check reports nothing about the VM being made (its lock is held).
run "$INDEX" fsck
[[ $rc == 0 && $out != *orphan* ]] || die "fsck beside a create reported it: $out"
kill -TERM "$cpid"
wait "$cpid"; rc=$?
out=$(<"$T/int.out") err=$(<"$T/int.err")
[[ $rc == 143 && -z $out && $err == *'vm "int1": create: create: interrupted by SIGTERM, rolled back'* ]] \
  || die "create after SIGTERM: rc=$rc"
nothing_left
# Ctrl-C: the whole process group (mkfs included) gets SIGINT.
setsid bash -c 'PATH=$1:$PATH exec "$2" create --name int2 --cpu 1 "${@:3}"' _ \
  "$T/slowbin" "$LAUNCH" "${K[@]}" >"$T/int.out" 2>"$T/int.err" &
cpid=$!
for _ in $(seq 200); do [[ -n $(ls -A "$T/run/cloudhypervisor" 2>/dev/null) ]] && break; sleep 0.01; done
sleep 0.2
kill -INT -- "-$cpid"
wait "$cpid"; rc=$?
out=$(<"$T/int.out") err=$(<"$T/int.err")
[[ $rc == 130 && -z $out && $err == *'vm "int2": create: '* ]] || die "create after Ctrl-C: rc=$rc"
nothing_left

# --- start racing rm: the operation lock orders them. Against ch-launch rm
# --force every round ends with neither a record nor a CH; against vm-index rm
# (which refuses a running VM) with both or neither, never a CH without a
# record, whichever ran first.
rounds=${RACE_ROUNDS:-200}
both=0
for ((i = 0; i < rounds; i++)); do
  run "$LAUNCH" create --name race --cpu 1 "${K[@]}"
  [[ $rc == 0 ]] || die "race round $i: create"
  "$LAUNCH" start race >/dev/null 2>&1 &
  s=$!
  if ((i % 2 == 0)); then
    "$LAUNCH" rm --force race >/dev/null 2>"$T/rm.err" &
  else
    "$INDEX" rm race >/dev/null 2>"$T/rm.err" &
  fi
  r=$!
  wait "$s"
  rm_rc=0; wait "$r" || rm_rc=$?
  if ((i % 2 == 0)); then
    ((rm_rc == 0)) || die "race round $i: rm --force failed: $(<"$T/rm.err")"
  fi
  procs=$(ch_procs_settled)
  if [[ -n $(ls -A "$T/root/cloudhypervisor/db/vms" 2>/dev/null) ]]; then
    ((++both))
    run "$LAUNCH" rm --force race
    [[ $rc == 0 ]] || die "race round $i: clean-up rm --force"
  elif [[ -n $procs ]]; then
    die "race round $i: a CH without a record: $procs"
  else
    # vm-index rm removes the record only; its dirs are ch-gc's to remove.
    rm -rf "$T/run/cloudhypervisor/"* "$T/log/cloudhypervisor/"*
  fi
  [[ -z $(ch_procs_settled) ]] || die "race round $i: a CH left after rm --force: $(ch_procs)"
  nothing_left
done
echo "race: $rounds rounds ($both where vm-index rm refused a running VM), 0 CH processes without a record"
echo PASS

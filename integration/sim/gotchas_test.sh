#!/usr/bin/env bash
# The CH v51 oddities the simulator reproduces (README "Gotchas"), each
# checked through the real binary, plus the CHSIM_* fault knobs.
set -u
sim=$(realpath "$1")
client=$(realpath "$2")
source "$(dirname "$0")/sim_testlib.sh"
touch "$t/k"

# --- vm.create makes consoles at once; console=Socket fails but the config stays.
"$sim" --api-socket "$t/a.sock" 2>/dev/null & pid=$!; pids+=($pid)
wait_sock "$t/a.sock"
out=$(api "$t/a.sock" PUT vm.create '{"payload":{"kernel":"'"$t/k"'"},"console":{"mode":"Socket","socket":"'"$t/c.sock"'"}}')
[[ $out == '500 ["Error from API","The VM could not be created","Error creating console devices","No socket option support for console device"]' ]] \
  || die "console socket: $out"
[[ $(api "$t/a.sock" GET vm.info | cut -c5- | json 'd["state"]') == Created ]] || die "config not kept"
[[ $(api "$t/a.sock" PUT vm.create '{}') == *'"VM is already created"]' ]] || die "create again"
[[ $(api "$t/a.sock" PUT vm.delete) == '204 ' ]] || die "delete"
# PTY path is known right after create (before boot); device_tree is null.
out=$(api "$t/a.sock" PUT vm.create '{"payload":{"kernel":"'"$t/k"'","cmdline":"cocoon.hostname=h1"},"console":{"mode":"Pty"},"serial":{"mode":"Off"}}')
[[ $out == '204 ' ]] || die "create: $out"
info=$(api "$t/a.sock" GET vm.info | cut -c5-)
pty1=$(echo "$info" | json 'd["config"]["console"]["file"]')
[[ $pty1 == /dev/pts/* && $(echo "$info" | json 'd["device_tree"]') == None ]] || die "pre-boot info: $info"
# A PTY console forks CH's SIGWINCH helper: same cmdline, dies with CH.
helper=$(pgrep -P $pid)
[[ -n $helper && $(tr '\0' ' ' </proc/$helper/cmdline) == "$(tr '\0' ' ' </proc/$pid/cmdline)" ]] \
  || die "no SIGWINCH helper with the same cmdline"
# vm.boot, then vm.reboot: a new PTY; vm.boot on Paused acts as resume.
[[ $(api "$t/a.sock" PUT vm.boot) == '204 ' ]] || die "boot"
[[ $(api "$t/a.sock" PUT vm.boot) == '500 ["Error from API","The VM could not boot","invalid VM state transition: Running to Running"]' ]] \
  || die "boot twice"
[[ $(api "$t/a.sock" PUT vm.reboot) == '204 ' ]] || die "reboot"
pty2=$(api "$t/a.sock" GET vm.info | cut -c5- | json 'd["config"]["console"]["file"]')
[[ $pty2 != "$pty1" ]] || die "reboot kept the PTY $pty1"
[[ $(con "$pty2" hostname) == h1 ]] || die "guest after reboot"
[[ $(api "$t/a.sock" PUT vm.pause) == '204 ' ]] || die "pause"
[[ $(api "$t/a.sock" PUT vm.boot) == '204 ' ]] || die "boot as resume"
[[ $(api "$t/a.sock" GET vm.info | cut -c5- | json 'd["state"]') == Running ]] || die "running after boot"
# Power button while paused is seen only after resume.
[[ $(api "$t/a.sock" PUT vm.pause) == '204 ' ]] || die "pause 2"
[[ $(api "$t/a.sock" PUT vm.power-button) == '204 ' ]] || die "power-button paused"
sleep 0.5
kill -0 $pid 2>/dev/null || die "paused guest powered off"
[[ $(api "$t/a.sock" PUT vm.resume) == '204 ' ]] || die "resume"
wait_exit $pid; [[ $rc == 0 ]] || die "power-off after resume: rc=$rc"
sleep 0.1
[[ ! -e /proc/$helper ]] || die "SIGWINCH helper outlived CH"

# --- Serial socket: newest client wins; output with no client is dropped.
truncate -s 16M "$t/d.raw"
"$sim" --api-socket "$t/b.sock" --kernel "$t/k" --cmdline "cocoon.hostname=s1" \
  --disk path="$t/d.raw" --serial socket="$t/ser.sock" --console off 2>/dev/null &
pid=$!; pids+=($pid)
wait_sock "$t/b.sock"
wait_running "$t/b.sock"
python3 - "$t/ser.sock" <<'PY' || die "serial socket semantics"
import socket, sys, time
def conn():
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(2); return s
def until_prompt(s):
    b = b""
    while not b.endswith(b":~# "):
        b += s.recv(4096)
    return b
a = conn()
a.sendall(b"\n"); until_prompt(a)       # boot output was dropped: no client then
b = conn(); time.sleep(0.2)
assert a.recv(10) == b"", "old client not shut down"
b.sendall(b"hostname\n")
out = until_prompt(b)
assert out == b"s1\r\nroot@s1:~# ", out   # a Linux guest's serial sends CRLF
PY
# vm.boot after a snapshot re-creates the outputs: the socket path is taken.
mkdir "$t/snap"
[[ $(api "$t/b.sock" PUT vm.pause) == '204 ' ]] || die "pause b"
[[ $(api "$t/b.sock" PUT vm.snapshot '{"destination_url":"file://'"$t/snap"'"}') == '204 ' ]] || die "snap b"
out=$(api "$t/b.sock" PUT vm.boot)
[[ $out == *'"Address already in use (os error 98)"]' ]] || die "boot after snapshot: $out"
[[ $(api "$t/b.sock" PUT vm.resume) == '204 ' ]] || die "resume after snapshot"
# Restore refuses while the source still holds the socket path and disk lock.
kill -9 $pid; wait $pid 2>/dev/null
[[ -S $t/ser.sock && -S $t/b.sock ]] || die "SIGKILL should leave sockets behind"
rm -f "$t/ser.sock"

# --- Restore: MAC from state.json, not from an edited config.json.
python3 - "$t/snap/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["net"] = [{"tap": "tapx", "mac": "02:00:00:00:00:99", "num_queues": 2, "id": "_net1"}]
json.dump(c, open(sys.argv[1], "w"))
PY
# The snapshot had no NIC; a NIC added only in config.json comes up fresh,
# with the config's MAC (there is no saved state for it).
unshare -n "$sim" --api-socket "$t/r.sock" 2>/dev/null & pid=$!; pids+=($pid)
wait_sock "$t/r.sock"
[[ $(api "$t/r.sock" PUT vm.restore '{"source_url":"file://'"$t/snap"'","resume":true}') == '204 ' ]] \
  || die "restore"
[[ $(api "$t/r.sock" GET vm.info | cut -c5- | json 'd["state"]') == Paused ]] || die "restore not paused"
# Gotcha 17: a removed NIC keeps its tap while the guest is paused.
[[ $(api "$t/r.sock" PUT vm.remove-device '{"id":"_net1"}') == '204 ' ]] || die "remove-device"
out=$(api "$t/r.sock" PUT vm.add-net '{"tap":"tapx","num_queues":2}')
[[ $out == 500*"Device or resource busy (os error 16)"* ]] || die "re-add same tap while paused: $out"
[[ $(api "$t/r.sock" PUT vm.resume) == '204 ' ]] || die "resume r"
sleep 0.1
out=$(api "$t/r.sock" PUT vm.add-net '{"tap":"tapx","num_queues":2,"mac":"02:00:00:00:00:42"}')
[[ $out == '200 {"id":"_net'*'","bdf":"0000:00:03.0"}' ]] || die "add-net after eject: $out"
kill -TERM $pid; wait_exit $pid; [[ $rc == 0 ]] || die "SIGTERM r"

# --- Knobs: failing restore leaves the Vmm empty; crash in snapshot.
CHSIM_FAIL_RESTORE=1 "$sim" --api-socket "$t/f.sock" 2>/dev/null & pid=$!; pids+=($pid)
wait_sock "$t/f.sock"
out=$(api "$t/f.sock" PUT vm.restore '{"source_url":"file://'"$t/snap"'"}')
[[ $out == *'"simulated failure (CHSIM_FAIL_RESTORE=1)"]' ]] || die "fail restore: $out"
[[ $(api "$t/f.sock" GET vm.info) == 500* ]] || die "not empty after failed restore"
kill $pid; wait_exit $pid
out=$(CHSIM_FAIL_RESTORE=1 "$sim" --api-socket "$t/f2.sock" --restore source_url="file://$t/snap" 2>&1); rc=$?
[[ $rc == 1 && $out == *"  0: Failed to restore VM"* ]] || die "cli restore failure: rc=$rc $out"

CHSIM_CRASH_IN_SNAPSHOT=1 CHSIM_FAIL_RESUME=1 "$sim" --api-socket "$t/x.sock" --kernel "$t/k" \
  --memory size=64M --console off 2>/dev/null & pid=$!; pids+=($pid)
wait_sock "$t/x.sock"
wait_running "$t/x.sock"
[[ $(api "$t/x.sock" PUT vm.pause) == '204 ' ]] || die "pause x"
[[ $(api "$t/x.sock" PUT vm.resume) == *'"simulated failure (CHSIM_FAIL_RESUME=1)"]' ]] || die "fail resume"
mkdir "$t/snap2"
api "$t/x.sock" PUT vm.snapshot '{"destination_url":"file://'"$t/snap2"'"}' >/dev/null 2>&1
wait_exit $pid; [[ $rc == 137 ]] || die "crash in snapshot: rc=$rc"
[[ -f $t/snap2/config.json && -f $t/snap2/state.json && -f $t/snap2/memory-ranges ]] || die "partial files"
[[ $(stat -c %s "$t/snap2/memory-ranges") -lt 67108864 ]] || die "memory-ranges should be short"

# Sparse memory-ranges on request vs the default, dense as CH (every byte
# written).
CHSIM_SPARSE_MEMORY_RANGES=1 "$sim" --api-socket "$t/m.sock" --kernel "$t/k" \
  --memory size=32M --console off 2>/dev/null & pid=$!; pids+=($pid)
wait_sock "$t/m.sock"
wait_running "$t/m.sock"
mkdir "$t/sparse"
[[ $(api "$t/m.sock" PUT vm.pause) == '204 ' ]] || die "pause m"
[[ $(api "$t/m.sock" PUT vm.snapshot '{"destination_url":"file://'"$t/sparse"'"}') == '204 ' ]] \
  || die "sparse snapshot"
[[ $(stat -c %s "$t/sparse/memory-ranges") == 33554432 &&
   $(( $(stat -c '%b * %B' "$t/sparse/memory-ranges") )) -lt 4194304 ]] || die "not sparse"
kill $pid; wait_exit $pid
size=$(stat -c %s "$t/snap/memory-ranges")
[[ $size -gt 0 && $(( $(stat -c '%b * %B' "$t/snap/memory-ranges") )) -ge $size ]] \
  || die "default not dense: $(stat -c '%s bytes, %b blocks of %B' "$t/snap/memory-ranges")"

# --- Gotcha 1 window: the socket answers before the command-line VM exists.
# CHSIM_BOOT_DELAY_MS=2000: no VM for 2 s, then Created (config and PTY,
# not booted) for 2 s more, then Running. Wide enough for a loaded CI
# machine (at 500 ms the first check below missed the window under load).
start_ns=$(date +%s%N)
CHSIM_BOOT_DELAY_MS=2000 "$sim" --api-socket "$t/w.sock" --kernel "$t/k" \
  --cmdline cocoon.hostname=w1 --console pty --serial off 2>/dev/null & pid=$!; pids+=($pid)
wait_sock "$t/w.sock"
out=$(api "$t/w.sock" GET vm.info)
[[ $out == '500 ["Error from API","The VM info is not available","VM is not created"]' ]] \
  || die "vm.info as the socket accepts: $out"
seen=(none)  # just seen above
for _ in $(seq 200); do
  out=$(api "$t/w.sock" GET vm.info)
  case $out in
    '500 ["Error from API","The VM info is not available","VM is not created"]') s=none ;;
    200*) s=$(echo "${out#200 }" | json 'd["state"]')
          if [[ $s == Created ]]; then
            [[ $(echo "${out#200 }" | json 'd["config"]["console"]["file"]') == /dev/pts/* ]] \
              || die "no PTY while Created: $out"
          fi ;;
    *) die "vm.info in the window: $out" ;;
  esac
  [[ ${#seen[@]} -gt 0 && ${seen[-1]} == "$s" ]] || seen+=("$s")
  [[ $s == Running ]] && break
  sleep 0.02
done
ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
[[ "${seen[*]}" == "none Created Running" ]] || die "states seen in the window: ${seen[*]}"
(( ms >= 4000 )) || die "Running after $ms ms, before 2000 + 2000 ms"
pty=$(api "$t/w.sock" GET vm.info | cut -c5- | json 'd["config"]["console"]["file"]')
[[ $(con "$pty" hostname) == w1 ]] || die "guest after the window"
kill $pid; wait_exit $pid; [[ $rc == 0 ]] || die "SIGTERM w: rc=$rc"
# A vm.create sent in the window wins; the command line's create then fails
# and CH exits 1 with its chain (the socket stays).
CHSIM_BOOT_DELAY_MS=2000 "$sim" --api-socket "$t/v.sock" --kernel "$t/k" --console off \
  2>"$t/v.err" & pid=$!; pids+=($pid)
wait_sock "$t/v.sock"
[[ $(api "$t/v.sock" PUT vm.create '{"payload":{"kernel":"'"$t/k"'"}}') == '204 ' ]] \
  || die "vm.create in the window"
wait_exit $pid
[[ $rc == 1 && $(<"$t/v.err") == *"  0: Failed to create VM"*"VM is already created"* && -S $t/v.sock ]] \
  || die "CLI create after an API create: rc=$rc $(<"$t/v.err")"

# Slow bind: the socket appears only after the delay.
CHSIM_BIND_DELAY_MS=1500 "$sim" --api-socket "$t/s.sock" 2>/dev/null & pid=$!; pids+=($pid)
sleep 0.2
[[ ! -e $t/s.sock ]] || die "socket bound before CHSIM_BIND_DELAY_MS"
wait_sock "$t/s.sock"
kill $pid; wait_exit $pid
echo PASS

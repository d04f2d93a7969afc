#!/usr/bin/env bash
# End-to-end checks of the CH simulator binary: CLI exit codes, the REST API
# over its socket, direct boot with PTY console, firmware boot with serial
# socket and CIDATA, disk locks, snapshot files and restore, power button.
set -u
sim=$(realpath "$1")
client=$(realpath "$2")
source "$(dirname "$0")/sim_testlib.sh"

# --- CLI usage errors: exit 2, nothing created.
out=$("$sim" 2>&1); rc=$?
[[ $rc -eq 2 && $out == *"Usage: cloud-hypervisor"* ]] || die "no args: rc=$rc $out"
out=$("$sim" --api-socket "$t/u.sock" --kernel k --disk path=a --disk path=b 2>&1); rc=$?
[[ $rc -eq 2 && $out == *"the argument '--disk <disk>...' cannot be used multiple times"* ]] \
  || die "repeated --disk: rc=$rc $out"
[[ ! -e $t/u.sock ]] || die "usage error created the socket"
out=$("$sim" --api-socket "$t/u.sock" --cpus boot=1 2>&1); rc=$?
[[ $rc -eq 2 && $out == *"<--kernel <kernel>|--firmware <firmware>>"* ]] || die "no payload: rc=$rc $out"
out=$("$sim" --bogus 2>&1); rc=$?
[[ $rc -eq 2 && $out == *"unexpected argument '--bogus' found"* ]] || die "bogus: rc=$rc $out"

# --- Only --api-socket: empty Vmm, ping, vmm.shutdown -> exit 0, socket gone.
"$sim" --api-socket "$t/a.sock" 2>"$t/a.err" & pid=$!; pids+=($pid)
wait_sock "$t/a.sock"
[[ $(stat -c %a "$t/a.sock") == 700 ]] || die "socket mode $(stat -c %a "$t/a.sock")"
out=$(api "$t/a.sock" GET vmm.ping)
[[ $(echo "${out#200 }" | json 'd["pid"]') == "$pid" ]] || die "ping pid: $out"
out=$(api "$t/a.sock" GET vm.info)
[[ $out == '500 ["Error from API","The VM info is not available","VM is not created"]' ]] || die "info: $out"
out=$(api "$t/a.sock" PUT vm.pause)
[[ $out == '500 ["Error from API","The VM could not be paused","VM is not running"]' ]] || die "pause: $out"
out=$(api "$t/a.sock" PUT vm.create '{"cpus":{"boot_vcpus":1}}')
[[ $out == '400 ["Failed to deserialize JSON","missing field `max_vcpus`"]' ]] || die "schema: $out"
out=$(api "$t/a.sock" GET vm.nosuch)
[[ $out == '404 ["Not Found"]' ]] || die "404: $out"
out=$(api "$t/a.sock" PUT vm.delete)
[[ $out == '204 ' ]] || die "delete: $out"
out=$(python3 "$client" raw "$t/a.sock" 'PUT /api/v1/vm.resume HTTP/1.1\r\nHost: x\r\n\r\n')
[[ $out == $'HTTP/1.1 500 \r\nServer: Cloud Hypervisor API\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n["Error from API","The VM could not resume","VM is not running"]' ]] \
  || die "wire format: $out"
out=$(api "$t/a.sock" PUT vmm.shutdown)
[[ $out == '200 ' ]] || die "vmm.shutdown: $out"
wait_exit $pid; [[ $rc == 0 ]] || die "vmm.shutdown exit code: rc=$rc"
[[ ! -e $t/a.sock ]] || die "socket left after clean exit"

# --- An existing socket file: exit 1, "Address already in use".
touch "$t/busy.sock"
out=$("$sim" --api-socket "$t/busy.sock" 2>&1); rc=$?
[[ $rc -eq 1 && $out == *"Address already in use (os error 98)"* ]] || die "busy socket: rc=$rc $out"

# --- Config-value error after bind: exit 1, chain printed, socket left behind.
touch "$t/k"
out=$("$sim" --api-socket "$t/c.sock" --kernel "$t/k" --disk path=x,foo=bar 2>&1); rc=$?
[[ $rc -eq 1 && $out == *"  0: Error parsing config"*"  1: Error parsing --disk"*"  2: unknown option: foo"* ]] \
  || die "config error: rc=$rc $out"
[[ -S $t/c.sock ]] || die "socket should be left after a failed start"

# --- Direct boot: PTY console, raw disk, multi-queue tap in a private netns.
truncate -s 64M "$t/cow.raw"
mkdir "$t/snap"
unshare -n "$sim" --api-socket "$t/d.sock" --cpus boot=2,max=2 --memory size=128M \
  --disk path="$t/cow.raw",direct=on,sparse=on,image_type=raw,num_queues=2,queue_size=512,serial=cocoon-cow \
  --kernel "$t/k" --cmdline "console=hvc0 rw cocoon.hostname=web" \
  --net tap=tap0,mac=02:42:0a:58:00:05,num_queues=4,queue_size=256 \
  --rng src=/dev/urandom --watchdog --balloon size=33554432,deflate_on_oom=on \
  --serial off --console pty 2>"$t/d.err" & pid=$!; pids+=($pid)
wait_sock "$t/d.sock"
wait_running "$t/d.sock"
info=$(api "$t/d.sock" GET vm.info); info=${info#200 }
[[ $(echo "$info" | json 'd["state"]') == Running ]] || die "state: $info"
[[ $(echo "$info" | json 'd["config"]["disks"][0]["id"], d["config"]["net"][0]["id"]') == "_disk0 _net1" ]] \
  || die "auto ids: $info"
pty=$(echo "$info" | json 'd["config"]["console"]["file"]')
[[ $pty == /dev/pts/* ]] || die "pty path: $pty"
out=$(con "$pty" hostname "cat /proc/cmdline" "ip link" "mem-marker set m-one" "disk-marker set d-one" \
  "mem-marker get" "disk-marker get")
[[ $out == $'web\nconsole=hvc0 rw cocoon.hostname=web\neth0: 02:42:0a:58:00:05\nm-one\nd-one' ]] \
  || die "guest console: $out"
# A second VM on the same writable disk fails on the lock.
out=$("$sim" --api-socket "$t/e.sock" --kernel "$t/k" --disk path="$t/cow.raw" --console off 2>&1); rc=$?
[[ $rc -eq 1 && $out == *"Another instance likely holds a lock"* ]] || die "lock: rc=$rc $out"
out=$(api "$t/d.sock" PUT vm.snapshot "{\"destination_url\":\"file://$t/snap\"}")
[[ $out == *'"Trying to snapshot while VM is running"]' ]] || die "snapshot running: $out"
[[ $(api "$t/d.sock" PUT vm.pause) == '204 ' ]] || die "pause"
out=$(api "$t/d.sock" PUT vm.snapshot "{\"destination_url\":\"file://$t/nodir\"}")
[[ $out == *"Destination is not a directory: \\\"$t/nodir\\\""* ]] || die "snapshot nodir: $out"
[[ $(api "$t/d.sock" PUT vm.snapshot "{\"destination_url\":\"file://$t/snap\"}") == '204 ' ]] || die "snapshot"
for f in config.json state.json memory-ranges; do
  [[ $(stat -c %a "$t/snap/$f") == 600 ]] || die "$f mode $(stat -c %a "$t/snap/$f")"
done
[[ $(stat -c %s "$t/snap/memory-ranges") == 134217728 ]] || die "memory-ranges size"
out=$(api "$t/d.sock" PUT vm.snapshot "{\"destination_url\":\"file://$t/snap\"}")
[[ $out == *'"File exists (os error 17)"]' ]] || die "snapshot twice: $out"
[[ $(api "$t/d.sock" GET vm.info | cut -c5- | json 'd["state"]') == Paused ]] || die "paused after snapshot"
kill -TERM $pid
wait_exit $pid; [[ $rc == 0 ]] || die "SIGTERM exit code: rc=$rc"
[[ ! -e $t/d.sock ]] || die "socket left after SIGTERM"

# --- CLI restore: Paused, new PTY, markers survive; vm.resume runs it.
unshare -n "$sim" --api-socket "$t/r.sock" --restore source_url="file://$t/snap" 2>"$t/r.err" &
pid=$!; pids+=($pid)
wait_sock "$t/r.sock"
info=$(api "$t/r.sock" GET vm.info); info=${info#200 }
[[ $(echo "$info" | json 'd["state"]') == Paused ]] || die "restored state: $info"
pty2=$(echo "$info" | json 'd["config"]["console"]["file"]')
[[ $pty2 == /dev/pts/* ]] || die "restored pty: $pty2"
[[ $(api "$t/r.sock" PUT vm.resume) == '204 ' ]] || die "resume"
out=$(con "$pty2" "mem-marker get" "disk-marker get" hostname)
[[ $out == $'m-one\nd-one\nweb' ]] || die "markers after restore: $out"
[[ $(api "$t/r.sock" PUT vm.power-button) == '204 ' ]] || die "power-button"
wait_exit $pid; [[ $rc == 0 ]] || die "power-button exit: rc=$rc"
[[ ! -e $t/r.sock ]] || die "socket after power-off"

# --- API restore errors leave the Vmm empty.
"$sim" --api-socket "$t/f.sock" 2>/dev/null & pid=$!; pids+=($pid)
wait_sock "$t/f.sock"
mkdir "$t/empty"
out=$(api "$t/f.sock" PUT vm.restore "{\"source_url\":\"file://$t/empty\"}")
[[ $out == '500 ["Error from API","The VM could not be restored","Cannot restore VM","Failed to receive migratable component snapshot","No such file or directory (os error 2)"]' ]] \
  || die "restore missing: $out"
[[ $(api "$t/f.sock" GET vm.info) == 500* ]] || die "vmm not empty after failed restore"
kill -INT $pid
wait_exit $pid; [[ $rc == 0 ]] || die "SIGINT exit: rc=$rc"

# --- Firmware boot: qcow2 overlay, CIDATA hostname, serial socket.
qemu-img create -q -f raw "$t/base.raw" 64M || die "qemu-img"
qemu-img create -q -f qcow2 -b "$t/base.raw" -F raw "$t/overlay.qcow2" || die "qemu-img"
printf 'instance-id: 0123456789abcdef\nlocal-hostname: web-1\n' >"$t/meta-data"
mkfs.fat -C -n CIDATA "$t/cidata.img" 1024 >/dev/null || die "mkfs.fat"
MTOOLS_SKIP_CHECK=1 mcopy -i "$t/cidata.img" "$t/meta-data" ::meta-data || die "mcopy"
CHSIM_IGNORE_POWER_BUTTON=1 "$sim" --api-socket "$t/g.sock" --cpus boot=2,max=2 --memory size=64M \
  --disk path="$t/overlay.qcow2",direct=on,image_type=qcow2,backing_files=on,num_queues=2 \
  path="$t/cidata.img",readonly=on,image_type=raw \
  --firmware "$t/k" --serial socket="$t/console.sock" --console off 2>"$t/g.err" &
pid=$!; pids+=($pid)
wait_sock "$t/g.sock"
wait_running "$t/g.sock"
[[ -S $t/console.sock ]] || die "serial socket missing"
out=$(con "$t/console.sock" hostname "disk-marker set q-one" "disk-marker get")
[[ $out == $'web-1\nq-one' ]] || die "firmware guest: $out"
out=$(api "$t/g.sock" PUT vm.add-disk "{\"path\":\"$t/base.raw\",\"readonly\":true}")
[[ $out == '200 {"id":"_disk2","bdf":"0000:00:04.0"}' ]] || die "add-disk: $out"
[[ $(api "$t/g.sock" PUT vm.power-button) == '204 ' ]] || die "ignored power-button"
sleep 0.5
kill -0 $pid 2>/dev/null || die "guest honoured an ignored power button"
[[ $(api "$t/g.sock" PUT vm.shutdown) == '204 ' ]] || die "vm.shutdown"
[[ $(api "$t/g.sock" GET vm.info | cut -c5- | json 'd["state"], d["device_tree"]') == "Created None" ]] \
  || die "state after vm.shutdown"
[[ ! -e $t/console.sock ]] || die "serial socket not removed at VM teardown"
[[ $(api "$t/g.sock" PUT vm.boot) == '204 ' ]] || die "boot after shutdown"
[[ $(api "$t/g.sock" PUT vm.create '{}') == *'"VM is already created"]' ]] || die "create twice"
[[ $(api "$t/g.sock" PUT vmm.shutdown) == '200 ' ]] || die "vmm.shutdown"
wait_exit $pid; [[ $rc == 0 ]] || die "exit after vmm.shutdown: rc=$rc"
# The disk-marker lives in the unused tail of the qcow2 header cluster.
qemu-img check -q "$t/overlay.qcow2" || die "qcow2 damaged by disk-marker"
echo PASS

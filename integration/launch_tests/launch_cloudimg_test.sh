#!/usr/bin/env bash
# Cloud-image lifecycle on the real binaries and the CH simulator: qcow2
# overlay + FAT12 cidata, serial-socket console, power-button stop, cidata
# dropped after the first boot, escalation when the guest ignores the button.
source "$(dirname "$0")/lib.sh"
make_cloud_files
export MTOOLS_SKIP_CHECK=1

run "$LAUNCH" create --name cvm --cpu 2 --memory 512M --storage 12G \
  --base "$T/img/base.qcow2" --firmware "$T/img/CLOUDHV.fd"
[[ $rc == 0 && -z $err && $(field state) == CREATED ]] || die "create rc=$rc"
id=$(field id)
run_dir=$(field run_dir)
[[ $(field firmware_path) == "$T/img/CLOUDHV.fd" ]] || die "firmware"
[[ $out != *image_blob_ids* ]] || die "a file outside the image store is not a blob pin"

# The overlay: qcow2 backed by the base, grown to the requested size.
ov=$run_dir/overlay.qcow2
info=$(qemu-img info --output=json "$ov") || die "qemu-img info"
[[ $info == *"\"virtual-size\": 12884901888"* ]] || die "overlay size: $info"
[[ $info == *"\"backing-filename\": \"$T/img/base.qcow2\""* ]] || die "backing file: $info"
[[ $info == *"\"backing-filename-format\": \"qcow2\""* ]] || die "backing format: $info"
qemu-img check -q "$ov" || die "qemu-img check"

# The record round-trips through the registry: its serial-less read-only
# cidata disk is valid for a firmware-booted VM.
INDEX=$(realpath "$4")
"$INDEX" --root-dir="$T/root" get cvm | "$INDEX" --root-dir="$T/root" put >/dev/null \
  || die "vm-index get | put of a cloud-image VM"

# The NoCloud seed: FAT12, label CIDATA, the exact files.
ci=$run_dir/cidata.img
[[ $(stat -c %s "$ci") == 1048576 && $(stat -c %a "$ci") == 600 ]] || die "cidata size/mode"
fsck.fat -n "$ci" >/dev/null 2>&1 || die "fsck.fat -n: $(fsck.fat -n "$ci" 2>&1)"
[[ $(mdir -i "$ci" ::) == *"Volume in drive : is CIDATA"* ]] || die "label"
[[ $(mtype -i "$ci" ::meta-data) == "instance-id: $id"$'\n'"local-hostname: cvm" ]] || die "meta-data"
[[ $(mtype -i "$ci" ::user-data; echo x) == $'#cloud-config\nwarnings:\n  dsid_missing_source: off\nx' ]] \
  || die "user-data"
mtype -i "$ci" ::network-config >/dev/null 2>&1 && die "network-config without NICs"

# Windows: the overlay only, no cidata.
run "$LAUNCH" create --name win --cpu 1 --memory 512M --windows \
  --base "$T/img/base.qcow2" --firmware "$T/img/CLOUDHV.fd"
[[ $rc == 0 && $(grep -c '^  storage {' <<<"$out") == 1 && $(field windows) == true ]] || die "windows create"
win_dir=$(field run_dir)
[[ -e $win_dir/overlay.qcow2 && ! -e $win_dir/cidata.img ]] || die "windows disks"
run "$LAUNCH" debug win
[[ $out == *"--cpus boot=1,max=$(nproc),kvm_hyperv=on "* && $out != *--balloon* ]] || die "windows command: $out"
run "$LAUNCH" rm win
[[ $rc == 0 && ! -e $win_dir ]] || die "rm win"

# First boot: overlay and cidata attached, serial on console.sock.
run "$LAUNCH" start cvm
[[ $rc == 0 && $(field state) == RUNNING && $(field first_booted) == true ]] || die "start"
pid=$(field pid)
cmd=$(<"$run_dir/cmdline")
[[ $cmd == *"--disk 'path=$ov,direct=on,image_type=qcow2,backing_files=on,num_queues=2,queue_size=512,queue_affinity=[0@[0],1@[1]]' path=$ci,readonly=on,image_type=raw,num_queues=2,queue_size=512 --firmware"* ]] \
  || die "disks of the first boot: $cmd"
[[ $cmd == *"--serial socket=$run_dir/console.sock --console off" ]] || die "serial: $cmd"
[[ -S $run_dir/console.sock ]] || die "no console.sock"

run "$CONSOLE" --timeout=1s cvm <<<hostname
[[ $rc == 0 ]] && has_line cvm || die "hostname from cidata"

# stop: the guest honours the power button, CH exits by itself.
start_ns=$(date +%s%N)
run "$LAUNCH" stop cvm
[[ $rc == 0 && $(field state) == STOPPED ]] || die "stop"
(( ($(date +%s%N) - start_ns) / 1000000 < 10000 )) || die "power-button stop waited for the 30s timeout"
[[ ! -e $run_dir/console.sock && ! -e $run_dir/ch.pid ]] || die "runtime files after stop"
[[ -e $ci ]] || die "cidata.img removed"

# Second boot, with a guest that ignores the power button: no cidata.
CHSIM_IGNORE_POWER_BUTTON=1 run "$LAUNCH" start cvm
[[ $rc == 0 && $(field state) == RUNNING ]] || die "restart"
pid=$(field pid)
[[ $(<"$run_dir/cmdline") != *cidata* ]] || die "cidata attached after first boot"
[[ $(tr '\0' ' ' </proc/$pid/cmdline) != *cidata* ]] || die "CH has cidata"
[[ $(tr '\0' '\n' </proc/$pid/environ) == *CHSIM_IGNORE_POWER_BUTTON=1* ]] || die "env not passed"
run "$CONSOLE" --timeout=1s cvm <<<hostname
has_line localhost || die "guest still sees cidata"

# Escalation: power button ignored -> after --timeout, SIGTERM.
start_ns=$(date +%s%N)
run "$LAUNCH" stop --timeout=400ms cvm
ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
[[ $rc == 0 && $(field state) == STOPPED ]] || die "escalated stop rc=$rc"
(( ms >= 400 )) || die "stop did not wait for the power button ($ms ms)"
[[ ! -e /proc/$pid || $(awk '{print $3}' /proc/$pid/stat) == Z ]] || die "CH survived"
grep -q -i 'power' "$T/log/cloudhypervisor/$id/cloud-hypervisor.log" || true

run "$LAUNCH" rm cvm
[[ $rc == 0 && ! -e $run_dir ]] || die "rm"
echo PASS

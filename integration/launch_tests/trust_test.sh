#!/usr/bin/env bash
# Records are requests, not authority: what a record (or a file planted in
# the tools' dirs) can make the tools touch, through the real binaries.
source "$(dirname "$0")/lib.sh"
INDEX=$(realpath "$4")
make_direct_files
K=(--kernel "$T/img/vmlinuz" --initrd "$T/img/initrd.img" --layer "$T/img/layer0.erofs")
echo precious >"$T/victim"
victim_intact() { [[ $(<"$T/victim") == precious ]] || die "the victim file was touched"; }
vm_text() {  # vm_text ID RUN_DIR DISK: a direct-boot record
  printf 'vm { id: "%s" state: STOPPED config { name: "n%s" cpu: 1 memory_bytes: 536870912 storage_bytes: 10737418240 }
  storage { path: "%s" ro: true serial: "cocoon-layer0" } storage { path: "%s" serial: "cocoon-cow" }
  boot { kernel_path: "%s" initrd_path: "%s" } run_dir: "%s" }\n' \
    "$1" "${1:0:4}" "$T/img/layer0.erofs" "$3" "$T/img/vmlinuz" "$T/img/initrd.img" "$2"
}
ID=3f9c0a1b2c3d4e5f
OWN=$T/run/cloudhypervisor/$ID

# run_dir / log_dir other than the derived ones are refused by put.
for dir in / /etc "$T/run/cloudhypervisor/0123456789abcdef" "$OWN/.."; do
  run "$INDEX" put <<<"$(vm_text $ID "$dir" "$OWN/cow.raw")"
  [[ $rc == 1 && -z $out && $err == *"vm[0].run_dir"*"is not $OWN"* ]] || die "put with run_dir $dir"
done
# A host file as the writable disk, or another VM's disk as an image: refused.
run "$INDEX" put <<<"$(vm_text $ID "$OWN" "$T/victim")"
[[ $rc == 1 && $err == *"vm[0].storage[1].path: a writable disk must be the VM's own"* ]] \
  || die "put with a host file as the writable disk"
run "$INDEX" put <<<"$(vm_text $ID "$OWN" "$OWN/cow.raw" | sed "s|$T/img/layer0.erofs|$T/run/cloudhypervisor/0123456789abcdef/cow.raw|")"
[[ $rc == 1 && $err == *"storage[0].path"*"inside the VMs' run or log dirs"* ]] || die "put with another VM's disk"
[[ -z $(ls -A "$T/root/cloudhypervisor/db/vms" 2>/dev/null) ]] || die "a refused put wrote a record"
victim_intact

# create never reuses a run dir: one planted with a symlinked cow.raw makes
# create fail, and the victim and the planted dir stay as they were.
mkdir -p "$OWN"
ln -s "$T/victim" "$OWN/cow.raw"
printf 'vm { id: "%s" config { name: "planted" cpu: 1 memory_bytes: 536870912 storage_bytes: 10737418240 }
  storage { path: "%s" ro: true serial: "cocoon-layer0" } boot { kernel_path: "%s" initrd_path: "%s" } }\n' \
  $ID "$T/img/layer0.erofs" "$T/img/vmlinuz" "$T/img/initrd.img" >"$T/planted.txtpb"
run "$LAUNCH" create <"$T/planted.txtpb"
[[ $rc == 1 && -z $out && $err == *"mkdir $OWN: File exists"* ]] || die "create into a planted run dir"
[[ -L $OWN/cow.raw ]] || die "the planted dir was removed by the rollback"
victim_intact
rm -rf "$OWN"
[[ -z $(ls -A "$T/root/cloudhypervisor/db/vms" 2>/dev/null) ]] || die "the refused create left a record"

# A log file replaced by a symlink is not followed: start fails, victim intact.
run "$LAUNCH" create <"$T/planted.txtpb"
[[ $rc == 0 ]] || die "create"
LOG=$T/log/cloudhypervisor/$ID/cloud-hypervisor.log
ln -sf "$T/victim" "$LOG"
run "$LAUNCH" start planted
[[ $rc == 1 && $err == *"open $LOG"* ]] || die "start through a symlinked log"
victim_intact
rm "$LOG"
run "$LAUNCH" start planted
[[ $rc == 0 && $(field state) == RUNNING ]] || die "start"
run "$LAUNCH" rm --force planted
[[ $rc == 0 ]] || die "rm"

# rm commits DELETING before any file goes: an rm that stops half way (here:
# a file it cannot remove) leaves a record that says so; start refuses it,
# fsck reports it, and rm again finishes it. A lost disk is named by start
# and fsck.
run "$LAUNCH" create --name half --cpu 1 "${K[@]}"
half_run=$(field run_dir)
chattr +i "$half_run/cow.raw" || die "chattr"
run "$LAUNCH" rm half
chattr -i "$half_run/cow.raw"  # first, so a failure below can still clean up
[[ $rc == 1 && $err == *"remove $half_run"* ]] || die "rm with an unremovable file"
run "$INDEX" get half
[[ $(field state) == DELETING ]] || die "state after a half-done rm: $(field state)"
run "$LAUNCH" start half
[[ $rc == 1 && $err == *"state DELETING"*"ch-launch rm finishes it"* ]] || die "start of a DELETING VM"
# stop must not turn it into a STOPPED VM without its disk (the fault
# campaign found that).
run "$LAUNCH" stop half
[[ $rc == 1 && $err == *"state DELETING"* ]] || die "stop of a DELETING VM"
run "$INDEX" get half
[[ $(field state) == DELETING ]] || die "state after stop of a DELETING VM: $(field state)"
run "$INDEX" fsck
[[ $rc == 1 && $out == *'kind: "interrupted-delete"'* ]] || die "fsck of a half-done rm"
run "$LAUNCH" rm half
[[ $rc == 0 && ! -e $half_run ]] || die "rm again"
run "$LAUNCH" create --name lost --cpu 1 "${K[@]}"
lost_run=$(field run_dir)
rm "$lost_run/cow.raw"
run "$INDEX" fsck
[[ $rc == 1 && $out == *'kind: "missing-disk"'* && $out == *"$lost_run/cow.raw"* ]] || die "fsck of a lost disk"
run "$LAUNCH" start lost
[[ $rc == 1 && $err == *"storage[1]: $lost_run/cow.raw: No such file or directory: the VM's disk is gone"* ]] \
  || die "start of a VM whose disk is gone"
run "$LAUNCH" rm lost
[[ $rc == 0 ]] || die "rm lost"

# A socket path that no unix socket address can hold is refused at create,
# naming the path (not at start, not blaming api.sock for console.sock).
long=$T/$(printf 'd%.0s' $(seq 80))
CHTOOLS_RUN_DIR=$long run "$LAUNCH" create --name longpath --cpu 1 "${K[@]}"
[[ $rc == 1 && $err == *"socket path $long/cloudhypervisor/"*"/api.sock is "*" bytes; at most 107"* ]] \
  || die "create with a run dir too long for its sockets"
[[ ! -e $long ]] || die "the refused create made $long"

# The overlay of a cloud image is owner-only like every other disk.
make_cloud_files
run "$LAUNCH" create --name cvm --cpu 1 --base "$T/img/base.qcow2" --firmware "$T/img/CLOUDHV.fd"
[[ $rc == 0 ]] || die "create cloud image"
[[ $(stat -c %a "$(field run_dir)/overlay.qcow2") == 600 ]] || die "overlay.qcow2 mode $(stat -c %a "$(field run_dir)/overlay.qcow2")"
echo PASS

#!/usr/bin/env bash
# A full disk under each of the tools' dirs: the root (index, snapshot store)
# and the run dir (disks, sockets, pid files) are small tmpfs mounts, filled
# to the last block before each operation. Every operation fails with exit 1
# naming ENOSPC, and leaves nothing half done: no record, name, dir or temp
# file it made, no CH it launched; a running VM keeps running; once space is
# freed, fsck is clean and the same operations succeed.
source "$(dirname "$0")/lib.sh"
make_direct_files
export CHSIM_SPARSE_MEMORY_RANGES=1  # snapshots of 512 MiB RAM fit the store
mkdir -p "$T/root" "$T/run" "$T/log"
mount -t tmpfs -o size=128m,mode=0700 tmpfs "$T/root" || die "mount root"
mount -t tmpfs -o size=128m,mode=0700 tmpfs "$T/run" || die "mount run"

run "$LAUNCH" create --name a --cpu 1 "${K[@]}"; [[ $rc == 0 ]] || die "create a"
run "$LAUNCH" create --name b --cpu 1 "${K[@]}"; [[ $rc == 0 ]] || die "create b"
run "$LAUNCH" start b; [[ $rc == 0 ]] || die "start b"
bpid=$(field pid)
run "$SNAP" save b --name s; [[ $rc == 0 ]] || die "save b"

# fill DIR: one file takes every free block of DIR's filesystem.
fill() { dd if=/dev/zero of="$1/.fill" bs=64k status=none 2>/dev/null; sync; }
unfill() { rm -f "$1/.fill"; }
full() {  # full WHAT: refused with ENOSPC named, nothing changed, b running
  refused "$1" "No space left on device"
  clean_stderr "$1"
  unchanged "$1"
  kill -0 "$bpid" 2>/dev/null || die "$1: b's CH died"
}
record() {
  printf 'vm { id: "0123456789abcdef" state: STOPPED config { name: "p" cpu: 1 memory_bytes: 536870912 storage_bytes: 10737418240 }
  boot { kernel_path: "%s" initrd_path: "%s" } }\n' "$T/img/vmlinuz" "$T/img/initrd.img"
}

# --- the root is full: the index and the store cannot grow.
fill "$T/root"
before=$(world)
run "$INDEX" put <<<"$(record)"; full "root full: vm-index put"
run "$LAUNCH" create --name c --cpu 1 "${K[@]}"; full "root full: ch-launch create"
run "$SNAP" save b; full "root full: ch-snapshot save"
run "$CLONE" s --name cl; full "root full: ch-clone"
run "$LAUNCH" rm a; full "root full: ch-launch rm"
run "$INDEX" get b; [[ $(field state) == RUNNING ]] || die "root full: b is $(field state)"
unfill "$T/root"
run "$INDEX" fsck; [[ $rc == 0 ]] || die "fsck after the root was full"

# --- the run dir is full: no disk, pid file or command line can be written.
fill "$T/run"
before=$(world)
run "$LAUNCH" create --name c --cpu 1 "${K[@]}"; full "run full: ch-launch create"
run "$LAUNCH" start a; full "run full: ch-launch start"
run "$CLONE" s --name cl; full "run full: ch-clone"
unfill "$T/run"
run "$INDEX" fsck; [[ $rc == 0 ]] || die "fsck after the run dir was full"

# --- with space again, each works.
run "$INDEX" put <<<"$(record)"; [[ $rc == 0 ]] || die "put with space"
run "$LAUNCH" create --name c --cpu 1 "${K[@]}"; [[ $rc == 0 ]] || die "create with space"
run "$LAUNCH" start a; [[ $rc == 0 ]] || die "start with space"
run "$CLONE" s --name cl; [[ $rc == 0 && $(field state) == RUNNING ]] || die "clone with space"
run "$SNAP" save b; [[ $rc == 0 ]] || die "save with space"
for v in a b cl c p; do run "$LAUNCH" rm --force "$v"; [[ $rc == 0 ]] || die "rm $v"; done
echo PASS

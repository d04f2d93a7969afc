#!/usr/bin/env bash
# Direct boot (OCI) lifecycle on the real binaries and the CH simulator, with
# one NIC on a multi-queue tap inside a network namespace made here:
# create -> start -> console -> stop -> start -> rm.
source "$(dirname "$0")/lib.sh"
INDEX=$(realpath "$4")
make_direct_files
ns=chl-$$
ip netns add "$ns" || die "ip netns add"
trap 'cleanup; ip netns del "$ns" 2>/dev/null' EXIT
ip -n "$ns" tuntap add dev tap0 mode tap multi_queue || die "tuntap"
ip -n "$ns" link set tap0 up || die "tap up"

# A tap that exists as single-queue cannot serve 2 vCPUs (4 queues): said at
# create, not at start; nothing is made. With 1 vCPU it is fine.
ip -n "$ns" tuntap add dev sq0 mode tap || die "tuntap sq0"
run "$LAUNCH" create --name sq --cpu 2 --kernel "$T/img/vmlinuz" --initrd "$T/img/initrd.img" \
  --nic "tap=sq0,netns=$ns"
[[ $rc == 1 && -z $out && $err == *'vm "sq": create: network[0].tap: sq0 exists in /var/run/netns/'"$ns"' as a single-queue tap, but 2 vCPUs need 4 queues'* ]] \
  || die "single-queue tap with 2 vCPUs"
[[ -z $(ls -A "$T/run/cloudhypervisor" 2>/dev/null) ]] || die "the refused create left a run dir"
run "$LAUNCH" create --name sq --cpu 1 --kernel "$T/img/vmlinuz" --initrd "$T/img/initrd.img" \
  --nic "tap=sq0,netns=$ns"
[[ $rc == 0 ]] || die "single-queue tap with 1 vCPU"
run "$LAUNCH" rm sq
[[ $rc == 0 ]] || die "rm sq"
# A netns that is not one is refused.
run "$LAUNCH" create --name badns --cpu 1 --kernel "$T/img/vmlinuz" --initrd "$T/img/initrd.img" \
  --nic "tap=t9,netns=/etc/hostname"
[[ $rc == 1 && $err == *"network[0].netns_path: /etc/hostname is not a network namespace"* ]] \
  || die "a file as netns"

run "$LAUNCH" create --name web --cpu 2 --memory 512M --storage 10G \
  --kernel "$T/img/vmlinuz" --initrd "$T/img/initrd.img" \
  --layer "$T/img/layer0.erofs" --layer "$T/img/layer1.erofs" \
  --nic "tap=tap0,mac=02:42:0a:58:00:05,netns=$ns,ip=10.88.0.5/16,gw=10.88.0.1"
[[ $rc == 0 && -z $err ]] || die "create rc=$rc"
[[ $(field state) == CREATED ]] || die "create state"
id=$(field id)
run_dir=$(field run_dir)
[[ $run_dir == "$T/run/cloudhypervisor/$id" ]] || die "run_dir $run_dir"
want_cmdline="console=hvc0 loglevel=3 boot=cocoon-overlay cocoon.layers=cocoon-layer1,cocoon-layer0 cocoon.cow=cocoon-cow clocksource=kvm-clock rw net.ifnames=0 cocoon.hostname=web ip=10.88.0.5::10.88.0.1:255.255.0.0:web:eth0:off:8.8.8.8:1.1.1.1"
[[ $(field cmdline) == "$want_cmdline" ]] || die "kernel cmdline: $(field cmdline)"
[[ $out == *"num_queues: 4"* && $out == *"netns_path: \"/var/run/netns/$ns\""* ]] || die "nic record"
cow=$run_dir/cow.raw
[[ $(stat -c %s "$cow") == 10737418240 ]] || die "cow size"
(( $(stat -c %b "$cow") * 512 < 200 * 1024 * 1024 )) || die "cow not sparse"
e2fsck -n "$cow" >/dev/null 2>&1 || die "e2fsck -n on cow.raw"
[[ $(dumpe2fs -h "$cow" 2>/dev/null | sed -n 's/^Reserved block count: *//p') == 0 ]] || die "mkfs -m 0"

# start: CH in the namespace, on the tap, quoted command line saved.
run "$LAUNCH" start web
[[ $rc == 0 && -z $err ]] || die "start rc=$rc"
[[ $(field state) == RUNNING ]] || die "start state"
pid=$(field pid)
[[ $(<"$run_dir/ch.pid") == "$pid" ]] || die "pid file"
[[ $(readlink /proc/$pid/ns/net) == "net:[$(stat -L -c %i "/var/run/netns/$ns")]" ]] \
  || die "CH not in netns $ns: $(readlink /proc/$pid/ns/net)"
[[ $(readlink /proc/$pid/ns/net) != $(readlink /proc/self/ns/net) ]] || die "CH in host netns"
taps=$(grep -l "^iff:[[:space:]]*tap0$" /proc/$pid/fdinfo/* 2>/dev/null | wc -l)
[[ $taps == 2 ]] || die "CH holds $taps queues of tap0, want 2 (2 vCPUs)"
[[ $(ip -n "$ns" link show tap0) != *NO-CARRIER* ]] || die "tap0 has no carrier"
[[ $(ps -o sid= -p "$pid" | tr -d ' ') == "$pid" ]] || die "CH not in its own session"
# The saved command line pastes back into a shell as CH's exact argv.
eval "set -- $(<"$run_dir/cmdline")"
mapfile -d '' live </proc/$pid/cmdline
[[ $# == ${#live[@]} ]] || die "cmdline file has $# words, CH has ${#live[@]}"
i=0; for w in "$@"; do [[ $w == "${live[$i]}" ]] || die "word $i: $w != ${live[$i]}"; i=$((i+1)); done
[[ $(<"$run_dir/cmdline") == *"--cmdline '$want_cmdline'"* ]] || die "cmdline not quoted"
[[ $(<"$run_dir/cmdline") == *"'path=$cow,direct=on,sparse=on,image_type=raw,num_queues=2,queue_size=512,queue_affinity=[0@[0],1@[1]],serial=cocoon-cow'"* ]] \
  || die "cow disk arg"

# debug prints the same command.
run "$LAUNCH" debug web
[[ $rc == 0 && "$out" == "$(<"$run_dir/cmdline")" ]] || die "debug != cmdline file"

# Idempotent start: same process, reported again.
run "$LAUNCH" start "$id"
[[ $rc == 0 && $(field pid) == "$pid" ]] || die "second start relaunched"

# Console (the PTY from vm.info): the guest knows its name and cmdline.
run "$CONSOLE" --timeout=1s web <<<$'hostname\ncat /proc/cmdline\nip link'
[[ $rc == 0 ]] || die "console rc=$rc"
has_line web || die "hostname is not web"
[[ $out == *"$want_cmdline"* ]] || die "/proc/cmdline differs"
[[ $out == *"eth0: 02:42:0a:58:00:05"* ]] || die "ip link"

# stop: vm.shutdown, SIGTERM; runtime files go.
run "$LAUNCH" stop web
[[ $rc == 0 && $(field state) == STOPPED ]] || die "stop"
[[ ! -e /proc/$pid || $(awk '{print $3}' /proc/$pid/stat) == Z ]] || die "CH still alive"
for f in api.sock ch.pid cmdline; do [[ ! -e $run_dir/$f ]] || die "$f left after stop"; done
[[ -e $cow ]] || die "cow removed by stop"

# start again: all disks still attached (direct boot keeps them).
run "$LAUNCH" start web
[[ $rc == 0 && $(field state) == RUNNING ]] || die "restart"
pid2=$(field pid)
[[ $pid2 != "$pid" ]] || die "restart reused pid"
[[ $(<"$run_dir/cmdline") == *layer0.erofs*layer1.erofs*cow.raw* ]] || die "disks after restart"

# rm without --force refuses a running VM and changes nothing.
run "$LAUNCH" rm web
[[ $rc == 1 && -z $out && $err == *'vm "web": rm: is running'* ]] || die "rm without --force"
kill -0 "$pid2" || die "rm without --force killed CH"
run "$LAUNCH" rm --force web
[[ $rc == 0 && $(field id) == "$id" ]] || die "rm --force"
[[ ! -e $run_dir && ! -e $T/log/cloudhypervisor/$id ]] || die "dirs left after rm"
[[ -z $(ls "$T/root/cloudhypervisor/db/vms") ]] || die "record left after rm"
run "$LAUNCH" start web
[[ $rc == 1 && -z $out && $err == *'vm "web": not found'* ]] || die "start after rm: $err"

# A launch that CH fails (its tap's name taken by a device that is not a
# tap, after create): state ERROR, CH's whole error chain shown (not only its
# last line), the log appended to, not truncated, by the next start.
run "$LAUNCH" create --name bad --cpu 1 --kernel "$T/img/vmlinuz" --initrd "$T/img/initrd.img" \
  --nic "tap=tq1,netns=$ns"
[[ $rc == 0 ]] || die "create bad"
bad_id=$(field id)
ip -n "$ns" link add tq1 type veth peer name tq1p || die "veth tq1"
run "$LAUNCH" start bad
[[ $rc == 1 && -z $out && $err == *'vm "bad": start: '* ]] || die "failed launch"
[[ $err != *"vm.info: vm.info:"* ]] || die "doubled vm.info"
failed_line=$(sed -n 's/.*; cloud-hypervisor said: \(.*\)$/\1/p' <<<"$err")
[[ $failed_line == *"Cannot create virtio-net device: Open tap device failed: Unable to configure tap interface tq1: Invalid argument (os error 22)"* ]] \
  || die "not CH's whole error chain: $failed_line"
run "$INDEX" get bad
[[ $(field state) == ERROR ]] || die "state after failed launch"
[[ ! -e $T/run/cloudhypervisor/$bad_id/ch.pid ]] || die "pid file after failed launch"
ip -n "$ns" link del tq1 || die "del veth"
run "$LAUNCH" start bad
[[ $rc == 0 && $(field state) == RUNNING ]] || die "start after fixing"
grep -qF -- "Unable to configure tap interface tq1" "$T/log/cloudhypervisor/$bad_id/cloud-hypervisor.log" \
  || die "the log of the failed launch was truncated by the next start"
run "$LAUNCH" rm --force bad
[[ $rc == 0 ]] || die "rm bad"
echo PASS

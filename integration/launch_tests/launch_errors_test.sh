#!/usr/bin/env bash
# ch-launch failure paths: input errors, rollback of a failed create, a pid
# file naming an unrelated process, a crashed CH, a failed launch, an `error`
# record whose CH is alive.
source "$(dirname "$0")/lib.sh"
INDEX=$(realpath "$4")
make_direct_files
K=(--kernel "$T/img/vmlinuz" --initrd "$T/img/initrd.img" --layer "$T/img/layer0.erofs")
nothing_left() {
  [[ -z $(ls -A "$T/run/cloudhypervisor" 2>/dev/null) ]] || die "run dir left: $(ls "$T/run/cloudhypervisor")"
  [[ -z $(ls -A "$T/log/cloudhypervisor" 2>/dev/null) ]] || die "log dir left"
  [[ -z $(ls -A "$T/root/cloudhypervisor/db/vms" 2>/dev/null) ]] || die "record left"
  [[ -z $(ls -A "$T/root/cloudhypervisor/db/names" 2>/dev/null) ]] || die "name left"
}

# Usage errors: exit 2, nothing on stdout, nothing made.
run "$LAUNCH" create --name web "${K[@]}" --nic "tap=t0,ip=10.0.0.2/33"
[[ $rc == 2 && -z $out && $err == *"--nic tap=t0,ip=10.0.0.2/33"*prefix* ]] || die "bad --nic"
run "$LAUNCH" create --name web --kernel "$T/img/vmlinuz"
[[ $rc == 2 && -z $out && $err == *--initrd* ]] || die "kernel without initrd"
run "$LAUNCH" frobnicate web
[[ $rc == 2 && -z $out && $err == *'unknown command "frobnicate"'* ]] || die "unknown command"
# Flags a verb does not take are refused, not ignored.
run "$LAUNCH" create --name web --timeout=5s "${K[@]}"
[[ $rc == 2 && -z $out && $err == *"--timeout applies to stop and rm, not create"* ]] || die "create --timeout"
run "$LAUNCH" start --force web
[[ $rc == 2 && -z $out && $err == *"--force applies to rm, not start"* ]] || die "start --force"
# A name that is a valid id would stand for another VM: refused.
run "$LAUNCH" create --name 0123456789abcdef "${K[@]}"
[[ $rc != 0 && -z $out && $err == *'"0123456789abcdef" is invalid: 16 lowercase hex characters are a VM id, not a name'* ]] \
  || die "a name that is an id"
run "$LAUNCH" stop --timeout=soon web
[[ $rc == 2 && -z $out ]] || die "bad --timeout"
run "$LAUNCH" create --name web --memory 1G --memory-typo 1 "${K[@]}"
[[ $rc == 2 && -z $out ]] || die "unknown flag"
nothing_left

# More vCPUs than the host has: refused, never clamped.
run "$LAUNCH" create --name web --cpu $(( $(nproc) + 1 )) "${K[@]}"
[[ $rc == 1 && -z $out && $err == *"vm \"web\": create: config.cpu: $(( $(nproc) + 1 )) vCPUs requested but the host has $(nproc) CPUs"* ]] \
  || die "cpu above host"
nothing_left

# A NIC without a MAC gets a random locally administered one.
run "$LAUNCH" create --name nomac --cpu 1 "${K[@]}" --nic tap=tap7
[[ $rc == 0 && $(field mac) =~ ^[0-9a-f][26ae](:[0-9a-f]{2}){5}$ ]] || die "generated mac: $(field mac)"
run "$LAUNCH" rm nomac
[[ $rc == 0 ]] || die "rm nomac"
nothing_left

# A missing kernel: the placeholder, dirs and COW are all rolled back.
run "$LAUNCH" create --name web --kernel "$T/img/nope" --initrd "$T/img/initrd.img"
[[ $rc == 1 && -z $out && $err == *'vm "web": create: kernel '"$T/img/nope"': No such file'* ]] || die "missing kernel"
nothing_left
# A stream with one good and one bad VM: the good one is printed, exit 1.
printf 'vm { config { name: "a" cpu: 1 memory_bytes: 536870912 storage_bytes: 10737418240 }
  boot { kernel_path: "%s" initrd_path: "%s" } }
vm { config { name: "b" cpu: 1 memory_bytes: 1 storage_bytes: 10737418240 }
  boot { kernel_path: "%s" initrd_path: "%s" } }\n' \
  "$T/img/vmlinuz" "$T/img/initrd.img" "$T/img/vmlinuz" "$T/img/initrd.img" >"$T/in.txtpb"
run "$LAUNCH" create <"$T/in.txtpb"
[[ $rc == 1 && $(grep -c '^vm {' <<<"$out") == 1 && $(field name) == a ]] || die "partial stream"
[[ $err == *'vm "b": create: config.memory_bytes'* ]] || die "memory error: $err"
run "$LAUNCH" create <<<'vm { bogus: 1 }'
[[ $rc == 1 && -z $out && $err == *"<stdin>:1:"* ]] || die "parse error (bad input: exit 1 in every tool)"

# Name taken: AlreadyExists, the existing VM untouched.
run_dir_a=$(ls -d "$T"/run/cloudhypervisor/*)
run "$LAUNCH" create --name a --cpu 1 "${K[@]}"
[[ $rc == 1 && -z $out && $err == *'name already used'* && -e $run_dir_a/cow.raw ]] || die "dup name"

# A pid file naming an unrelated process (even one whose argv holds this
# VM's api.sock) is never signalled, and does not count as running.
bash -c 'sleep 600; :' decoy "$run_dir_a/api.sock" &
decoy=$!
echo "$decoy" >"$run_dir_a/ch.pid"
run "$LAUNCH" stop a
[[ $rc == 0 ]] || die "stop with a decoy pid"
kill -0 "$decoy" 2>/dev/null || die "decoy was signalled by stop"
echo "$decoy" >"$run_dir_a/ch.pid"
run "$LAUNCH" start a
[[ $rc == 0 && $(field state) == RUNNING && $(field pid) != "$decoy" ]] || die "start over a decoy pid file"
kill -0 "$decoy" 2>/dev/null || die "decoy was signalled by start"
pid=$(field pid)

# An `error` record whose CH is alive becomes running again (no relaunch).
"$INDEX" get a | sed 's/state: RUNNING/state: ERROR/; /^ *pid:/d; /^ *api_socket:/d' | "$INDEX" put >/dev/null \
  || die "vm-index put"
run "$LAUNCH" start a
[[ $rc == 0 && $(field state) == RUNNING && $(field pid) == "$pid" ]] || die "error -> running"

# A crashed CH: stale api.sock and ch.pid are cleaned, start works.
kill -9 "$pid"
while [[ -e /proc/$pid && $(awk '{print $3}' /proc/$pid/stat 2>/dev/null) != Z ]]; do sleep 0.01; done
[[ -S $run_dir_a/api.sock ]] || die "expected a stale socket"
run "$LAUNCH" start a
[[ $rc == 0 && $(field state) == RUNNING && $(field pid) != "$pid" ]] || die "start after crash"
run "$LAUNCH" stop a
[[ $rc == 0 ]] || die "stop"

# A kernel that vanished is named before anything is launched.
mv "$T/img/vmlinuz" "$T/img/vmlinuz.gone"
run "$LAUNCH" start a
[[ $rc == 1 && -z $out && $err == *"vm \"a\": start: boot.kernel_path: $T/img/vmlinuz: No such file or directory"* ]] \
  || die "start with the kernel gone"
[[ ! -e $run_dir_a/ch.pid ]] || die "pid file after a refused start"
mv "$T/img/vmlinuz.gone" "$T/img/vmlinuz"
run "$LAUNCH" start a
[[ $rc == 0 && $(field state) == RUNNING ]] || die "start after fixing"

# rm: one ref fails, the other succeeds; exit 1, the success printed.
run "$LAUNCH" rm --force a nope
[[ $rc == 1 && $(field name) == a && $err == *'vm "nope": not found'* ]] || die "rm mixed"
kill "$decoy"
nothing_left

# A CH whose pid file is gone is still this VM's CH: it listens on the VM's
# api.sock and names it in its argv. start reports it, stop stops it.
run "$LAUNCH" create --name orphan --cpu 1 "${K[@]}"
orphan_dir=$(field run_dir)
run "$LAUNCH" start orphan
opid=$(field pid)
rm "$orphan_dir/ch.pid"
run "$LAUNCH" start orphan
[[ $rc == 0 && $(field pid) == "$opid" ]] || die "start with the pid file gone"
run "$LAUNCH" stop orphan
[[ $rc == 0 && $(field state) == STOPPED ]] || die "stop with the pid file gone"
kill -0 "$opid" 2>/dev/null && die "CH $opid alive after stop"

# A process that serves the VM's api.sock but cannot be proven to be its CH
# (its argv does not name the socket) is never counted as stopped: start,
# stop, rm --force and vm-index rm refuse, and nothing is removed.
SOCK="$orphan_dir/api.sock" python3 -c 'import os,socket,time
s=socket.socket(socket.AF_UNIX); s.bind(os.environ["SOCK"]); s.listen(8); time.sleep(600)' &
squatter=$!
for _ in $(seq 500); do [[ -S $orphan_dir/api.sock ]] && break; sleep 0.01; done
for cmd in start stop "rm --force"; do
  run "$LAUNCH" $cmd orphan
  [[ $rc == 1 && -z $out && $err == *"pid $squatter"*"serves $orphan_dir/api.sock"*"cannot prove"* ]] \
    || die "$cmd with an unprovable process on the socket"
done
run "$INDEX" rm orphan
[[ $rc == 1 && -z $out && $err == *"cannot tell whether Cloud Hypervisor is running"* ]] \
  || die "vm-index rm with an unprovable process on the socket"
[[ -S $orphan_dir/api.sock ]] && kill -0 "$squatter" || die "the squatter or its socket is gone"
kill "$squatter"; wait "$squatter" 2>/dev/null
run "$LAUNCH" rm orphan
[[ $rc == 0 ]] || die "rm after the squatter is gone"
nothing_left

# The pipeline of the usage text: records flow from one command to the next.
run bash -c "'$LAUNCH' create --name p --cpu 1 ${K[*]} | '$LAUNCH' start | '$LAUNCH' stop | '$LAUNCH' rm"
[[ $rc == 0 && -z $err && $(field name) == p && $(field state) == STOPPED ]] || die "pipeline"
nothing_left
# An empty stream is no work: exit 0, nothing printed.
run "$LAUNCH" stop </dev/null
[[ $rc == 0 && -z $out ]] || die "empty stream stop"

# A CH that ignores SIGTERM (a hung VMM): stop escalates to SIGKILL after the
# grace period of the config file, and the VM ends STOPPED.
printf 'terminate_grace_seconds: 1\n' >"$T/config.txtpb"
run "$LAUNCH" create --name hung --cpu 1 "${K[@]}"
[[ $rc == 0 ]] || die "create hung"
CHSIM_IGNORE_SIGTERM=1 run "$LAUNCH" start --config="$T/config.txtpb" hung
[[ $rc == 0 && $(field state) == RUNNING ]] || die "start hung (ignoring SIGTERM)"
pid=$(field pid)
start_ns=$(date +%s%N)
run "$LAUNCH" stop --config="$T/config.txtpb" hung
stop_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
[[ $rc == 0 && $(field state) == STOPPED ]] || die "stop of a CH that ignores SIGTERM"
(( stop_ms >= 1000 )) || die "SIGKILL came before the 1 s grace period (${stop_ms} ms)"
kill -0 "$pid" 2>/dev/null && [[ $(awk '{print $3}' /proc/$pid/stat 2>/dev/null) != Z ]] \
  && die "CH $pid still alive after stop"
run "$LAUNCH" rm hung
[[ $rc == 0 ]] || die "rm hung"
nothing_left
# Concurrent starts of one VM launch one CH (not two on the same disks): the
# second waits for the first and reports the same process.
run "$LAUNCH" create --name twin --cpu 1 "${K[@]}"
twin_dir=$(field run_dir)
for i in 1 2 3; do
  "$LAUNCH" start twin >"$T/s1" 2>&1 & p1=$!
  "$LAUNCH" start twin >"$T/s2" 2>&1 & p2=$!
  wait $p1 || { out=$(<"$T/s1"); die "concurrent start 1"; }
  wait $p2 || { out=$(<"$T/s2"); die "concurrent start 2"; }
  # CH processes of this VM, not counting a CH's own helper children.
  n=$(ps -eo pid=,ppid=,args= | awk -v s="--api-socket $twin_dir/api.sock " \
    '$3 ~ /cloud-hypervisor$/ && index($0, s) { pid[$1] = $2 } END { for (p in pid) if (!(pid[p] in pid)) n++; print n + 0 }')
  pid1=$(sed -n 's/^ *pid: //p' "$T/s1") pid2=$(sed -n 's/^ *pid: //p' "$T/s2")
  [[ $n == 1 && $pid1 == "$pid2" ]] || die "concurrent starts: $n CH processes (pids $pid1, $pid2)"
  run "$LAUNCH" stop twin
  [[ $rc == 0 ]] || die "stop twin"
done
run "$LAUNCH" rm twin
[[ $rc == 0 ]] || die "rm twin"
nothing_left
# Paths typed relative on the command line are made absolute in the record,
# so start works from any directory.
cd "$T/img" || die "cd"
run "$LAUNCH" create --name rel --cpu 1 --kernel vmlinuz --initrd ./initrd.img --layer layer0.erofs
cd / || die "cd /"
[[ $rc == 0 && $(field kernel_path) == "$T/img/vmlinuz" && $(field initrd_path) == "$T/img/initrd.img" \
  && $(field path) == "$T/img/layer0.erofs" ]] || die "relative paths on the command line"
run "$LAUNCH" start rel
[[ $rc == 0 && $(field state) == RUNNING ]] || die "start of a VM created with relative paths"
run "$LAUNCH" rm --force rel
[[ $rc == 0 ]] || die "rm rel"
nothing_left
# A record that the index would refuse is refused before anything is made: a
# relative path (it would resolve against start's directory), a path CH's
# option syntax cannot carry.
cd "$T/img" || die "cd"
printf 'vm { config { name: "relrec" cpu: 1 memory_bytes: 536870912 storage_bytes: 10737418240 }
  boot { kernel_path: "vmlinuz" initrd_path: "%s" } }\n' "$T/img/initrd.img" >"$T/rel.txtpb"
run "$LAUNCH" create <"$T/rel.txtpb"
cd / || die "cd /"
[[ $rc == 1 && -z $out && $err == *'vm "relrec": create: boot.kernel_path: "vmlinuz" is not an absolute path'* ]] \
  || die "relative path in a record"
cp "$T/img/layer0.erofs" "$T/img/a,b.erofs"
run "$LAUNCH" create --name comma --cpu 1 --kernel "$T/img/vmlinuz" --initrd "$T/img/initrd.img" \
  --layer "$T/img/a,b.erofs"
[[ $rc == 1 && -z $out && $err == *"storage[0].path: "*"contains ','"* ]] || die "path with a comma"
nothing_left
echo PASS

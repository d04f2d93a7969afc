#!/usr/bin/env bash
# vm-index through the real binary: exit codes 0/1/2, empty stdout on failure,
# stdin pipelines, rm refusing a VM whose CH process is alive, fsck/--repair,
# the terminal default format, --help examples.
set -u
tool=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
die() { echo "FAIL: $*" >&2; exit 1; }

tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/vmi.XXXXXX")
mkdir -p "$tmp/root"
export CHTOOLS_ROOT_DIR=$tmp/root CHTOOLS_RUN_DIR=$tmp/run CHTOOLS_LOG_DIR=$tmp/log
export CHTOOLS_CONFIG=/dev/null CHTOOLS_CH_BINARY=cloud-hypervisor
fake_pid=
trap '[[ -n $fake_pid ]] && kill $fake_pid 2>/dev/null; rm -rf "$tmp"' EXIT

hdr='# proto-file: lib/record/records.proto
# proto-message: chtools.Records'
vm() {  # id name state
  printf 'vm {\n  id: "%s"\n  state: %s\n  config { name: "%s" cpu: 1 memory_bytes: 536870912 storage_bytes: 10737418240 }\n}\n' "$1" "$3" "$2"
}
{ echo "$hdr"; vm 3f9c0a1b2c3d4e5f web CREATED; } > "$tmp/a.txtpb"
{ echo "$hdr"; vm 3f9d000000000001 db STOPPED; } > "$tmp/b.txtpb"

# --- exit 0: two concatenated streams are one stream.
out=$(cat "$tmp/a.txtpb" "$tmp/b.txtpb" | "$tool" put 2>&1); rc=$?
[[ $rc -eq 0 && $(grep -c '^vm {' <<<"$out") -eq 2 ]] || die "put of cat a b: rc=$rc out=$out"
out=$("$tool" ls --format=table); rc=$?
[[ $rc -eq 0 && $out == *"db    stopped"* && $out == *"web   created"* ]] || die "ls table: rc=$rc out=$out"

# get | put round trip changes nothing; get | rm takes refs from stdin.
before=$("$tool" get web)
out=$("$tool" get web | "$tool" put 2>&1) || die "get|put: $out"
[[ $("$tool" get web) == "$before" ]] || die "get|put changed the record"

# --- exit 1, empty stdout, one-line error.
out=$("$tool" get nope 2>"$tmp/err"); rc=$?
[[ $rc -eq 1 && -z $out && $(cat "$tmp/err") == 'vm-index: vm "nope": not found' ]] ||
  die "unknown ref: rc=$rc out=$out err=$(cat "$tmp/err")"
# A fresh host: the root is made on first use, owner-only.
out=$(CHTOOLS_ROOT_DIR=$tmp/missing/root "$tool" ls 2>"$tmp/err"); rc=$?
[[ $rc -eq 0 && -z $(grep -v '^#' <<<"$out") && ! -s $tmp/err && $(stat -c %a "$tmp/missing/root") == 700 ]] ||
  die "missing root: rc=$rc out=$out err=$(cat "$tmp/err")"
touch "$tmp/file"
out=$(CHTOOLS_ROOT_DIR=$tmp/file "$tool" ls 2>"$tmp/err"); rc=$?
[[ $rc -eq 1 && -z $out && $(cat "$tmp/err") == *"$tmp/file"*"not a directory"* ]] ||
  die "root is a file: rc=$rc out=$out err=$(cat "$tmp/err")"
out=$(printf 'vm {\n  id: 7\n}\n' | "$tool" put 2>"$tmp/err"); rc=$?
[[ $rc -eq 1 && -z $out && $(head -1 "$tmp/err") == 'vm-index: <stdin>:2:7: Expected string, got: 7' ]] ||
  die "malformed: rc=$rc out=$out err=$(cat "$tmp/err")"
out=$("$tool" --config="$tmp/none.txtpb" ls 2>"$tmp/err"); rc=$?
[[ $rc -eq 1 && -z $out && $(cat "$tmp/err") == *"none.txtpb: No such file or directory" ]] ||
  die "missing config: rc=$rc err=$(cat "$tmp/err")"

# --- exit 2 (usage), empty stdout.
for args in "" "frobnicate" "--bogus ls" "ls extra" "ls --repair" "get --state=running web" \
            "ls --format=yaml" "fsck extra" "put web"; do
  out=$("$tool" $args 2>"$tmp/err"); rc=$?
  [[ $rc -eq 2 && -z $out && $(cat "$tmp/err") == "vm-index: "*"(see --help)" ]] ||
    die "usage '$args': rc=$rc out=$out err=$(cat "$tmp/err")"
done

# --- A live CH process whose api.sock is gone: a stand-in named in ch.pid,
# whose argv holds the VM's api.sock and which holds the VM's disk open
# (what FindChProcess checks when nothing listens on the socket).
run=$tmp/run/cloudhypervisor/3f9c0a1b2c3d4e5f
mkdir -p "$run"
touch "$run/cow.raw"
(exec -a cloud-hypervisor sh -c 'exec 3<"$0"; sleep 600; :' "$run/cow.raw" --api-socket "$run/api.sock") &
fake_pid=$!
echo "$fake_pid" > "$run/ch.pid"
for _ in $(seq 50); do  # until the disk is open
  [[ $(readlink /proc/$fake_pid/fd/3) == "$run/cow.raw" ]] && break
  sleep 0.1
done
out=$("$tool" ls --state=running --format=textproto); rc=$?
[[ $rc -eq 0 && $out == *'name: "web"'* && $out == *"pid: $fake_pid"* &&
   $out == *"api_socket: \"$run/api.sock\""* && $out != *'"db"'* ]] ||
  die "ls --state=running: rc=$rc out=$out"
out=$("$tool" rm web 2>"$tmp/err"); rc=$?
[[ $rc -eq 1 && -z $out && $(cat "$tmp/err") == "vm-index: vm \"web\": rm: refusing to remove: Cloud Hypervisor is running as pid $fake_pid; stop it first (ch-launch stop web)" ]] ||
  die "rm live: rc=$rc out=$out err=$(cat "$tmp/err")"
"$tool" get web >/dev/null || die "rm of a live VM removed the record"
# fsck: recorded CREATED but alive.
out=$("$tool" fsck 2>"$tmp/err"); rc=$?
[[ $rc -eq 1 && $out == *'kind: "state-mismatch"'* && $out != *repaired* ]] || die "fsck live: rc=$rc out=$out"
kill "$fake_pid"; wait "$fake_pid" 2>/dev/null; fake_pid=

# fsck finds, changes nothing without --repair, repairs with it.
cat "$tmp/a.txtpb" | "$tool" put >/dev/null || die "reset web"
{ echo "$hdr"; vm 3f9d000000000001 db RUNNING; } | "$tool" put >/dev/null || die "put running db"
for i in 1 2; do
  out=$("$tool" fsck 2>"$tmp/err"); rc=$?
  [[ $rc -eq 1 && $out == *'kind: "state-mismatch"'* && $out != *repaired* &&
     $(cat "$tmp/err") == "vm-index: fsck: 1 problem found (vm-index fsck --repair fixes what it can)" ]] ||
    die "fsck run $i: rc=$rc out=$out err=$(cat "$tmp/err")"
done
out=$("$tool" fsck --repair 2>&1); rc=$?
[[ $rc -eq 0 && $out == *"repaired: true"* ]] || die "fsck --repair: rc=$rc out=$out"
out=$("$tool" fsck 2>&1); rc=$?
[[ $rc -eq 0 && $out == "$hdr" ]] || die "fsck after repair: rc=$rc out=$out"

# rm with refs from a stream, partial failure still prints what succeeded.
out=$("$tool" get db | "$tool" rm 2>&1); rc=$?
[[ $rc -eq 0 && $out == *'name: "db"'* ]] || die "get|rm: rc=$rc out=$out"
out=$("$tool" rm web nope 2>"$tmp/err"); rc=$?
[[ $rc -eq 1 && $out == *'name: "web"'* && $(cat "$tmp/err") == 'vm-index: vm "nope": not found' ]] ||
  die "rm partial: rc=$rc out=$out"
out=$("$tool" ls --format=textproto); [[ $out == "$hdr" ]] || die "index not empty: $out"

# A terminal gets a table by default; a pipe gets text proto.
out=$(script -qec "'$tool' ls" /dev/null </dev/null); rc=$?
[[ $rc -eq 0 && $out == "ID"*"NAME"*"STATE"* ]] || die "tty default: rc=$rc out=$out"
out=$("$tool" ls); [[ $out == "$hdr" ]] || die "pipe default: $out"
# put from a terminal would wait for ^D: a usage error instead.
out=$(script -qec "'$tool' put" /dev/null </dev/null); rc=$?
[[ $rc -eq 2 && $out == *"put reads a record stream from stdin, which is a terminal"* ]] ||
  die "put from tty: rc=$rc out=$out"

# Seccomp: the policy is on by the time a verb reads stdin (put blocked in
# read(0) shows "Seccomp: 2" in /proc/PID/status); --no-seccomp and
# CHTOOLS_NO_SECCOMP=1 leave it off.
seccomp_while_reading() {  # [flag]: prints the Seccomp mode of a waiting put
  local fifo=$tmp/fifo pid mode=timeout
  rm -f "$fifo" && mkfifo "$fifo"
  "$tool" "$@" put <"$fifo" >/dev/null 2>&1 &
  pid=$!
  exec 9>"$fifo"
  for _ in $(seq 200); do
    # "0 0x0 ...": the read syscall on fd 0.
    if [[ $(cut -d' ' -f1,2 /proc/$pid/syscall 2>/dev/null) == "0 0x0" ]]; then
      mode=$(awk '/^Seccomp:/ {print $2}' /proc/$pid/status)
      break
    fi
    sleep 0.05
  done
  exec 9>&-
  wait $pid || mode="$mode rc=$?"
  echo "$mode"
}
[[ $(seccomp_while_reading) == 2 ]] || die "put reads stdin without seccomp: $(seccomp_while_reading)"
[[ $(seccomp_while_reading --no-seccomp) == 0 ]] || die "--no-seccomp: $(seccomp_while_reading --no-seccomp)"
[[ $(CHTOOLS_NO_SECCOMP=1 seccomp_while_reading) == 0 ]] || die "CHTOOLS_NO_SECCOMP=1"

# --help: exit 0, an example for every verb.
out=$("$tool" --help); rc=$?
[[ $rc -eq 0 ]] || die "help rc=$rc"
for ex in "vm-index ls --state=" "vm-index get " "| vm-index put" "vm-index rm " "vm-index fsck --repair" "--root-dir" "Seccomp:" "--no-seccomp"; do
  [[ $out == *"$ex"* ]] || die "help lacks '$ex': $out"
done
echo PASS

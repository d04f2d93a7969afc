#!/usr/bin/env bash
# CH answering garbage or nothing: a hostile CH (fake_ch.py, run through
# --ch-binary like any CH wrapper) answers its API socket with non-HTTP
# bytes, a closed connection, silence, non-JSON, JSON of the wrong types, a
# 100 MiB body, a short body, or a console PTY that is a host file. Through
# ch-launch start and stop, ch-console and ch-snapshot save: each a clean
# error naming the endpoint or socket and the problem (escaped, bounded), no
# crash, no CH left behind by a failed start, the record readable, no
# snapshot or temp dir left, the victim file untouched.
source "$(dirname "$0")/lib.sh"
make_direct_files
export CHTOOLS_CH_BINARY=$HERE/fake_ch.py FAKE_CH_MODE_FILE=$T/mode FAKE_CH_VICTIM=$T/victim
echo precious >"$T/victim"
victim_intact() { [[ $(<"$T/victim") == precious ]] || die "$1: the victim file was written"; }
mode() { echo "$1" >"$T/mode"; }
# The wait for CH's answers (the "hang" case waits it out): long enough
# for a python CH on a loaded machine.
printf 'socket_wait_seconds: 10\nterminate_grace_seconds: 1\n' >"$T/config.txtpb"
export CHTOOLS_CONFIG=$T/config.txtpb
# readable: the index still parses (vm-index ls) and fsck finds it sound.
readable() {
  run "$INDEX" ls --format=textproto
  [[ $rc == 0 && $out == *'name: "f"'* ]] || die "$1: the index cannot be read"
}
fake_chs() { pgrep -f -- "fake_ch.py --api-socket $T/" | sort; }

run "$LAUNCH" create --name f --cpu 1 "${K[@]}"; [[ $rc == 0 ]] || die "create"
ID=$(field id)
SOCK=$T/run/cloudhypervisor/$ID/api.sock

# --- start against a CH that never answers sensibly: exit 1, the answer
# named, the CH it launched killed, the record ERROR and still readable.
declare -A WANT=(
  [garbage]="vm.info on $SOCK: bad HTTP status line \"\\x00\\xff\\xfeSSH-2.0-not-http\""
  [close]="connection closed before a complete answer (0 bytes received)"
  [hang]="vm.info on $SOCK: no complete answer within the timeout"
  [notjson]="vm.info: HTTP 200: body is not JSON: \"<html>not json</html>\""
  [wrongtype]="vm.info: the answer has no string \"state\": {"
  [array]="vm.info: the answer has no string \"state\": [1,2,3]"
  [huge]="bad Content-Length \"104857602\""
  [badlength]="connection closed before a complete answer (73 bytes received)"
)
for m in garbage close hang notjson wrongtype array huge badlength; do
  mode "$m"
  run "$LAUNCH" start f
  refused "start, CH $m" "vm \"f\": start: " "${WANT[$m]}"
  clean_stderr "start, CH $m"
  [[ -z $(fake_chs) ]] || die "start, CH $m: CH left running: $(fake_chs)"
  [[ ! -e $T/run/cloudhypervisor/$ID/ch.pid ]] || die "start, CH $m: pid file left"
  readable "start, CH $m"
  run "$INDEX" get f
  [[ $(field state) == ERROR && $out == *"error: \""* ]] || die "start, CH $m: state $(field state)"
done

# --- a running VM whose CH turns hostile.
mode ok
run "$LAUNCH" start f; [[ $rc == 0 && $(field state) == RUNNING ]] || die "start with a sane CH"
pid=$(field pid)
listed() { "$SNAP" ls | grep -c '^snapshot {'; }
store_clean() {
  [[ -z $(ls -A "$T/root/cloudhypervisor/snapshots" 2>/dev/null | grep -v '^\.lock$') ]] \
    || die "$1: left in the store: $(ls -A "$T/root/cloudhypervisor/snapshots")"
}
for m in garbage close notjson wrongtype array huge badlength hostpty; do
  mode "$m"
  # ch-console: never opens what CH names unless it is a PTY.
  run bash -c "echo hello | '$CONSOLE' --idle=1s f"
  [[ $rc == 1 && -z $out && $err == *'vm "f": console: '* ]] || die "console, CH $m: rc $rc"
  clean_stderr "console, CH $m"
  victim_intact "console, CH $m"
  # ch-snapshot save: no snapshot, nothing left in the store; the VM either
  # still RUNNING or (resume failed too: CH's state unknown) ERROR naming
  # vm.resume, which start turns back into RUNNING once CH answers.
  run "$SNAP" save f
  [[ $rc == 1 && -z $out && $err == *'vm "f": save: '* ]] || die "save, CH $m: rc $rc"
  # Where the answer is not HTTP or not whole, the error names the call.
  case $m in garbage|close|huge|badlength) [[ $err == *vm.pause* ]] || die "save, CH $m: vm.pause not named" ;; esac
  clean_stderr "save, CH $m"
  (( $(listed) == 0 )) || die "save, CH $m: a snapshot was listed"
  store_clean "save, CH $m"
  readable "save, CH $m"
  run "$INDEX" get f
  case $(field state) in
    RUNNING) ;;
    ERROR) [[ $out == *"error: \"snapshot: vm.resume failed"* ]] || die "save, CH $m: error $(field error)"
           mode ok; run "$LAUNCH" start f
           [[ $rc == 0 && $(field state) == RUNNING && $(field pid) == "$pid" ]] || die "save, CH $m: no recovery" ;;
    *) die "save, CH $m: state $(field state)" ;;
  esac
  [[ $(fake_chs) == "$pid" ]] || die "save, CH $m: the CH changed: $(fake_chs)"
  victim_intact "save, CH $m"
done

# A CH that hangs in vm.pause: save gives up (its per-call timeout), the VM
# is not left paused by us (resume attempted, fails the same way: ERROR).
mode hang
run "$SNAP" save f
[[ $rc == 1 && $err == *"vm.pause"* ]] || die "save, CH hang"
(( $(listed) == 0 )) || die "save, CH hang: a snapshot was listed"
store_clean "save, CH hang"

# --- stop through garbage: the API is best effort, the signals decide.
for m in garbage hang; do
  mode ok; run "$LAUNCH" start f; [[ $rc == 0 ]] || die "start before stop, CH $m"
  mode "$m"
  run "$LAUNCH" stop f
  [[ $rc == 0 && $(field state) == STOPPED ]] || die "stop, CH $m: rc $rc"
  [[ -z $(fake_chs) ]] || die "stop, CH $m: CH left running"
done
readable "after the hostile CH"
run "$INDEX" fsck; [[ $rc == 0 ]] || die "fsck after the hostile CH"
victim_intact "the end"
echo PASS

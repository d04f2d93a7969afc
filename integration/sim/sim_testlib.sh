# Helpers shared by the simulator's sh_tests. Source after setting
# sim=<binary> and client=<sim_client.py>.
export PATH="$PATH:/usr/sbin:/sbin"
die() { echo "FAIL: $*" >&2; exit 1; }
# Socket paths must fit sun_path (108 bytes): TEST_TMPDIR is too deep.
t=$(mktemp -d /tmp/simtest.XXXXXX)
cd "$t" || die "cd"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$t"
}
trap cleanup EXIT
api() { python3 "$client" api "$@"; }
con() { python3 "$client" console "$@"; }
wait_sock() {  # wait_sock PATH: up to 5 s for the API socket to answer
  for _ in $(seq 100); do
    [[ -S $1 ]] && api "$1" GET vmm.ping >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  die "socket $1 never answered"
}
wait_running() {  # wait_running PATH: up to 5 s for vm.info to say Running
  # A VM from the command line is created and booted only after the socket
  # answers (CHSIM_BOOT_DELAY_MS, README "Gotchas" 1), as with CH.
  local out
  for _ in $(seq 100); do
    out=$(api "$1" GET vm.info 2>/dev/null)
    [[ $out == 200* && $(echo "${out#200 }" | json 'd["state"]') == Running ]] && return 0
    sleep 0.05
  done
  die "VM behind $1 never Running: $out"
}
wait_exit() {  # wait_exit PID: up to 5 s; sets rc to its exit code
  local st
  for _ in $(seq 100); do
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)
    if [[ -z $st || $st == Z ]]; then wait "$1"; rc=$?; return; fi
    sleep 0.05
  done
  rc=timeout
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }


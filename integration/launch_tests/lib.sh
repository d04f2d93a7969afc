# Shared set-up of the ch-launch / ch-console end-to-end tests: a temporary
# root, run and log dir, absolute tool paths, fake boot files, die/expect.
set -u
export PATH=$PATH:/usr/sbin:/sbin
LAUNCH=$(realpath "$1")
CONSOLE=$(realpath "$2")
SIM=$(realpath "$3")
# Under /tmp, not $TEST_TMPDIR: unix socket paths must stay under 108 bytes.
T=$(mktemp -d /tmp/chl.XXXXXX)
export CHTOOLS_ROOT_DIR=$T/root CHTOOLS_RUN_DIR=$T/run CHTOOLS_LOG_DIR=$T/log
export CHTOOLS_CH_BINARY=$SIM
unset CHTOOLS_CONFIG
mkdir -p "$T/root" "$T/img"
out="" err="" rc=0

die() {
  echo "FAIL: $*" >&2
  echo "--- stdout:" >&2; echo "$out" >&2
  echo "--- stderr:" >&2; echo "$err" >&2
  exit 1
}

# run CMD...: captures stdout in $out, stderr in $err, exit code in $rc.
run() {
  local ef=$T/.err
  out=$("$@" 2>"$ef"); rc=$?
  err=$(<"$ef")
}

# field NAME: the first value of `NAME: ...` in $out (quotes stripped).
field() { sed -n "s/^ *$1: \"\{0,1\}\([^\"]*\)\"\{0,1\}$/\1/p" <<<"$out" | head -1; }

# Fake boot files: the simulator only opens them (and sniffs disk headers).
make_direct_files() {
  truncate -s 1M "$T/img/vmlinuz" "$T/img/initrd.img" "$T/img/layer0.erofs" "$T/img/layer1.erofs"
}
make_cloud_files() {
  truncate -s 1M "$T/img/CLOUDHV.fd"
  qemu-img create -q -f qcow2 "$T/img/base.qcow2" 2G || die "qemu-img create base"
}

# Kill whatever CH a test left behind (by pid file, only our simulator).
cleanup() {
  local f
  for f in "$T"/run/cloudhypervisor/*/ch.pid; do
    [[ -f $f ]] || continue
    local p; p=$(<"$f")
    [[ $(readlink "/proc/$p/exe" 2>/dev/null) == "$SIM" ]] && kill -9 "$p" 2>/dev/null
  done
  local j; for j in $(jobs -p); do kill "$j" 2>/dev/null; done  # e.g. a decoy process
  rm -rf "$T"
  return 0
}
trap cleanup EXIT

# has_line TEXT: some console output line in $out is TEXT (after the guest
# prompt "root@host:~# ", if any, and a trailing CR).
has_line() { sed 's/\r$//; s/^root@[^#]*# //' <<<"$out" | grep -qxF -- "$1"; }

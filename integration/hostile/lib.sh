# Shared set-up of the hostile-input tests: a temporary root, run and log dir,
# absolute tool paths (argv: ch-launch ch-console simulator vm-index
# ch-snapshot ch-clone ch-gc), fake boot files, die/run/field, and the
# checks every case makes: nothing changed (world), no process left behind.
set -u
export PATH=$PATH:/usr/sbin:/sbin
LAUNCH=$(realpath "$1") CONSOLE=$(realpath "$2") SIM=$(realpath "$3") INDEX=$(realpath "$4")
SNAP=$(realpath "$5") CLONE=$(realpath "$6") GC=$(realpath "$7")
HERE=$(dirname "$(realpath "$0")")
# Under /tmp, not $TEST_TMPDIR: unix socket paths must stay under 108 bytes.
T=$(mktemp -d /tmp/chh.XXXXXX)
export CHTOOLS_ROOT_DIR=$T/root CHTOOLS_RUN_DIR=$T/run CHTOOLS_LOG_DIR=$T/log
export CHTOOLS_CH_BINARY=$SIM
unset CHTOOLS_CONFIG CHTOOLS_NO_SECCOMP
mkdir -p "$T/root" "$T/img"
out="" err="" rc=0

die() {
  echo "FAIL: $*" >&2
  echo "--- stdout:" >&2; head -c 4000 <<<"$out" >&2
  echo "--- stderr:" >&2; head -c 4000 <<<"$err" >&2
  exit 1
}

# run CMD...: stdout in $out, stderr in $err, exit code in $rc.
run() {
  local ef=$T/.err
  out=$("$@" 2>"$ef"); rc=$?
  err=$(<"$ef")
}

# field NAME: the first value of `NAME: ...` in $out (quotes stripped).
field() { sed -n "s/^ *$1: \"\{0,1\}\([^\"]*\)\"\{0,1\}$/\1/p" <<<"$out" | head -1; }

# refused WHAT WANT...: the last run exited 1 or 2, printed nothing on
# stdout, and its stderr holds every WANT (the input named, the problem).
refused() {
  local what=$1 w; shift
  [[ $rc == 1 || $rc == 2 ]] || die "$what: exit $rc, expected 1 or 2"
  [[ -z $out ]] || die "$what: printed records on stdout"
  for w in "$@"; do [[ $err == *"$w"* ]] || die "$what: stderr lacks \"$w\""; done
}

# clean_stderr WHAT: the last run's error is short and safe for a terminal:
# at most 4 KiB, valid UTF-8, no control characters but newline and tab.
clean_stderr() {
  local n; n=$(wc -c <"$T/.err")
  ((n <= 4096)) || die "$1: $n bytes of stderr"
  python3 - "$T/.err" <<'PY' || die "$1: stderr is not printable text: $(head -c 300 "$T/.err" | od -c | head -5)"
import re, sys
b = open(sys.argv[1], "rb").read()
b.decode("utf-8")
sys.exit(1 if re.search(rb"[\x00-\x08\x0b-\x1f\x7f]", b) else 0)
PY
}

make_direct_files() {
  truncate -s 1M "$T/img/vmlinuz" "$T/img/initrd.img" "$T/img/layer0.erofs"
}
K=(--kernel "$T/img/vmlinuz" --initrd "$T/img/initrd.img" --layer "$T/img/layer0.erofs")

# Every process whose argv names the test's dirs (a CH, a fake CH, a tool).
our_procs() { pgrep -f -- "$T/" | grep -vx "$$" | sort; }

# world: what a refused operation must leave as it was: every path under the
# root, run and log dirs with its type, size and mtime, the hash of each
# small file, and the processes that name the test dir.
world() {
  # Big files (a 10 GiB sparse disk) by size and mtime (not blocks: delayed
  # allocation changes them after a copy); small ones
  # (records, JSON, pid files) by content too.
  # Lock files (empty, made on first use: *.lock, oplocks/*) and dir mtimes
  # (a lock made and removed) are not state.
  (cd "$T" && find root run log \( -name '*.lock' -o -path '*/oplocks/*' \) -prune -o \
    \( -type d -printf '%p d %m\n' \) -o -printf '%p %y %s %m %T@\n' 2>/dev/null | sort)
  (cd "$T" && find root run log \( -name '*.lock' -o -path '*/oplocks/*' \) -prune -o \
    -type f -size -1M -print0 2>/dev/null | sort -z \
    | xargs -0r sha256sum)
  echo "procs: $(our_procs | tr '\n' ' ')"
}

# unchanged WHAT: the world is the one saved in $before.
unchanged() {
  local now; now=$(world)
  [[ $now == "$before" ]] || die "$1 changed things: $(diff <(echo "$before") <(echo "$now") | head -20)"
}

# Kill whatever a test left behind: processes that name the test dir.
cleanup() {
  local p
  for p in $(pgrep -f -- "$T/"); do [[ $p != "$$" ]] && kill -9 "$p" 2>/dev/null; done
  local m
  for m in $(awk -v t="$T/" 'index($2, t) == 1 {print $2}' /proc/mounts | sort -r); do umount "$m"; done
  rm -rf "$T"
  return 0
}
trap cleanup EXIT

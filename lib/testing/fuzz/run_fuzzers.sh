#!/usr/bin/env bash
# Builds every fuzz target with --config=fuzz (clang-14, libFuzzer, ASan,
# UBSan) and runs each until it has made --runs executions or --minutes have
# passed, --jobs targets at a time; then prints one line per target:
# executions, executions/s, coverage (edges), features, corpus size, crashes.
#
#   lib/testing/fuzz/run_fuzzers.sh [--minutes N] [--runs N] [--jobs N]
#                                   [--out DIR] [target-label...]
#
# The fuzz build has its own Bazel output base (~/.cache/chtools-fuzz), so
# the normal build stays warm. Seeds are read from testdata/fuzz/<target>/ and
# never written; new inputs go to DIR/<target>/corpus, crashes to
# DIR/<target>/crash-*. A crash: reproduce with the printed command, fix, and
# add the input to testdata/fuzz/<target>/ as crash-<what-it-found>, where
# the target's corpus test (`bazel test //...`) replays it from then on.
set -uo pipefail
cd "$(dirname "$0")/../../.."
minutes=60 runs=10000000 jobs=1 out=/tmp/chtools-fuzz
targets=()
while (($#)); do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    -*) echo "run_fuzzers.sh: unknown flag $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
bazel_fuzz=(bazel --output_base="$HOME/.cache/chtools-fuzz")
if ((${#targets[@]} == 0)); then
  list=$(bazel query 'attr(tags, fuzz_target, //...)' 2>/dev/null)
  mapfile -t targets <<<"$list"
fi
"${bazel_fuzz[@]}" build --config=fuzz "${targets[@]}"
bin=$("${bazel_fuzz[@]}" info --config=fuzz bazel-bin 2>/dev/null)
mkdir -p "$out"

run_one() {
  local label=$1 pkg name dir
  pkg=${label#//}; pkg=${pkg%%:*}; name=${label##*:}
  dir="$out/$name"
  mkdir -p "$dir/corpus"
  (cd "$dir" && "$bin/$pkg/$name" -runs="$runs" \
     -max_total_time=$((minutes * 60)) -print_final_stats=1 \
     -artifact_prefix="$dir/" corpus "$OLDPWD/testdata/fuzz/$name" \
     >"$dir/log" 2>&1) || true
}

running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if ((running >= jobs)); then wait -n || true; running=$((running - 1)); fi
done
wait

printf '%-22s %12s %8s %6s %7s %7s %s\n' target executions exec/s cov ft corpus crashes
for t in "${targets[@]}"; do
  name=${t##*:}; dir="$out/$name"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)
  last=$(grep -E '^#[0-9]+[[:space:]].*cov: ' "$dir/log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  crashes=$(find "$dir" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' \
    -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  printf '%-22s %12s %8s %6s %7s %7s %s\n' "$name" "${execs:-?}" "${rate:-?}" \
    "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes"
  if ((crashes)); then
    find "$dir" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' \
      -o -name 'timeout-*' -o -name 'oom-*' \) -printf '  %p\n'
    pkg=${t#//}; pkg=${pkg%%:*}
    echo "  reproduce: $bin/$pkg/$name <file>   (log: $dir/log)"
  fi
done

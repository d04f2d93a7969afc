#!/usr/bin/env bash
# Exit codes and messages of lib/cli/tool through a real binary.
set -u
tool=$1
die() { echo "FAIL: $*" >&2; exit 1; }

out=$("$tool" --count=3 a --loud -- --b - 2>&1); rc=$?
[[ $rc -eq 0 && $out == "max=0 count=3 loud=1 args=a,--b,-" ]] || die "parse: rc=$rc out=$out"
out=$("$tool" --count 4 --noloud x 2>&1); rc=$?
[[ $rc -eq 0 && $out == "max=0 count=4 loud=0 args=x" ]] || die "space value: rc=$rc out=$out"
out=$("$tool" --bogus 2>&1); rc=$?
[[ $rc -eq 2 && $out == "tool_testtool: unknown flag: --bogus (see --help)" ]] || die "unknown: rc=$rc out=$out"
out=$("$tool" --count=abc 2>&1); rc=$?
[[ $rc -eq 2 && $out == *"--count=abc"* ]] || die "bad value: rc=$rc out=$out"
out=$("$tool" --count 2>&1); rc=$?
[[ $rc -eq 2 ]] || die "missing value: rc=$rc out=$out"
out=$("$tool" --fail="no such vm" 2>&1); rc=$?
[[ $rc -eq 1 && $out == "tool_testtool: no such vm" ]] || die "failure: rc=$rc out=$out"
out=$("$tool" --help 2>&1); rc=$?
[[ $rc -eq 0 && $out == *"--count"*"A number."* && $out != *flagfile* ]] || die "help: rc=$rc out=$out"
out=$("$tool" --max-count=5 --max_count=6 2>&1); rc=$?
[[ $rc -eq 0 && $out == "max=6 count=1 loud=0 args=" ]] || die "hyphen names: rc=$rc out=$out"
out=$("$tool" --help 2>&1)
[[ $out == *"--max-count"* ]] || die "help shows hyphens: $out"
echo PASS

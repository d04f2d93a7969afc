#!/usr/bin/env bash
# ch-launch's confined record parser (lib/cli/confined_stream.h) through the
# real binary: the child that reads stdin runs under seccomp (Seccomp: 2)
# while ch-launch itself does not; a child killed by SIGSYS is reported,
# exit 1, nothing made; malformed streams give the same error text and exit
# code with and without --no-seccomp.
source "$(dirname "$0")/lib.sh"
make_direct_files
nothing_left() {
  [[ -z $(ls -A "$T/run/cloudhypervisor" 2>/dev/null) ]] || die "run dir left"
  [[ -z $(ls -A "$T/root/cloudhypervisor/db/vms" 2>/dev/null) ]] || die "record left"
}
seccomp_mode() { sed -n 's/^Seccomp:[[:space:]]*//p' "/proc/$1/status"; }
# child_of PID: its one child (the parser), waiting up to 5s for it.
child_of() {
  local i c
  for i in $(seq 50); do
    c=$(cat "/proc/$1/task/$1/children" 2>/dev/null)
    [[ -n $c ]] && { echo "${c%% *}"; return 0; }
    sleep 0.1
  done
  return 1
}
# rec NAME [MEMORY_BYTES]: a direct-boot vm input record.
rec() {
  printf 'vm { config { name: "%s" cpu: 1 memory_bytes: %s storage_bytes: 10737418240 }
  boot { kernel_path: "%s" initrd_path: "%s" } }\n' "$1" "${2:-536870912}" "$T/img/vmlinuz" "$T/img/initrd.img"
}

# --- Malformed streams: the same stderr and exit code, confined or not.
i=0
for text in 'vm { bogus: 1 }' 'vm { config { name: "a" }' $'vm {\n  config { cpu: "two" }\n}' \
    'vm { config { name: "a" name: "b" } }' 'snapshot { id: 3 }'; do
  for verb in create start debug; do
    i=$((i + 1))
    run "$LAUNCH" "$verb" <<<"$text"; c_rc=$rc c_out=$out c_err=$err
    run "$LAUNCH" --no-seccomp "$verb" <<<"$text"
    [[ $c_rc == 1 && -z $c_out && $c_err == *"<stdin>:"* ]] || { out=$c_out err=$c_err; die "confined $verb: $text"; }
    [[ $rc == "$c_rc" && $out == "$c_out" && $err == "$c_err" ]] || die "$verb differs without seccomp: $text (confined: $c_err)"
  done
done
# A record with neither id nor name (a stream error after parsing): same too.
run "$LAUNCH" stop <<<'vm { state: RUNNING }'; c_rc=$rc c_err=$err
run env CHTOOLS_NO_SECCOMP=1 "$LAUNCH" stop <<<'vm { state: RUNNING }'
[[ $c_rc == 1 && $rc == 1 && $err == "$c_err" && $err == *"neither an id nor a config.name"* ]] || die "no id nor name: $c_err"
# Per-VM errors are unchanged: one good, one bad VM.
{ rec good; rec bad 1; } >"$T/two.txtpb"
run "$LAUNCH" create <"$T/two.txtpb"
[[ $rc == 1 && $(grep -c '^vm {' <<<"$out") == 1 && $(field name) == good && $err == *'vm "bad": create: config.memory_bytes'* ]] \
  || die "partial stream"
run "$LAUNCH" rm good; [[ $rc == 0 ]] || die "rm good"
nothing_left
# Text that is not UTF-8 cannot cross to the parent: the stream is refused.
printf 'vm { config { name: "\\377" } }\n' >"$T/bad-utf8.txtpb"
run "$LAUNCH" create <"$T/bad-utf8.txtpb"
[[ $rc == 1 && -z $out && $err == *'<stdin>: vm[0].config.name: is not valid UTF-8'* ]] || die "utf-8"
nothing_left

# --- The parser child is confined, ch-launch is not.
mkfifo "$T/in"
# A writer that writes nothing yet: the child blocks reading. ch-launch must
# not inherit it (3>&-), or stdin never ends.
exec 3<>"$T/in"
"$LAUNCH" create <"$T/in" 3>&- >"$T/out" 2>"$T/err" &
pid=$!
child=$(child_of "$pid") || die "no parser child"
# The child loads its filter right after fork: give it a moment.
for i in $(seq 50); do [[ $(seccomp_mode "$child") == 2 ]] && break; sleep 0.1; done
[[ $(seccomp_mode "$child") == 2 ]] || die "child Seccomp: $(seccomp_mode "$child")"
[[ $(seccomp_mode "$pid") == 0 ]] || die "ch-launch itself confined: $(seccomp_mode "$pid")"
rec web >&3
exec 3>&-
wait "$pid"; rc=$?
out=$(<"$T/out") err=$(<"$T/err")
[[ $rc == 0 && $(field name) == web ]] || die "create through the fifo"
run "$LAUNCH" rm web; [[ $rc == 0 ]] || die "rm web"
nothing_left

# --- A parser child killed by SIGSYS: a clear error, exit 1, nothing made.
exec 3<>"$T/in"
"$LAUNCH" create <"$T/in" 3>&- >"$T/out" 2>"$T/err" &
pid=$!
child=$(child_of "$pid") || die "no parser child"
kill -SYS "$child"
wait "$pid"; rc=$?
exec 3>&-
out=$(<"$T/out") err=$(<"$T/err")
[[ $rc == 1 && -z $out && $err == "ch-launch: <stdin>: record parser: killed by signal 31 (Bad system call): a syscall outside its seccomp policy" ]] \
  || die "SIGSYS child: rc=$rc"
nothing_left

# --- --no-seccomp: no child, in-process parse.
exec 3<>"$T/in"
"$LAUNCH" --no-seccomp create <"$T/in" 3>&- >"$T/out" 2>"$T/err" &
pid=$!
sleep 0.5
[[ -z $(cat "/proc/$pid/task/$pid/children") ]] || die "a child with --no-seccomp"
exec 3>&-
wait "$pid"; rc=$?
[[ $rc == 0 ]] || die "empty stream with --no-seccomp: rc=$rc"
echo PASS

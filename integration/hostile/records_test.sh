#!/usr/bin/env bash
# Hostile record streams through every tool that reads records (vm-index put,
# get, rm; ch-launch create, start, stop, rm, debug; ch-snapshot save, get,
# rm): deep nesting, huge strings, 1 M records, streams past the size cap,
# invalid UTF-8, NULs, terminal escapes, path-like ids, binary junk. Each is
# refused with exit 1 or 2, nothing on stdout, an error naming the input and
# the problem in a bounded, escaped message, and nothing changed: the index,
# the run, log and snapshot dirs, the running VM and its CH.
source "$(dirname "$0")/lib.sh"
make_direct_files
IN=$T/in
mkdir -p "$IN"
MEASURE=0

# The world the streams must leave as it is: a stopped VM, a running one and
# a snapshot of it.
run "$LAUNCH" create --name a --cpu 1 "${K[@]}"; [[ $rc == 0 ]] || die "create a"
run "$LAUNCH" create --name b --cpu 1 "${K[@]}"; [[ $rc == 0 ]] || die "create b"
run "$LAUNCH" start b; [[ $rc == 0 ]] || die "start b"
run "$SNAP" save b --name s; [[ $rc == 0 ]] || die "save b"
before=$(world)

VM_REFS=("$INDEX get" "$INDEX rm" "$LAUNCH start" "$LAUNCH stop" "$LAUNCH rm" "$LAUNCH debug" "$SNAP save")
VM_WRITERS=("$INDEX put" "$LAUNCH create")
SNAP_REFS=("$SNAP get" "$SNAP rm")
# ch-launch parses its stream in a confined child that hands the records back
# in binary, which cannot carry invalid UTF-8: it refuses that at parse time.
LAUNCH_REFS=("$LAUNCH start" "$LAUNCH stop" "$LAUNCH rm" "$LAUNCH debug")
OTHER_VM_REFS=("$INDEX get" "$INDEX rm" "$SNAP save")
ALL=("${VM_REFS[@]}" "${VM_WRITERS[@]}" "${SNAP_REFS[@]}")


# feed FILE WANT... over TOOLS (the array named by $tools): every tool refuses.
feed() {
  local file=$1 cmd; shift
  local -n list=$tools
  for cmd in "${list[@]}"; do
    if ((MEASURE)); then
      run /usr/bin/time -f 'TIME %e %M' -o "$T/time" $cmd <"$file"
      local secs kib
      read -r _ secs kib < <(grep '^TIME ' "$T/time")
      echo "MEASURED: $(basename "$file") ($(stat -c %s "$file") bytes) | ${cmd##*/}: $secs s, peak RSS $((kib / 1024)) MiB"
      ((kib < 400 * 1024)) || die "$(basename "$file") | ${cmd##*/}: peak RSS $kib KiB"
      ((${secs%.*} < 60)) || die "$(basename "$file") | ${cmd##*/}: $secs s"
    else
      run $cmd <"$file"
    fi
    refused "$(basename "$file") | ${cmd##*/}" "$@"
    clean_stderr "$(basename "$file") | ${cmd##*/}"
    unchanged "$(basename "$file") | ${cmd##*/}"
  done
}

# --- parse-level: the same error from every tool, with <stdin>:LINE:COL.
python3 -c "import sys; sys.stdout.write('vm { ' * 100000 + '}' * 100000 + '\n')" >"$IN/deep-one-line"
python3 -c "import sys; sys.stdout.write('vm {\n' + 'config {\n' * 50000)" >"$IN/deep-lines"
python3 -c "import sys; sys.stdout.write('vm: ' + '[' * 100000 + '\n')" >"$IN/deep-lists"
printf 'vm { config { name: "a\0b" } }\n' >"$IN/raw-nul"
head -c 1000000 /dev/urandom >"$IN/binary"
printf 'vm { id: "1000000000000000" id: "2000000000000000" }\n' >"$IN/duplicate-field"
printf 'vm { config { cpu: 99999999999999999999999 } }\n' >"$IN/huge-number"
printf 'vm { state: EXPLODED }\n' >"$IN/unknown-enum"
printf 'vm { config { name: "a" } }\nvm { config { name: "b" } \n' >"$IN/truncated"
tools=ALL
feed "$IN/deep-one-line" "<stdin>:1:6: " 'has no field named "vm"'
feed "$IN/deep-lines" "<stdin>:3:1: " 'has no field named "config"'
feed "$IN/deep-lists" "<stdin>:1:6: " "Expected"
feed "$IN/raw-nul" "<stdin>:1:23: " "string"
feed "$IN/binary" "<stdin>:"
feed "$IN/duplicate-field" "<stdin>:1:29: " 'Non-repeated field "id" is specified multiple times'
feed "$IN/huge-number" "<stdin>:1:20: " "Integer out of range"
feed "$IN/unknown-enum" "<stdin>:1:13: " '"EXPLODED"'
feed "$IN/truncated" "<stdin>:3:1: " "end of input"

# --- the caps: a stream over 64 MiB, and 1 M records (30 MB): refused before
# any record is built, in bounded time and memory (measured, printed).
python3 -c "
import sys
sys.stdout.write(''.join('vm { id: \"%016x\" }\n' % (0x1000000000000000 + i) for i in range(1000000)))" >"$IN/million"
python3 -c "
import sys
r = 'vm { id: \"1000000000000000\" state: STOPPED config { name: \"v\" cpu: 1 memory_bytes: 536870912 storage_bytes: 10737418240 } }\n'
sys.stdout.write(r * (100 * 2**20 // len(r) + 1))" >"$IN/100MiB"
MEASURE=1
feed "$IN/million" "<stdin>: more than 100000 records in one stream: split it"
feed "$IN/100MiB" "<stdin>: record stream larger than 64 MiB: split it"
MEASURE=0

# --- hostile field values. Writers see them in a whole record (with an id);
# ref readers as the record's only ref (its name, else its id): refused
# naming the field, the value escaped and cut.
whole() {  # whole ID NAME: a record that is valid but for what is given
  printf 'vm { id: "%s" state: STOPPED config { name: "%s" cpu: 1 memory_bytes: 536870912 storage_bytes: 10737418240 }
  boot { kernel_path: "%s" initrd_path: "%s" } }\n' "$1" "$2" "$T/img/vmlinuz" "$T/img/initrd.img"
}
big=$(head -c $((32 << 20)) /dev/zero | tr '\0' a)
whole 0123456789abcdef "$big" >"$IN/huge-name.whole"
printf 'vm { config { name: "%s" } }\n' "$big" >"$IN/huge-name.ref"
unset big
whole 0123456789abcdef $'w\xff\xfeb' >"$IN/bad-utf8.whole"
printf 'vm { config { name: "w\xff\xfeb" } }\n' >"$IN/bad-utf8.ref"
whole 0123456789abcdef 'a\000b' >"$IN/escaped-nul.whole"
printf 'vm { config { name: "a\\000b" } }\n' >"$IN/escaped-nul.ref"
whole 0123456789abcdef $'x\e]2;pwned\a\e[2J' >"$IN/terminal-escape.whole"
printf 'vm { config { name: "x\e]2;pwned\a\e[2J" } }\n' >"$IN/terminal-escape.ref"
whole ../../../etc/x web >"$IN/path-id.whole"
printf 'vm { id: "../../../etc/x" }\n' >"$IN/path-id.ref"
tools=VM_WRITERS
feed "$IN/huge-name.whole" "config.name: 33554432 bytes is too long"
feed "$IN/bad-utf8.whole" "config.name: is not valid UTF-8"
feed "$IN/escaped-nul.whole" "config.name: " "is invalid"
feed "$IN/terminal-escape.whole" "config.name: " "is invalid"
feed "$IN/path-id.whole" "id: " "16 lowercase hex"
tools=VM_REFS
feed "$IN/huge-name.ref" '<stdin>: vm[0].config.name: "aaaa' '..." (33554432 bytes) is not a valid name'
tools=OTHER_VM_REFS
feed "$IN/bad-utf8.ref" '<stdin>: vm[0].config.name: "w\xff\xfeb" (4 bytes) is not a valid name'
tools=LAUNCH_REFS
feed "$IN/bad-utf8.ref" '<stdin>: vm[0].config.name: is not valid UTF-8 (byte 1)'
tools=VM_REFS
feed "$IN/escaped-nul.ref" '<stdin>: vm[0].config.name: "a\x00b" (3 bytes) is not a valid name'
feed "$IN/terminal-escape.ref" '<stdin>: vm[0].config.name: "x\x1b]2;pwned\x07\x1b[2J"'
feed "$IN/path-id.ref" '<stdin>: vm[0].id: "../../../etc/x" (14 bytes) is not an id'
printf 'snapshot { id: "../../x\e[2J" }\n' >"$IN/snapshot-path-id"
printf 'snapshot { name: "%s" }\n' "$(head -c 5000 /dev/zero | tr '\0' s)" >"$IN/snapshot-long-name"
printf 'snapshot { description: "no ref" }\n' >"$IN/snapshot-no-ref"
tools=SNAP_REFS
feed "$IN/snapshot-path-id" '<stdin>: snapshot[0].id: "../../x\x1b[2J" (11 bytes) is not an id'
feed "$IN/snapshot-long-name" '<stdin>: snapshot[0].name: "ssss' '..." (5000 bytes) is not a valid name'
feed "$IN/snapshot-no-ref" '<stdin>: snapshot[0] has neither an id nor a name'

# The world still works: b runs, its snapshot is listed.
run "$INDEX" get b; [[ $(field state) == RUNNING ]] || die "b after the hostile streams"
run "$SNAP" get s; [[ $rc == 0 ]] || die "snapshot s after the hostile streams"
echo PASS

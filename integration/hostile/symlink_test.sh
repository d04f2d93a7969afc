#!/usr/bin/env bash
# Symlinks planted in a VM's run and log dirs (and an orphan dir) before each
# operation, at the paths the operation creates, removes or reads, pointing
# at a victim file and a victim dir outside: start, console, snapshot save,
# stop, rm, ch-clone --restore and ch-gc never write, move, remove or read
# through them. The victims stay byte for byte as they were; an operation
# either succeeds without following the link or fails naming the path.
source "$(dirname "$0")/lib.sh"
make_direct_files
V=$T/victims
mkdir -p "$V/dir"
echo precious >"$V/file"; chmod 0644 "$V/file"
echo precious-disk >"$V/dir/previous-cow.raw"
echo keep >"$V/dir/keep"
victims() { (cd "$V" && find . -printf '%p %y %s %m\n' | sort && find . -type f -print0 | sort -z | xargs -0r sha256sum); }
V0=$(victims)
intact() { [[ $(victims) == "$V0" ]] || die "$1: a victim changed: $(diff <(echo "$V0") <(victims))"; }
# plant DIR NAME...: each NAME in DIR becomes a symlink to the victim file
# (names ending in / to the victim dir).
plant() {
  local dir=$1 n; shift
  for n in "$@"; do
    rm -rf "${dir:?}/${n%/}"
    if [[ $n == */ ]]; then ln -s "$V/dir" "$dir/${n%/}"; else ln -s "$V/file" "$dir/$n"; fi
  done
}

run "$LAUNCH" create --name a --cpu 1 "${K[@]}"; [[ $rc == 0 ]] || die "create"
ID=$(field id) R=$(field run_dir) L=$(field log_dir)
RUNTIME=(api.sock ch.pid cmdline console.sock)

# start: the runtime files it replaces are unlinked, never followed.
plant "$R" "${RUNTIME[@]}"
run "$LAUNCH" start a
[[ $rc == 0 && $(field state) == RUNNING ]] || die "start over planted runtime files"
intact "start"
for f in ch.pid cmdline; do [[ -f $R/$f && ! -L $R/$f ]] || die "start: $f is not its own file"; done
# A planted log: refused (O_NOFOLLOW), named.
run "$LAUNCH" stop a; [[ $rc == 0 ]] || die "stop"
plant "$L" cloud-hypervisor.log
run "$LAUNCH" start a
refused "start through a planted log" "open $L/cloud-hypervisor.log"
intact "start through a planted log"
rm "$L/cloud-hypervisor.log"
run "$LAUNCH" start a; [[ $rc == 0 ]] || die "start"

# console: its lock file is opened O_NOFOLLOW.
plant "$R" console.lock
run bash -c "echo hostname | '$CONSOLE' --idle=1s a"
refused "console through a planted lock" "$R/console.lock"
intact "console"
rm "$R/console.lock"

# snapshot save: the disk it copies is read O_NOFOLLOW (a link would copy a
# host file into a snapshot that can be exported).
mv "$R/cow.raw" "$R/cow.raw.real"
plant "$R" cow.raw
run "$SNAP" save a
refused "save of a planted disk" "open $R/cow.raw"
intact "save"
(( $("$SNAP" ls | grep -c '^snapshot {') == 0 )) || die "save of a planted disk listed a snapshot"
rm "$R/cow.raw"; mv "$R/cow.raw.real" "$R/cow.raw"
run "$INDEX" get a; [[ $(field state) == RUNNING ]] || die "a after the refused save: $(field state)"
run "$SNAP" save a --name s; [[ $rc == 0 ]] || die "save"

# stop: it unlinks the runtime files; CH's own socket is replaced by a link
# after the fact (CH exits and unlinks its path: the link, not the victim).
plant "$R" cmdline console.sock
run "$LAUNCH" stop a
[[ $rc == 0 && $(field state) == STOPPED ]] || die "stop over planted files"
intact "stop"

# A planted restore-staging dir (a crash's leftovers, as far as start can
# tell): a link to a dir outside is refused, and nothing in it is moved in
# as the VM's disk.
plant "$R" restore-staging/
for op in start stop; do
  run "$LAUNCH" $op a
  refused "$op with a planted restore-staging" "$R/restore-staging"
  intact "$op with a planted restore-staging"
done
run "$CLONE" --restore a s
refused "restore with a planted restore-staging" "restore-staging"
intact "restore with a planted restore-staging"
rm "$R/restore-staging"

# rm: the run and log dirs go with the links in them, not what they name.
plant "$R" api.sock ch.pid cmdline console.sock console.lock link-to-dir/
plant "$L" cloud-hypervisor.log
run "$LAUNCH" rm a
[[ $rc == 0 && ! -e $R && ! -e $L ]] || die "rm over planted links"
intact "rm"

# ch-gc: an orphan run dir full of links is removed, the victims stay.
O=$T/run/cloudhypervisor/0123456789abcdef
mkdir -p "$O"
plant "$O" api.sock ch.pid cow.raw link-to-dir/
touch -d '2 days ago' "$O"
run "$GC" --grace=0s
[[ $rc == 0 && ! -e $O ]] || die "gc of an orphan dir of links: rc $rc"
intact "gc"
echo PASS

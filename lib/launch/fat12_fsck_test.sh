#!/usr/bin/env bash
# The FAT12 cidata image passes fsck.fat and reads back with mtools.
set -u
tool=$1
export PATH=$PATH:/usr/sbin:/sbin
die() { echo "FAIL: $*" >&2; exit 1; }
img=$TEST_TMPDIR/cidata.img
"$tool" "$img" || die "testtool failed"
[[ $(stat -c %s "$img") == 1048576 ]] || die "size $(stat -c %s "$img")"
out=$(fsck.fat -n "$img" 2>&1) || die "fsck.fat: $out"
[[ $out != *"differ"* && $out != *"Free cluster"* ]] || die "fsck.fat warnings: $out"
export MTOOLS_SKIP_CHECK=1
out=$(mdir -i "$img" :: 2>&1) || die "mdir: $out"
[[ $out == *"Volume in drive : is CIDATA"* ]] || die "label: $out"
for f in meta-data user-data network-config; do
  [[ $out == *"$f"* ]] || die "mdir lacks $f: $out"
done
got=$(mtype -i "$img" ::meta-data) || die "mtype"
[[ $got == $'instance-id: 0123456789abcdef\nlocal-hostname: web-1' ]] || die "meta-data: $got"
got=$(mtype -i "$img" ::user-data) || die "mtype user-data"
[[ $got == *"[Link]"*"RequiredForOnline=yes"*"Address=10.88.0.5/16"* ]] || die "user-data: $got"
got=$(mtype -i "$img" ::network-config) || die "mtype network-config"
[[ $got == *'macaddress: "02:00:0a:58:00:05"'* ]] || die "network-config: $got"
blkid_out=$(blkid -p -o export "$img" 2>&1 || true)
[[ -z $blkid_out || $blkid_out == *"LABEL=CIDATA"* ]] || die "blkid: $blkid_out"
echo PASS

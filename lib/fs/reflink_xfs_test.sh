#!/usr/bin/env bash
# Reflink and copies on real filesystems: mounts a loop XFS image with
# reflink=1, a tmpfs and a 1 MiB tmpfs under TEST_TMPDIR, runs the gtest
# helper ($1) against them, and unmounts them whatever happens.
set -u
# Bazel's strict action env leaves the sbin directories out of PATH.
PATH="$PATH:/usr/sbin:/sbin"
helper=$(realpath "$1")
die() { echo "FAIL: $*" >&2; exit 1; }

# A private mount namespace: if this script is SIGKILLed before its trap
# runs, the mounts go away with the namespace (and the loop device, which
# mount -o loop sets to autoclear).
if [[ -z ${CHTOOLS_IN_MOUNT_NS:-} ]] && unshare -m --propagation private true 2>/dev/null; then
  CHTOOLS_IN_MOUNT_NS=1 exec unshare -m --propagation private "$0" "$@"
fi

for tool in losetup mkfs.xfs mount umount mountpoint unshare; do
  command -v "$tool" >/dev/null || die "$tool not found"
done
if [[ ! -e /dev/loop-control ]] || ! loop=$(losetup -f 2>&1); then
  echo "SKIP: no loop device available (${loop:-no /dev/loop-control}): the XFS reflink test did not run"
  exit 0
fi

t=$(mktemp -d "${TEST_TMPDIR:-/tmp}/reflink.XXXXXX") || die "mktemp"
cleanup() {
  local m
  for m in "$t/xfs" "$t/tmpfs" "$t/full"; do
    if mountpoint -q "$m"; then umount "$m" 2>/dev/null || umount -l "$m"; fi
  done
  rm -rf "$t"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir "$t/xfs" "$t/tmpfs" "$t/full" || die "mkdir"

truncate -s 512M "$t/x.img" || die "truncate"
out=$(mkfs.xfs -q -m reflink=1 "$t/x.img" 2>&1) || die "mkfs.xfs: $out"
out=$(mount -o loop "$t/x.img" "$t/xfs" 2>&1) || die "mount xfs: $out"
out=$(mount -t tmpfs -o size=512m tmpfs "$t/tmpfs" 2>&1) || die "mount tmpfs: $out"
out=$(mount -t tmpfs -o size=1m tmpfs "$t/full" 2>&1) || die "mount small tmpfs: $out"

CHTOOLS_XFS_DIR="$t/xfs" CHTOOLS_TMPFS_DIR="$t/tmpfs" CHTOOLS_SMALL_TMPFS_DIR="$t/full" \
  "$helper" || die "reflink_xfs_test_helper failed"
echo PASS

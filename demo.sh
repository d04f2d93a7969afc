#!/usr/bin/env bash
# demo.sh: builds chtools and shows one VM's lifecycle on the Cloud
# Hypervisor simulator, in a throw-away root: vm-index + ch-launch create /
# start / console / debug / stop / rm. Leaves nothing behind; exits 0.
#
# Usage: ./demo.sh          (as root for the NIC part; BAZEL="bazel --output_base=..." to pick a bazel)
set -euo pipefail
cd "$(dirname "$0")"
BAZEL=${BAZEL:-bazel}
targets=(//tools/vm-index //tools/ch-launch //tools/ch-console //integration/sim:cloud-hypervisor)
echo "# building ${targets[*]}"
$BAZEL build "${targets[@]}" 2>&1 | tail -1
bin=$($BAZEL info bazel-bin 2>/dev/null)
export PATH=$bin/tools/vm-index:$bin/tools/ch-launch:$bin/tools/ch-console:$PATH:/usr/sbin:/sbin

# A throw-away root (under /tmp: unix socket paths must stay short).
demo=$(mktemp -d /tmp/chtools-demo.XXXXXX)
export CHTOOLS_ROOT_DIR=$demo/root CHTOOLS_RUN_DIR=$demo/run CHTOOLS_LOG_DIR=$demo/log
export CHTOOLS_CH_BINARY=$bin/integration/sim/cloud-hypervisor
mkdir -p "$demo/root" "$demo/img"
ns=""
cleanup() {
  ch-launch rm --force demo-web >/dev/null 2>&1 || true
  [[ -n $ns ]] && ip netns del "$ns" 2>/dev/null
  rm -rf "$demo"
}
trap cleanup EXIT

# Stand-ins for an OCI image's kernel, initramfs and EROFS layers: the
# simulator only opens them (and sniffs disk headers).
truncate -s 1M "$demo/img/vmlinuz" "$demo/img/initrd.img" "$demo/img/base.erofs" "$demo/img/app.erofs"
nic=()
if [[ $(id -u) == 0 ]] && ip netns add "chtools-demo-$$" 2>/dev/null; then
  ns=chtools-demo-$$
  # One vCPU = one queue pair: CH opens the tap without IFF_MULTI_QUEUE.
  ip -n "$ns" tuntap add dev tap0 mode tap
  ip -n "$ns" link set tap0 up
  nic=(--nic "tap=tap0,mac=02:42:0a:58:00:05,netns=$ns,ip=10.88.0.5/16,gw=10.88.0.1")
fi

say() { printf '\n$ %s\n' "$*"; }
say ch-launch create --name demo-web --cpu 1 --memory 512M --kernel vmlinuz --initrd initrd.img \
  --layer base.erofs --layer app.erofs "${nic[@]}" "| grep -E 'state|cmdline'"
ch-launch create --name demo-web --cpu 1 --memory 512M --kernel "$demo/img/vmlinuz" \
  --initrd "$demo/img/initrd.img" --layer "$demo/img/base.erofs" --layer "$demo/img/app.erofs" \
  "${nic[@]}" | grep -E 'state|cmdline'
say vm-index ls --format=table
vm-index ls --format=table
say "vm-index get demo-web | ch-launch start | grep -E 'state|pid'"
vm-index get demo-web | ch-launch start | grep -E 'state|pid'
say "printf 'hostname\\ncat /proc/cmdline\\n' | ch-console --timeout=1s demo-web | tail -4"
printf 'hostname\ncat /proc/cmdline\n' | ch-console --timeout=1s demo-web | tail -4
echo
say "ch-launch debug demo-web    # the exact, pasteable CH command"
ch-launch debug demo-web
say "ch-launch start demo-web | grep state    # already running: reported, not relaunched"
ch-launch start demo-web | grep state
say "ch-launch stop demo-web | grep state"
ch-launch stop demo-web | grep state
say "ch-launch rm demo-web | grep -E '^    name'"
ch-launch rm demo-web | grep -E '^    name'
say vm-index ls --format=table
vm-index ls --format=table
echo
echo "# demo done"

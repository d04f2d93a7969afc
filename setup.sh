#!/usr/bin/env bash
# Installs everything chtools needs to build, test and run, from Debian's
# package registry. Idempotent: safe to run again.
set -euo pipefail

packages=(
  # build
  bazel-bootstrap g++ pkg-config protobuf-compiler
  libprotobuf-dev libabsl-dev libre2-dev libarchive-dev libseccomp-dev
  libgtest-dev libgmock-dev nlohmann-json3-dev libssl-dev
  # fuzzing (bazel build --config=fuzz, lib/testing/fuzz/README.md)
  clang-14 libclang-rt-14-dev
  # tools the programs and their tests run
  e2fsprogs qemu-utils dosfstools mtools xfsprogs iproute2 util-linux
  procps coreutils python3 libarchive-tools tar
  # hostile:config_json_test counts the seccomp filters ch-clone loads
  strace
  # the guest-side readers of the NoCloud files, for lib/launch's
  # cidata_cloudinit_test (installing them starts no service)
  cloud-init netplan.io
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
    || missing+=("$p")
done
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
if ((${#missing[@]})); then
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# cloud-init is here for its parsers only: it must never configure this host
# if it is ever booted with an init that runs cloud-init's services.
if [[ -d /etc/cloud && ! -e /etc/cloud/cloud-init.disabled ]]; then
  $SUDO touch /etc/cloud/cloud-init.disabled
fi

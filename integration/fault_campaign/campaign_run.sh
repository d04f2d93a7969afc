#!/usr/bin/env bash
# bazel run //integration/fault_campaign:campaign -- [--ops=N] [--seed=S] ...
set -u
here=$(dirname "$(realpath "$0")")
py=$here/campaign.py
[[ -f $py ]] || py=$(dirname "$(realpath "${BASH_SOURCE[0]}")")/campaign.py
tools=("$@")
exec python3 "$py" --vm-index "$(realpath "${tools[0]}")" --ch-launch "$(realpath "${tools[1]}")" \
  --ch-snapshot "$(realpath "${tools[2]}")" --ch-clone "$(realpath "${tools[3]}")" \
  --ch-gc "$(realpath "${tools[4]}")" --sim "$(realpath "${tools[5]}")" "${tools[@]:6}"

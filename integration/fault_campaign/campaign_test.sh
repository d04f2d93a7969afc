#!/usr/bin/env bash
# The fault campaign in `bazel test`: 300 operations (more, up to 900, until
# 100 SIGKILLs have landed), at least 100 SIGKILLs
# (campaign.py says what it runs and checks). The long mode for a benchmark
# machine: bazel run //integration/fault_campaign:campaign -- --ops=5000
set -u
exec python3 "$(dirname "$(realpath "$0")")/campaign.py" \
  --vm-index "$1" --ch-launch "$2" --ch-snapshot "$3" --ch-clone "$4" \
  --ch-gc "$5" --sim "$6" --ops 300 --min-kills 100 --verbose

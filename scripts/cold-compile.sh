#!/usr/bin/env bash
# Times cold `mfb compile --threads 4` runs of a project, with the CPU time the hypervisor
# took from this VM meanwhile ("steal"): on a shared host that time is lost to mfb, and
# it is where most of the run-to-run swing of wall time comes from.
#
#   scripts/cold-compile.sh PROJECT_DIR [MFB_BINARY] [RUNS]
#
# Before each run the project's target/ is renamed aside (deleting tens of thousands of
# files makes ext4 slow to create new ones for a while) and the machine left idle for
# 20 s. The renamed folders are listed at the end; delete them when done measuring.
set -euo pipefail
project=${1:?usage: scripts/cold-compile.sh PROJECT_DIR [MFB_BINARY] [RUNS]}
bin=${2:-$(dirname "$0")/../target/release/mfb}
runs=${3:-3}
bin=$(realpath "$bin")
cd "$project"
aside=()
steal() { awk '/^cpu /{print $9}' /proc/stat; }
echo "wall_s user_s sys_s steal_s peak_rss_mb"
for _ in $(seq "$runs"); do
  if [ -d target ]; then
    dest=$(mktemp -d "${TMPDIR:-/tmp}/mfb-target-aside.XXXXXX")
    mv target "$dest/"
    aside+=("$dest")
  fi
  sleep 20
  s0=$(steal)
  times=$( { /usr/bin/time -f "%e %U %S %M" "$bin" compile --threads 4 -q >/dev/null; } 2>&1 | tail -1)
  s1=$(steal)
  read -r wall user sys rss <<<"$times"
  hz=$(getconf CLK_TCK)
  echo "$wall $user $sys $(awk -v d=$((s1 - s0)) -v hz="$hz" 'BEGIN{printf "%.2f", d/hz}') $((rss / 1024))"
done
if [ ${#aside[@]} -gt 0 ]; then
  echo "old target/ folders moved to: ${aside[*]}" >&2
fi

#!/usr/bin/env bash
# Keeps every core busy for a while, to check that the test suite does not depend on timing a loaded machine
# cannot keep:   scripts/cpu-hog.sh 600 & npm test
# Usage: scripts/cpu-hog.sh [seconds=600] [busy loops=number of cores]
# Each loop is a plain `node` spinning at the default nice level; all of them stop by themselves after
# `seconds` (timeout), and at once when this script is interrupted or terminated.
set -euo pipefail

seconds="${1:-600}"
loops="${2:-$(nproc)}"
if ! [[ "$seconds" =~ ^[0-9]+$ && "$loops" =~ ^[0-9]+$ ]] || ((seconds < 1 || seconds > 3600 || loops < 1 || loops > 64)); then
  echo "usage: $0 [seconds 1-3600, default 600] [busy loops 1-64, default $(nproc)]" >&2
  exit 2
fi

pids=()
stop() {
  ((${#pids[@]})) && kill "${pids[@]}" 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT TERM

for ((i = 0; i < loops; i++)); do
  timeout "$seconds" node -e 'for (;;) {}' &
  pids+=("$!")
done
echo "cpu-hog: ${loops} busy loop(s) for ${seconds} s (pids ${pids[*]})" >&2
wait "${pids[@]}" 2>/dev/null || true

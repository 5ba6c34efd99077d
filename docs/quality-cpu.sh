#!/usr/bin/env bash
# The quality platform's reporting cost: node CPU with N synthetic
# participants (1 publisher, N-1 subscribers) whose clients report quality
# every 5 s, against the same load with reporting off. Runs alternate
# (on, off, on, off, ...) so that a drift of the machine hits both alike.
# Usage: docs/quality-cpu.sh [N] [RUNS] [SECONDS]   (from the repository root)
set -euo pipefail
N=${1:-300}; RUNS=${2:-3}; SECS=${3:-30}
if [ -z "${BIN:-}" ]; then
  BIN=$(mktemp -d)/qrtn
  go build -o "$BIN" ./cmd/qrtn
fi
OUT=${OUT:-/tmp/qrtn-quality-cpu}
mkdir -p "$OUT"
# One room of N: the node's default of 100 participants per room is raised.
CFG=$(mktemp --suffix .yaml)
printf 'dev: true\nsfu:\n  max_participants: %d\n' $((N + 10)) > "$CFG"
for run in $(seq 1 "$RUNS"); do
  for every in 5s -1s; do
    DATA=$(mktemp -d)
    taskset -c 1 "$BIN" serve --config "$CFG" --data-dir "$DATA" --http 127.0.0.1:17980 --udp 127.0.0.1:17982 --log-level error &
    NODE=$!
    sleep 2
    taskset -c 0 "$BIN" loadtest --url http://127.0.0.1:17980 --room cpu --publishers 1 --subscribers $((N-1)) \
      --prefer small --no-twcc --join-rate 30 --warmup 10s --duration "${SECS}s" --interval 0 \
      --node-pid "$NODE" --quality-every "$every" --json > "$OUT/run$run-every$every.json" 2>/dev/null || true
    kill "$NODE"; wait "$NODE" 2>/dev/null || true
    "$BIN" quality stats --db "$DATA/quality.db" > "$OUT/run$run-every$every.stats"
    rm -rf "$DATA"
    python3 - "$OUT/run$run-every$every.json" "$every" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"reports every {sys.argv[2]:>4}: node {r['node_cpu_cores']:.3f} cores, {r['video_down_tracks']} video down-tracks, "
      f"{r['join_failed']} join failures, loadtest {r['loadtest_cpu_cores']:.2f} cores")
PY
  done
done

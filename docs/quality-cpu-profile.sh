#!/usr/bin/env bash
# Where a node's CPU goes with N synthetic participants (1 publisher, N-1
# subscribers) reporting quality every EVERY (-1s: reporting off): a 25 s
# CPU profile of `qrtn serve` (pinned to core 1; the loadtest to core 0),
# then the profile's figures for the quality plane's own code. On a shared
# machine this resolves the reporting cost where whole-node pair runs
# (docs/quality-cpu.sh) drown in the machine's noise.
# Usage: docs/quality-cpu-profile.sh [EVERY] [N]   (from the repository root)
set -euo pipefail
EVERY=${1:-5s}; N=${2:-300}
if [ -z "${BIN:-}" ]; then
  BIN=$(mktemp -d)/qrtn
  go build -o "$BIN" ./cmd/qrtn
fi
OUT=${OUT:-/tmp/qrtn-quality-profile}
mkdir -p "$OUT"
CFG=$(mktemp --suffix .yaml)
printf 'dev: true\ndebug: true\nsfu:\n  max_participants: %d\n' $((N + 10)) > "$CFG"
DATA=$(mktemp -d)
taskset -c 1 "$BIN" serve --config "$CFG" --data-dir "$DATA" --http 127.0.0.1:17990 --udp 127.0.0.1:17992 --log-level error &
NODE=$!
sleep 2
taskset -c 0 "$BIN" loadtest --url http://127.0.0.1:17990 --room cpu --publishers 1 --subscribers $((N-1)) \
  --prefer small --no-twcc --join-rate 30 --warmup 10s --duration 40s --interval 0 \
  --node-pid "$NODE" --quality-every "$EVERY" --json > "$OUT/every$EVERY.json" 2>/dev/null &
LT=$!
sleep 25
curl -s -o "$OUT/every$EVERY.pprof" "http://127.0.0.1:17990/debug/pprof/profile?seconds=25"
wait $LT || true
kill "$NODE"; wait "$NODE" 2>/dev/null || true
"$BIN" quality stats --db "$DATA/quality.db" > "$OUT/every$EVERY.stats" || true
rm -rf "$DATA" "$CFG"
echo "reports every $EVERY: $(grep -E '^(stalls|track_samples)' "$OUT/every$EVERY.stats" | tr -s ' ' | tr '\n' ' ')"
# The profile's total, and the quality plane's own code: decoding reports,
# handling them, and the store's writer (every record, the node's own
# samples too); the garbage collector for comparison.
go tool pprof -nodefraction=0 -top -cum -nodecount=100000 "$BIN" "$OUT/every$EVERY.pprof" 2>/dev/null |
  grep -E 'Duration:|signaling\.decodeQuality$|qualityPlane\)\.SessionReport$|store\.\(\*Writer\)\.run$|gcBgMarkWorker$'

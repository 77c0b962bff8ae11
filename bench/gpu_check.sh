#!/usr/bin/env bash
# GPU readiness of `kdbench sweep`: a short sweep with --gpus-per-trial 0.25 on one GPU, then placement and
# throughput read back from the store. Four trials should share the GPU at once.
#
#   bench/gpu_check.sh [TRIALS]        (default 8; results under $OUT, or ./gpu_check_out)
#
# Needs: a CUDA build of torch, one visible GPU, and MovieLens-100K prepared under $KDBENCH_HOME (a machine
# without network cannot fetch it: copy $KDBENCH_HOME/datasets from a machine that ran `kdbench data prepare
# ml-100k`, or set KDBENCH_HOME to a folder that holds it).
set -euo pipefail

TRIALS="${1:-8}"
OUT="${OUT:-$PWD/gpu_check_out}"
mkdir -p "$OUT"
PYTHON="${PYTHON:-python}"
DB="sqlite:///$OUT/gpu_check.db"
RAY_TMP="$(mktemp -d /tmp/kdgpuXXXX)"   # short: Ray's socket paths must stay under 107 characters

echo "== device"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || { echo "no nvidia-smi"; exit 1; }
"$PYTHON" -c 'import torch; assert torch.cuda.is_available(), "torch sees no CUDA device"; print("torch", torch.__version__, torch.cuda.get_device_name(0))'

# Sample which processes hold the GPU while the sweep runs (placement evidence besides the store).
( while true; do nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader >> "$OUT/gpu_apps.txt" 2>/dev/null || true; sleep 1; done ) &
SAMPLER=$!
trap 'kill $SAMPLER 2>/dev/null || true; rm -rf "$RAY_TMP"' EXIT

echo "== sweep: $TRIALS ci trials, concurrency 4, 0.25 GPU each"
start=$(date +%s)
"$PYTHON" -m kdbench sweep --space ci --dataset ml-100k --trials "$TRIALS" --concurrency 4 --cpus-per-trial 1 \
  --gpus-per-trial 0.25 --scheduler none --db "$DB" --name gpu-check --ray-temp-dir "$RAY_TMP" \
  --teacher-cache "$OUT/teachers" --quiet --json "$OUT/summary.json"
end=$(date +%s)

echo "== placement and throughput"
"$PYTHON" - "$DB" "$OUT/gpu_apps.txt" "$((end - start))" <<'PY'
import sys
from collections import Counter

from kdbench.bench.store import ResultStore

url, apps_file, wall = sys.argv[1], sys.argv[2], float(sys.argv[3])
with ResultStore(url, create=False) as store:
    trials = store.trials(sweep="gpu-check")
    epochs = store.epochs(sweep="gpu-check")
print(f"trials by status: {dict(Counter(trials['status']))}")
print(f"devices: {dict(Counter(trials['device']))}")
print(f"nodes: {trials['node'].nunique()}")
events = sorted([(t, 1) for t in trials["started_at"].dropna()] + [(t, -1) for t in trials["finished_at"].dropna()])
running = peak = 0
for _, step in events:
    running += step
    peak = max(peak, running)
print(f"most trials running at once: {peak} (expected 4 with --gpus-per-trial 0.25)")
try:
    snapshots = [line for line in open(apps_file) if line.strip()]
    print(f"GPU processes seen by nvidia-smi (distinct pids): {len({line.split(',')[0] for line in snapshots})}")
except OSError:
    pass
print(f"wall {wall:.0f} s for {len(trials)} trials: {3600 * len(trials) / wall:.0f} trials/hour")
per_phase = epochs.groupby("phase")["samples_per_s"].median()
for phase, rate in per_phase.items():
    print(f"median training samples/s, {phase}: {rate:,.0f}")
PY

#!/usr/bin/env bash
# Regenerates experiments/results/shatter/: one JSON summary (+ certificate) per row.
set -euo pipefail
out=experiments/results/shatter
mkdir -p "$out"
run() {  # name, then the shatter arguments
  local name=$1; shift
  local start=$(date +%s.%N)
  moetheory shatter "$@" --out "$out" --json > "$out/$name.json"
  python - "$out/$name.json" "$start" "$*" <<'PY'
import json, sys, time
path, start, args = sys.argv[1], float(sys.argv[2]), sys.argv[3]
d = json.load(open(path)); d["wall_seconds"] = round(time.time() - start, 2); d["command"] = "moetheory shatter " + args + " --out experiments/results/shatter --json"
json.dump(d, open(path, "w"), indent=2, sort_keys=True)
PY
}
run halfspace-d2-m3 --model halfspace --dim 2 --points 3 --seed 0
run halfspace-d2-m4 --model halfspace --dim 2 --points 4 --seed 0
run halfspace-d3-m4 --model halfspace --dim 3 --points 4 --seed 0
run halfspace-d3-m5 --model halfspace --dim 3 --points 5 --seed 0
run halfspace-d2-m12 --model halfspace --dim 2 --points 12 --seed 0
run linear-router-d2-e3-m6 --model linear-router --dim 2 --points 6 --experts 3 --seed 0
run prototype-router-d2-e2-m5 --model prototype-router --dim 2 --points 5 --experts 2 --seed 0
run moe-d2-e2-w4-j1-m6 --model moe --dim 2 --points 6 --experts 2 --width 4 --depth 1 --seed 0 --steps 2000

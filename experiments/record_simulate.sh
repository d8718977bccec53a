#!/usr/bin/env bash
# Regenerates experiments/results/simulate/: one run directory per named configuration, at the
# default size, one after the other (timings are comparable only on an otherwise idle machine;
# the load average before and after each run is appended to times.txt).
set -euo pipefail
out=experiments/results/simulate
mkdir -p "$out"
: > "$out/times.txt"
for name in cosine cosine-raw perturbed-cosine softmax-linear softmax-tanh temperature-linear \
    activation-temperature gaussian-linear-k2 gaussian-linear-k3 gaussian-linear-k3-shrinking-init \
    gaussian-linear-k4; do
  rm -rf "${out:?}/$name"
  before=$(cut -d' ' -f1-3 /proc/loadavg)
  start=$(date +%s)
  moetheory simulate "$name" --out "$out/$name" --device cpu
  echo "$name: $(( $(date +%s) - start )) s wall; load before $before, after $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/times.txt"
done
python - "$out" <<'PY'
import json, pathlib, sys
from moetheory.present.formats import render
root = pathlib.Path(sys.argv[1])
runs = [json.loads(p.read_text()) for p in sorted(root.glob("*/summary.json"))]
(root / "simulations.md").write_text(render("simulations", "md", runs))
shown = ("cosine-raw", "cosine", "perturbed-cosine", "softmax-linear", "softmax-tanh",
         "gaussian-linear-k3")
(root / "simulations.png").write_bytes(
    render("simulations", "png", [s for s in runs if s["name"] in shown])
)
PY

"""How well ``weights_row_gap`` tells a file's own GLM weights row from other models' rows.

``harness alpaca-metrics --glm-weights`` uses a published row only if it reproduces the
file's raw win rate within ``WEIGHTS_ROW_TOLERANCE``. This measures, on real AlpacaEval
annotation files, the gap of each file's own row (should be ~0) and how many rows of
*other* models would pass the tolerance for each file, with the LC error they would bring.
Needs files the harness does not ship: annotation files of many models (the alpaca_eval
repository's ``results/<model>/weighted_alpaca_eval_gpt4_turbo/annotations.json``), the
published weights CSV and the real instruction difficulties (``instruction_difficulty.csv``
from the HF dataset, or ``harness alpaca-metrics --derive-difficulty``).

    python bench/alpaca_weights_rows.py results/*/weighted_alpaca_eval_gpt4_turbo/annotations.json \\
        --glm-weights baseline_gpt4_1106_preview.csv --instruction-difficulty instruction_difficulty.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.benchmarks import alpaca_metrics as am  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("annotations", nargs="+")
    ap.add_argument("--glm-weights", required=True)
    ap.add_argument("--instruction-difficulty", required=True)
    ap.add_argument("--tolerance", type=float, action="append", help="default: WEIGHTS_ROW_TOLERANCE")
    args = ap.parse_args()
    weights = am.read_glm_weights(args.glm_weights)
    d = am.read_difficulty(args.instruction_difficulty)
    files = []
    for path in args.annotations:
        try:
            records = am.read_annotations(path)
        except (OSError, ValueError) as ex:
            print(f"skip {path}: {ex}", file=sys.stderr)
            continue
        name = Path(path).parent.parent.name if Path(path).name == "annotations.json" else am.annotation_name(path, records)
        if name not in weights or len(records) != len(d) or records[0].get("generator_1") == records[0].get("generator_2"):
            continue
        x = am.to_x(r.get("preference") for r in records)
        files.append((name, x, [len(str(r["output_1"] or "")) for r in records], [len(str(r["output_2"] or "")) for r in records]))
    rows = [r for r in weights if weights[r].intercept or weights[r].length or weights[r].difficulty]
    lc = {r: am.predict_from_weights(weights[r], d)[0] for r in rows}
    own = np.array([am.weights_row_gap(weights[n], x, l1, l2, d) for n, x, l1, l2 in files])
    print(f"{len(files)} files with their own row; {len(rows)} non-baseline rows")
    print(f"own-row |gap| (points): max {np.abs(own).max():.3f}, median {np.median(np.abs(own)):.3f}")
    for tol in args.tolerance or [am.WEIGHTS_ROW_TOLERANCE]:
        errors = [
            abs(lc[r] - lc[n])
            for n, x, l1, l2 in files
            for r in rows
            if r != n and abs(am.weights_row_gap(weights[r], x, l1, l2, d)) <= tol
        ]
        pairs = len(files) * (len(rows) - 1)
        rejected = int((np.abs(own) > tol).sum())
        err = f"; their LC error median {np.median(errors):.2f}, max {max(errors):.2f}" if errors else ""
        print(f"tolerance {tol}: own rows refused {rejected}/{len(files)}; other rows accepted "
              f"{len(errors)}/{pairs} ({len(errors) / pairs:.2%}){err}")


if __name__ == "__main__":
    main()

"""``harness alpaca-metrics``: AlpacaEval leaderboard metrics from annotation files.

Reads AlpacaEval-format annotation files (JSON list or JSONL, plain or .gz; ``output_1`` is
the reference, ``output_2`` the model, ``preference`` in [1, 2]) or inspect logs (.eval) of
the ``alpacaeval`` task, and prints win rate, standard error, discrete win rate, counts,
average length and, when the data it needs is supplied, the length-controlled win rate. Nothing is downloaded: the instruction
difficulties and gamed-baseline rows are files the user passes.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

COLUMNS = [
    "name", "win_rate", "standard_error", "discrete_win_rate", "n_wins", "n_wins_base", "n_draws",
    "n_total", "n_unscored", "avg_length", "length_controlled_winrate", "lc_standard_error", "lc_variant",
]
"""Table columns (leaderboard names; percent units)."""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "alpaca-metrics",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("annotations", nargs="+", metavar="ANNOTATIONS",
                   help="AlpacaEval annotation files (.json / .jsonl, optionally .gz) or inspect logs (.eval) "
                        "of the alpacaeval task")
    p.add_argument("--format", choices=["md", "csv", "json"], default="md", help="output format (default md)")
    p.add_argument("--instruction-difficulty", metavar="FILE",
                   help="per-instruction difficulties in instruction order (HF tatsu-lab/alpaca_eval "
                        "instruction_difficulty.csv, a one-column CSV, or a JSON list); needed for the LC win rate")
    p.add_argument("--gamed-baselines", metavar="FILE",
                   help="df_gamed.csv (HF tatsu-lab/alpaca_eval): with --instruction-difficulty, fit the official "
                        "length_controlled_v1 GLM regularised to the gamed baselines (otherwise: no regularisation)")
    p.add_argument("--regularize-lambda", type=float, default=None, metavar="L",
                   help="weight of the gamed-baseline rows (default 0.2, as AlpacaEval; 0 disables)")
    p.add_argument("--glm-weights", metavar="FILE",
                   help="published GLM weights CSV (metrics/weights/.../baseline_<ref>.csv): a model listed there gets "
                        "its LC predicted from the stored weights instead of a new fit, if the row reproduces the "
                        "file's raw win rate (a row named like the model but fitted on other data is refused "
                        "with a warning)")
    p.add_argument("--lc-without-difficulty", action="store_true",
                   help="without --instruction-difficulty, still fit a GLM with only the length term and the model "
                        "term (lc_variant length_controlled_minimal; NOT comparable to published LC values)")
    p.add_argument("--no-lc", action="store_true", help="skip the length-controlled fit")
    p.add_argument("--derive-difficulty", metavar="OUT_CSV",
                   help="with --glm-weights: recover the instruction difficulties from the glm_preference column of "
                        "the first input file that has one (d = (logit(g) - theta) / psi), write them to OUT_CSV, and "
                        "use them")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from tabulate import tabulate

    from harness.benchmarks import alpaca_metrics as am

    lam = am.REGULARIZE_LAMBDA if args.regularize_lambda is None else args.regularize_lambda
    weights = am.read_glm_weights(args.glm_weights) if args.glm_weights else None
    difficulty = am.read_difficulty(args.instruction_difficulty) if args.instruction_difficulty else None
    gamed = am.read_gamed(args.gamed_baselines) if args.gamed_baselines else None
    if gamed is not None and difficulty is None:
        raise ValueError("--gamed-baselines needs --instruction-difficulty (the GLM has a difficulty term)")

    loaded = []
    for path in args.annotations:
        try:
            records = am.read_annotations(path)
        except (OSError, ValueError) as ex:
            raise ValueError(f"cannot read {path}: {ex}") from ex
        loaded.append((path, records))

    if args.derive_difficulty:
        difficulty = _derive(loaded, weights, args.derive_difficulty)

    results = []
    for path, records in loaded:
        name = am.annotation_name(path, records)
        lc = not args.no_lc and (difficulty is not None or args.lc_without_difficulty)
        m = am.annotation_metrics(records, name=name, difficulty=difficulty, gamed=gamed,
                                  regularize_lambda=lam, weights=weights, lc=lc)
        results.append(m)
        print(f"{name}: {m.n_total} rows" + (f" scored, {m.n_unscored} unscored (left out, as AlpacaEval does)"
              if m.n_unscored else "") + (f", LC {m.lc_variant}" if m.lc_variant else ""), file=sys.stderr)
        if m.lc_weights_rejected:
            print(f"warning: {path}: {m.lc_weights_rejected}", file=sys.stderr)
        if m.lc_skipped:
            print(f"warning: {path}: {m.lc_skipped}", file=sys.stderr)
    if difficulty is None and not args.no_lc and not args.lc_without_difficulty:
        print("length_controlled_winrate not computed: pass --instruction-difficulty FILE "
              "(and --gamed-baselines FILE for the official regularised fit).", file=sys.stderr)

    if args.format == "json":
        print(json.dumps([m.model_dump(exclude_none=True) for m in results], indent=2))
        return 0
    rows = [[getattr(m, c) for c in COLUMNS] for m in results]
    if args.format == "csv":
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(COLUMNS)
        writer.writerows([["" if v is None else v for v in r] for r in rows])
    else:
        print(tabulate(rows, headers=COLUMNS, tablefmt="github", floatfmt=".2f", missingval="–"))
    return 0


def _derive(loaded: list[tuple[str, list[dict[str, Any]]]], weights: Any, out: str):
    from harness.benchmarks import alpaca_metrics as am

    if weights is None:
        raise ValueError("--derive-difficulty needs --glm-weights (the model's theta and psi)")
    for path, records in loaded:
        if records and all("glm_preference" in r for r in records):
            model = am.annotation_name(path, records)
            if model not in weights:
                continue
            d = am.difficulty_from_glm_preference([r["glm_preference"] for r in records], weights[model])
            x = am.to_x(r.get("preference") for r in records)
            gap = am.weights_row_gap(weights[model], x, [len(str(r.get("output_1") or "")) for r in records],
                                     [len(str(r.get("output_2") or "")) for r in records], d)
            if not abs(gap) <= am.WEIGHTS_ROW_TOLERANCE:
                print(f"warning: {path}: GLM weights row '{model}' does not reproduce this file's raw win rate "
                      f"(off by {gap:+.2f} points): not used to derive difficulties", file=sys.stderr)
                continue
            with open(out, "w", encoding="utf-8") as fh:
                fh.write("index,instruction_difficulty\n")
                fh.writelines(f"{i},{v!r}\n" for i, v in enumerate(d.tolist()))
            print(f"wrote {len(d)} instruction difficulties recovered from {path} to {out}", file=sys.stderr)
            return d
    raise ValueError("--derive-difficulty: no input file has a glm_preference column for a model in --glm-weights")

"""``harness alpaca-metrics --glm-weights``: a weights row is used only for the data it was fitted on.

AlpacaEval's NullModel annotation file names its generator "example", which is also the
name of another model's row in the published weights: taking the row by name gave LC 0.22
for a model whose raw win rate is 76.9. A row is now used only if it reproduces the
file's raw win rate (``weights_row_gap``); otherwise the CLI warns and fits.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.benchmarks import alpaca_metrics as am
from harness.cli import main as cli_main

EXAMPLE_ROW = am.GlmFit(length=-1.8366972159920485, difficulty=0.7446561168325255, intercept=-6.8226040527680167)
"""The published weights row named "example" (the one NullModel's file used to be given)."""


def _file(n: int = 300, seed: int = 0) -> tuple[list[dict], np.ndarray, am.GlmFit]:
    """Annotation records whose preferences are exactly a GLM's predictions, that GLM, and d."""
    rng = np.random.default_rng(seed)
    ref, model = np.full(n, 900), rng.integers(200, 2200, size=n)
    d = rng.normal(size=n)
    fit = am.GlmFit(length=-1.2, difficulty=0.6, intercept=1.1)
    x = 1 / (1 + np.exp(-(fit.length * np.tanh(am.length_features(ref, model)) + fit.difficulty * d + fit.intercept)))
    records = [
        {"instruction": f"q{i}", "output_1": "r" * int(ref[i]), "output_2": "m" * int(model[i]),
         "generator_1": "ref", "generator_2": "example", "preference": 1 + float(x[i])}
        for i in range(n)
    ]
    return records, d, fit


def _weights_csv(path: Path, rows: dict[str, am.GlmFit]) -> Path:
    lines = [",np.tanh(std_delta_len),instruction_difficulty,not_gamed_baseline.astype(float)"]
    lines += [f"{name},{f.length!r},{f.difficulty!r},{f.intercept!r}" for name, f in rows.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_own_row_is_used_and_a_same_named_row_of_other_data_is_not() -> None:
    records, d, own = _file()
    used = am.annotation_metrics(records, name="example", difficulty=d, weights={"example": own})
    assert used.lc_variant == "stored_weights" and used.lc_weights_rejected is None
    assert used.length_controlled_winrate == pytest.approx(am.predict_from_weights(own, d)[0])

    refused = am.annotation_metrics(records, name="example", difficulty=d, weights={"example": EXAMPLE_ROW})
    assert refused.lc_variant == "length_controlled_noreg"
    assert "GLM weights row 'example' not used" in (refused.lc_weights_rejected or "")
    assert refused.lc_weights["intercept"] != EXAMPLE_ROW.intercept
    # the fit recovers the generating GLM's LC; the impostor row would have given ~0
    assert refused.length_controlled_winrate == pytest.approx(am.predict_from_weights(own, d)[0], abs=1.0)
    assert am.predict_from_weights(EXAMPLE_ROW, d)[0] < 5


def test_tolerance_boundary_follows_the_raw_win_rate_gap() -> None:
    records, d, own = _file(seed=1)
    x = am.to_x(r["preference"] for r in records)
    lens = ([len(r["output_1"]) for r in records], [len(r["output_2"]) for r in records])
    assert am.weights_row_gap(own, x, *lens, d) == pytest.approx(0.0, abs=1e-9)
    for shift, accepted in ((0.002, True), (0.02, False), (-0.02, False)):
        row = own.model_copy(update={"intercept": own.intercept + shift})
        gap = am.weights_row_gap(row, x, *lens, d)
        assert (abs(gap) <= am.WEIGHTS_ROW_TOLERANCE) is accepted, gap
        if accepted:  # (a refused row's path, the fit, is covered above)
            m = am.annotation_metrics(records, name="example", difficulty=d, weights={"example": row})
            assert m.lc_variant == "stored_weights"


def test_cli_warns_and_fits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records, d, _ = _file(n=120, seed=2)
    ann = tmp_path / "NullModel.json"
    ann.write_text(json.dumps(records))
    diff = tmp_path / "d.json"
    diff.write_text(json.dumps(d.tolist()))
    weights = _weights_csv(tmp_path / "w.csv", {"example": EXAMPLE_ROW})
    assert cli_main(["alpaca-metrics", str(ann), "--glm-weights", str(weights), "--instruction-difficulty", str(diff),
                     "--format", "json"]) == 0
    captured = capsys.readouterr()
    [out] = json.loads(captured.out)
    assert out["lc_variant"] == "length_controlled_noreg" and out["length_controlled_winrate"] > 50
    assert "not used" in out["lc_weights_rejected"]
    assert f"warning: {ann}: GLM weights row 'example' not used" in captured.err


def test_real_files_are_never_given_another_models_row(shared_data: Path) -> None:
    """The six published annotation files, each checked against the other five models' rows
    and "example". With the real instruction difficulties supplied (instruction_difficulty.csv
    next to the data) the files' own rows must pass too; without them a neutral d is used."""
    base = shared_data / "alpacaeval"
    weights = am.read_glm_weights(base / "lc_weights_weighted_alpaca_eval_gpt4_turbo_baseline_gpt4_1106_preview.csv")
    real_d = base / "instruction_difficulty.csv"
    d = am.read_difficulty(real_d) if real_d.is_file() else np.zeros(805)
    files = {}
    for f in sorted((base / "annotations").glob("*.json.gz")):
        records = am.read_json_records(f)
        files[am.annotation_name(f, records)] = records
    assert len(files) == 6
    for name, records in files.items():
        x = am.to_x(r["preference"] for r in records)
        lens = ([len(str(r["output_1"] or "")) for r in records], [len(str(r["output_2"] or "")) for r in records])
        for other in [*files, "example"]:
            gap = am.weights_row_gap(weights[other], x, *lens, d)
            if other != name:
                assert abs(gap) > am.WEIGHTS_ROW_TOLERANCE, (name, other, gap)
            elif real_d.is_file():
                assert abs(gap) <= am.WEIGHTS_ROW_TOLERANCE, (name, gap)

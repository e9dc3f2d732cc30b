"""Unit checks of the report pieces that need no eval: stats, per-problem values, paper matching."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from harness.reports.paper import PAPER_DIR, Paper, find_table, load_papers, measure, parse_mapping
from harness.reports.runs import MetricResult, RunRecord, _per_problem
from harness.stats import bootstrap_ci, paired_test, sign_flip_p_value


def test_sign_flip_exact_matches_enumeration_by_hand() -> None:
    d = np.array([0.5, -0.25, 0.75, 0.0, 1.0])
    nz = d[d != 0]
    sums = [abs(sum(s * x for s, x in zip(signs, nz))) for signs in itertools.product([-1, 1], repeat=len(nz))]
    expected = np.mean([s >= abs(nz.sum()) - 1e-12 for s in sums])
    p, exact = sign_flip_p_value(d)
    assert exact and p == pytest.approx(expected)


def test_sign_flip_monte_carlo_for_many_problems() -> None:
    d = np.full(30, 0.1)  # every problem better: p is tiny but never 0
    p, exact = sign_flip_p_value(d, n_perm=2000)
    assert not exact and 0 < p <= 2 / 2001


def test_bootstrap_interval_contains_mean_and_is_seeded() -> None:
    x = np.arange(30) / 30
    a, b = bootstrap_ci(x), bootstrap_ci(x)
    assert a == b and a.low < x.mean() < a.high and a.n == 30
    assert bootstrap_ci([]).n == 0
    res = paired_test([0, 0, 1], [1, 0, 1])
    assert (res.wins, res.losses, res.ties) == (1, 0, 2) and res.p_value == pytest.approx(1.0)


class _S:
    def __init__(self, sample_id, value):
        self.sample_id, self.value = sample_id, value


def test_per_problem_values_from_reduced_scores() -> None:
    from inspect_ai.scorer import value_to_float

    to_float = value_to_float()
    scalar = [_S("a", "C"), _S("b", 0.5), _S("c", float("nan"))]
    assert _per_problem(scalar, "accuracy", to_float) == {"a": 1.0, "b": 0.5}
    assert _per_problem(scalar, "win_rate", to_float) is None  # a scalar only backs accuracy
    dicts = [_S("a", {"first_try": 0, "second_try": 1}), _S("b", {"first_try": 1, "second_try": 1})]
    assert _per_problem(dicts, "second_try", to_float) == {"a": 1.0, "b": 1.0}
    assert _per_problem(dicts, "win_rate", to_float) is None


def _run(model: str, task: str, solver: str, metrics: dict[str, dict[str, float]], created: str = "1") -> RunRecord:
    return RunRecord(
        path=f"/logs/{model.replace('/', '_')}_{task}_{created}.eval", task=task, model=model, solver=solver,
        epochs=1, problems=2, planned=2, completed=2, status="success", created=created,
        metrics=[MetricResult(label=name, scorer="s", reducer="mean", metric=name, value=sum(pp.values()) / len(pp),
                              percent=True, per_problem=pp) for name, pp in metrics.items()],
    )


def test_reproduce_reflect_retry_vanilla_and_trained_columns() -> None:
    paper, table = find_table("rrr.table2")
    vanilla = _run("vllm/qwen2.5-1.5b-instruct", "countdown", "reflect_retry",
                   {"first_try": {"a": 0.0, "b": 1.0}, "second_try": {"a": 1.0, "b": 1.0}})
    trained = _run("vllm/my-r3-checkpoint", "countdown", "reflect_retry",
                   {"first_try": {"a": 1.0, "b": 1.0}, "second_try": {"a": 1.0, "b": 1.0}})
    other_task = _run("vllm/qwen2.5-1.5b-instruct", "apigen", "reflect_retry", {"first_try": {"a": 0.0, "b": 0.0}})
    mapping = parse_mapping(["Qwen-2.5-1.5B-Instruct (trained)=vllm/my-r3-checkpoint"])
    (cells,) = measure(paper, table, [vanilla, trained, other_task], mapping, n_boot=200, seed=0)
    (p1, c1, r1), (p2, c2, r2), (p3, c3, r3), (p4, c4, r4) = cells
    assert (p1, c1.value, r1.model) == (6.0, 0.5, "vllm/qwen2.5-1.5b-instruct")  # alias match
    assert (p2, c2.value) == (10.2, 1.0)
    assert (p3, c3.value, r3.model) == (34.9, 1.0, "vllm/my-r3-checkpoint")  # --model mapping
    assert p4 == 45.0 and c4.value == 1.0


def test_every_paper_file_validates_and_has_provenance() -> None:
    assert len(load_papers()) == 3
    for path in sorted(PAPER_DIR.glob("*.json")):
        paper = Paper.model_validate(json.loads(path.read_text()))
        assert paper.source and paper.caveats
        for t in paper.tables:
            names = {c.name for c in t.columns}
            for row in t.rows:
                assert set(row.values) <= names, (t.id, row.label)
    # spot-check transcriptions against the reference (tfgrpo.md section 3)
    _, t1 = find_table("tfgrpo.table1")
    assert [r.values["AIME24"] for r in t1.rows] == [68.6, 72.6, 80.0, 82.7, 71.0, 73.1]
    _, t5 = find_table("tfgrpo.table5")
    assert t5.rows[-1].values == {"pass@1": 68.6, "pass@3": 78.4}
    _, lsp = find_table("lsp.v3.overall")
    assert [r.values["win rate"] for r in lsp.rows] == [26.5, 38.8, 32.0, 36.4, 36.3, 39.5]
    with pytest.raises(ValueError, match="unknown table"):
        find_table("tfgrpo.table9")


def test_library_in_the_optimizer_artifact_layout(tmp_path) -> None:
    """The layout harness/experience.py (Training-Free GRPO issue) writes, as a literal."""
    from harness.reports.cost import library_rows, training_problems
    from harness.reports.runs import read_library

    lib_json = {
        "schema_version": 1,
        "experiences": [{"id": "G0", "text": "Check the answer."}, {"id": "G1", "text": "Simplify first."}],
        "provenance": {"method": "direct-experiences", "model": "openai/x", "task": "afm100", "group_size": 3,
                       "ground_truth": False, "train_sample_ids": ["a", "b", "c"], "test_double": True},
        "steps": [],
        "usage": {
            "rollout": {"calls": 10, "input_tokens": 1000, "output_tokens": 200, "total_tokens": 4200,
                        "input_tokens_cache_read": 3000, "reasoning_tokens": 0, "cost": 0.5},
            "summary": {"calls": 2, "input_tokens": 100, "output_tokens": 50, "total_tokens": 150,
                        "input_tokens_cache_read": 0, "reasoning_tokens": 0, "cost": None},
        },
    }
    path = tmp_path / "lib.json"
    path.write_text(json.dumps(lib_json))
    lib = read_library(str(path))
    assert (lib.model, lib.task, lib.domain, lib.entries) == ("openai/x", "afm100", "web", 2)
    assert lib.settings["method"] == "direct-experiences" and lib.settings["ground_truth"] is False
    assert training_problems(lib) == 3 and "TEST DOUBLE" in lib.label
    rows = library_rows(lib)
    assert rows[0] == ["rollout", "4,000", "200", "75.0%", "0.5"]
    # the summary stage has no price: the total is not priced either (a partial sum would understate $)
    assert rows[-1] == ["total", "4,100", "250", f"{100 * 3000 / 4100:.1f}%", "n/a"]


def test_model_aliases_match_exactly_never_by_substring() -> None:
    from harness.reports.paper import model_matches

    paper, table = find_table("tfgrpo.table3")
    assert model_matches("Qwen2.5-32B-Instruct", "vllm/Qwen/Qwen2.5-32B-Instruct", paper, {})
    assert model_matches("ReTool (Qwen2.5-32B-Instruct)", "vllm/retool", paper, {})
    # a ReTool checkpoint named after its base model fills neither row without --model
    for row in ("Qwen2.5-32B-Instruct", "ReTool (Qwen2.5-32B-Instruct)"):
        assert not model_matches(row, "vllm/qwen2.5-32b-instruct-retool", paper, {})
    assert not model_matches("DeepSeek-V3.1-Terminus", "openrouter/deepseek/deepseek-v3.1", paper, {})
    assert model_matches("DeepSeek-V3.1-Terminus", "openrouter/deepseek/DeepSeek-V3.1-Terminus", paper, {})
    retool = _run("vllm/qwen2.5-32b-instruct-retool", "aime2024", "react", {"accuracy": {"a": 1.0, "b": 0.0}})
    mapped = parse_mapping(["ReTool (Qwen2.5-32B-Instruct)=vllm/qwen2.5-32b-instruct-retool"])
    for mapping, filled in (({}, set()), (mapped, {"ReTool (RL, ≈$10,000)"})):
        cells = measure(paper, table, [retool], mapping, n_boot=100, seed=0)
        assert {row.label for row, c in zip(table.rows, cells) if c[0][1] is not None} == filled
    lsp, lsp_table = find_table("lsp.v3.overall")
    zero = _run("vllm/lsp-zero", "alpacaeval", "direct", {"win_rate": {"a": 1.0, "b": 0.0}})
    cells = measure(lsp, lsp_table, [zero], {}, n_boot=100, seed=0)
    assert [row.label for row, c in zip(lsp_table.rows, cells) if c[0][1] is not None] == ["LSP-Zero (no data)"]


def test_a_log_filling_several_rows_of_a_column_is_reported() -> None:
    from harness.reports.paper import measure_with_notes

    paper, table = find_table("lsp.v3.overall")
    run = _run("vllm/x", "alpacaeval", "direct", {"win_rate": {"a": 1.0, "b": 0.0}})
    _, notes = measure_with_notes(paper, table, [run], parse_mapping(["LSP=vllm/x", "LSP-Zero=vllm/x"]), n_boot=100, seed=0)
    assert any("fills 2 rows of column win rate: LSP-Zero (no data); LSP (no data)" in n for n in notes)


def test_compare_verdict_never_contradicts_its_interval_issue_case() -> None:
    # the issue's numbers: p = 0.125 with a bootstrap CI that excluded 0 (4 problems, all +0.25)
    res = paired_test([0, 0, 0, 0], [0.25] * 4)
    assert res.p_value == pytest.approx(0.125) and not res.distinguishable
    assert (res.diff.low, res.diff.high) == (-np.inf, np.inf)  # 2/2^4 > 0.05: the test rejects no shift
    # ten problems all +0.25: p = 2/1024 and the interval is the single point the test keeps
    res = paired_test([0] * 10, [0.25] * 10)
    assert res.distinguishable and res.p_value == pytest.approx(2 / 1024)
    assert res.diff.low == pytest.approx(0.25) and res.diff.high == pytest.approx(0.25)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=24), st.integers(0, 3))
def test_compare_interval_excludes_zero_exactly_when_p_is_below_5_percent(pairs, seed) -> None:
    """Exact (n <= 16) and Monte Carlo (n > 16) alike: one test gives the verdict and the interval."""
    a = [x / 4 for x, _ in pairs]
    b = [y / 4 for _, y in pairs]
    res = paired_test(a, b, n_perm=400, seed=seed)
    assert res.exact == (len(pairs) <= 16)
    excludes = res.diff.low > 0 or res.diff.high < 0
    assert excludes == res.distinguishable == (res.p_value < 0.05)
    assert res.diff.low <= res.diff.value <= res.diff.high
    # the bounds are where the test starts to reject: p >= 5% inside, < 5% just outside
    from harness.stats import SignFlips

    flips = SignFlips(np.array(b) - np.array(a), n_perm=400, seed=seed)
    for bound, outward in ((res.diff.low, -1), (res.diff.high, 1)):
        if np.isfinite(bound):
            assert flips.p_value(bound) >= 0.05
            assert flips.p_value(bound + outward * 1e-6) < 0.05

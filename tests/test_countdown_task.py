"""Countdown task: sources, loader, end-to-end offline runs (mockllm and the test double)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ChatMessageUser

from harness.benchmarks.countdown import check_countdown
from harness.datasets import DataUnavailable
from tasks.countdown import HF_PATH, countdown, load_countdown
from tests.helpers import mock_model, output, write_jsonl

ROWS = [
    {"target": 64, "nums": [51, 33, 75, 48]},  # 75 - 33 / (51 - 48)
    {"target": 24, "nums": [8, 3, 8, 3]},  # 8 / (3 - 8 / 3)
    {"target": 97, "nums": [1, 1, 1]},  # impossible
    {"target": 64, "nums": [51, 33, 75, 48]},  # duplicate row: dropped
]


def _metrics(log, scorer: str, reducer: str = "mean") -> dict[str, float]:
    for s in log.results.scores:
        if s.name == scorer and s.reducer == reducer:
            return {k: m.value for k, m in s.metrics.items()}
    raise AssertionError(f"no {scorer}/{reducer} in {[(s.name, s.reducer) for s in log.results.scores]}")


def test_generated_source_is_default_seeded_and_solvable() -> None:
    a = load_countdown("generate", None, 20, seed=3)
    assert [s.id for s in a] == [s.id for s in load_countdown("generate", None, 20, seed=3)]
    assert [s.id for s in a] != [s.id for s in load_countdown("generate", None, 20, seed=4)]
    for s in a:
        md = s.metadata
        assert md["solvable"] and md["source"] == "generate(seed=3)"
        assert s.target == str(md["target"]) and str(md["nums"]) in s.input
        assert check_countdown(f"<answer>{md['oracle_answer']}</answer>", md["nums"], md["target"]).correct
    assert len(load_countdown("generate", None, None, seed=0)) == 1024


def test_local_file_jsonl_and_parquet(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "cd.jsonl", ROWS)
    samples = load_countdown("generate", str(path), None, 0)  # data= overrides source
    assert [s.id for s in samples] == ["cd64-51_33_75_48", "cd24-8_3_8_3", "cd97-1_1_1"]
    assert [s.metadata["solvable"] for s in samples] == [True, True, False]
    assert "oracle_answer" not in samples[2].metadata
    assert samples[0].input == "Using the numbers [51, 33, 75, 48], create an equation that equals 64."
    assert len(load_countdown("hf", str(path), 2, 0)) == 2

    pq = tmp_path / "cd.parquet"
    pd.DataFrame(ROWS[:2]).to_parquet(pq)  # nums come back as numpy arrays
    assert [s.metadata["nums"] for s in load_countdown("generate", str(pq), None, 0)] == [[51, 33, 75, 48], [8, 3, 8, 3]]


def test_bad_inputs_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailable, match="schema"):
        load_countdown("generate", str(write_jsonl(tmp_path / "x.jsonl", [{"target": 3}])), None, 0)
    with pytest.raises(DataUnavailable, match="source"):
        load_countdown("nope", None, None, 0)
    with pytest.raises(DataUnavailable, match="positive"):
        load_countdown("generate", None, 0, 0)


def test_hf_source_offline_names_the_fix() -> None:
    # conftest sets HF_HUB_OFFLINE=1 and there is no cached copy
    with pytest.raises(DataUnavailable, match="-T data=") as err:
        load_countdown("hf", None, 8, 0)
    assert HF_PATH in str(err.value)


@pytest.mark.shared_data
def test_loader_on_real_sample(shared_data: Path) -> None:
    samples = load_countdown("generate", str(shared_data / "countdown_sample.jsonl"), None, 0)
    assert len(samples) == 1000
    assert all(s.metadata["solvable"] for s in samples)
    assert all(len(s.metadata["nums"]) in (3, 4) for s in samples)


def _answers_by_prompt(answers: dict[str, str]):
    """mockllm outputs chosen by the numbers in the prompt (works at any concurrency)."""

    def respond(input, tools, tool_choice, config):
        first = next(m.text for m in input if isinstance(m, ChatMessageUser))
        for key, answer in answers.items():
            if key in first:
                return output(answer)
        raise AssertionError(first)

    return respond


def test_end_to_end_mockllm(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "cd.jsonl", ROWS[:3])
    model = mock_model(
        _answers_by_prompt(
            {
                "[51, 33, 75, 48]": "<think>75 - 11 = 64</think>\n<answer>75 - 33 / (51 - 48)</answer>",
                "[8, 3, 8, 3]": "<answer>8 * 3 * (8 / 8)</answer>",
                "[1, 1, 1]": "I cannot do it.",
            }
        )
    )
    [log] = inspect_eval(countdown(data=str(data)), model=model, log_dir=str(tmp_path), display="none")
    assert log.status == "success"
    assert _metrics(log, "countdown_equation")["accuracy"] == pytest.approx(1 / 3)
    reasons = {s.id: s.scores["countdown_equation"].metadata["reason"] for s in log.samples}
    assert reasons == {"cd64-51_33_75_48": "correct", "cd24-8_3_8_3": "wrong_numbers", "cd97-1_1_1": "no_answer"}
    prompt = log.samples[0].messages[0].text
    assert "<answer> </answer>" in prompt and "each number can only be used once" in prompt


@pytest.mark.parametrize("p_correct,expected", [(1.0, 1.0), (0.0, 0.0)])
def test_end_to_end_test_double(tmp_path: Path, p_correct: float, expected: float) -> None:
    [log] = inspect_eval(
        countdown(n=12, seed=5),
        model="testdouble/oracle",
        model_args={"p_correct": p_correct},
        log_dir=str(tmp_path),
        display="none",
    )
    assert log.status == "success"
    assert _metrics(log, "countdown_equation")["accuracy"] == expected
    if expected == 0.0:  # the test double's wrong answer is target + 1: numbers are wrong
        assert {s.scores["countdown_equation"].metadata["reason"] for s in log.samples} == {"wrong_numbers"}


def test_registered_under_harness() -> None:
    from harness import _registry

    assert hasattr(_registry, "countdown")


def test_hub_source_takes_the_rows_after_the_training_slice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ``hf`` code path end to end, on a local folder standing in for the hub dataset."""
    import datasets

    import tasks.countdown as cd

    repo = tmp_path / "Countdown-Tasks-3to4" / "data"
    repo.mkdir(parents=True)
    rows = [{"target": 10 + i, "nums": [i + 1, 9, 1]} for i in range(8)]
    pd.DataFrame(rows).to_parquet(repo / "train-00000-of-00001.parquet")
    monkeypatch.setattr(cd, "HF_PATH", str(repo.parent))
    monkeypatch.setattr(cd, "HF_TEST_START", 5)  # stands for TinyZero's 327,680 training rows
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf_cache")
    samples = cd.load_countdown("hf", None, 2, 0)
    assert [s.metadata["target"] for s in samples] == [15, 16]
    assert all(s.metadata["source"] == "hf" for s in samples)

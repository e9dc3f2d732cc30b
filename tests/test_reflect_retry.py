"""reflect_retry: attempt, check with the task's scorer, reflect and retry only on failure."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai._util.error import PrerequisiteError
from inspect_ai.model import ChatMessageAssistant, ChatMessageUser

from solvers.reflect_retry import REFLECTION_PROMPT, RETRY_PROMPT, UNEXECUTED_TOOL_RESULT
from tasks.aime import aime2024
from tasks.countdown import countdown, load_countdown
from tests.helpers import mock_model, output, tool_call_output, write_jsonl

ROWS = [
    {"target": 64, "nums": [51, 33, 75, 48]},
    {"target": 24, "nums": [8, 3, 8, 3]},
    {"target": 10, "nums": [65, 18, 37]},
]
RIGHT = {
    "[51, 33, 75, 48]": "<answer>75 - 33 / (51 - 48)</answer>",
    "[8, 3, 8, 3]": "<answer>8 / (3 - 8 / 3)</answer>",
    "[65, 18, 37]": "<answer>65 - 18 - 37</answer>",
}
WRONG = "<answer>1 + 1</answer>"


def _metrics(log, scorer: str, reducer: str = "mean") -> dict[str, float]:
    for s in log.results.scores:
        if s.name == scorer and s.reducer == reducer:
            return {k: m.value for k, m in s.metrics.items()}
    raise AssertionError(f"no {scorer}/{reducer} in {[(s.name, s.reducer) for s in log.results.scores]}")


def _scripted(plan: dict[str, list[str]]):
    """Turn n of the conversation whose first user message contains the key gets plan[key][n]."""

    def respond(input, tools, tool_choice, config):
        first = next(m.text for m in input if isinstance(m, ChatMessageUser))
        turn = sum(isinstance(m, ChatMessageAssistant) for m in input)
        for key, turns in plan.items():
            if key in first:
                reply = turns[turn]
                return reply if not isinstance(reply, str) else output(reply)
        raise AssertionError(first)

    return respond


def test_countdown_first_and_second_try_by_hand(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "cd.jsonl", ROWS)
    model = mock_model(
        _scripted(
            {
                "[51, 33, 75, 48]": [RIGHT["[51, 33, 75, 48]"]],  # right at once
                "[8, 3, 8, 3]": [WRONG, "I misused the numbers.", RIGHT["[8, 3, 8, 3]"]],  # fixed on retry
                "[65, 18, 37]": ["no tags", "Forgot the tags.", WRONG],  # wrong twice
            }
        )
    )
    task = countdown(data=str(data), solver="reflect_retry")
    [log] = inspect_eval(task, model=model, log_dir=str(tmp_path), display="none")
    assert log.status == "success"
    # by hand: first try 1/3, within two tries 2/3, gain 1/3
    rr = _metrics(log, "reflect_retry")
    assert rr == pytest.approx({"first_try": 1 / 3, "second_try": 2 / 3, "gain": 1 / 3})
    # the task's own scorer scores the final output: second-try accuracy
    assert _metrics(log, "countdown_equation")["accuracy"] == pytest.approx(2 / 3)
    assert log.eval.metadata["solver"] == "reflect_retry"
    assert log.eval.metadata["reflect_retry"]["reflection_prompt"] == REFLECTION_PROMPT

    by_id = {s.id: s for s in log.samples}
    first = by_id["cd64-51_33_75_48"]
    assert [m.role for m in first.messages] == ["user", "assistant"]  # no reflection when right
    assert first.scores["reflect_retry"].value == {"first_try": 1.0, "second_try": 1.0, "gain": 0.0}

    fixed = by_id["cd24-8_3_8_3"]
    roles = [m.role for m in fixed.messages]
    assert roles == ["user", "assistant", "user", "assistant", "user", "assistant"]  # one conversation
    assert fixed.messages[2].text == REFLECTION_PROMPT and fixed.messages[4].text == RETRY_PROMPT
    rr_score = fixed.scores["reflect_retry"]
    assert rr_score.value == {"first_try": 0.0, "second_try": 1.0, "gain": 1.0}
    assert rr_score.metadata["first_reason"] == "wrong_numbers" and rr_score.metadata["second_reason"] == "correct"
    assert rr_score.metadata["reflection"] == "I misused the numbers."

    failed = by_id["cd10-65_18_37"]
    assert failed.scores["reflect_retry"].value == {"first_try": 0.0, "second_try": 0.0, "gain": 0.0}
    assert failed.scores["reflect_retry"].metadata["first_reason"] == "no_answer"
    # the checks inside the solver are logged as intermediate score events
    intermediate = [e for e in fixed.events if e.event == "score" and e.intermediate]
    assert [e.score.value for e in intermediate] == ["I", "C"]


def test_prompts_are_overridable(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "cd.jsonl", ROWS[1:2])
    model = mock_model(_scripted({"[8, 3, 8, 3]": [WRONG, "hm", WRONG]}))
    task = countdown(data=str(data), solver="reflect_retry", reflection_prompt="WHY?", retry_prompt="AGAIN!")
    [log] = inspect_eval(task, model=model, log_dir=str(tmp_path), display="none")
    texts = [m.text for m in log.samples[0].messages]
    assert texts[2] == "WHY?" and texts[4] == "AGAIN!"


def test_bad_options_fail_clearly() -> None:
    with pytest.raises(PrerequisiteError, match="reflection_prompt"):
        countdown(n=2, solver="reflect_retry", reflection_promt="typo")
    with pytest.raises(PrerequisiteError, match="non-empty"):
        countdown(n=2, solver="reflect_retry", retry_prompt="  ")


def test_tool_calls_in_the_reflection_are_closed(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "cd.jsonl", ROWS[1:2])
    reflection_call = tool_call_output("calculator", {"expression": "8/3"})
    model = mock_model(_scripted({"[8, 3, 8, 3]": [WRONG, reflection_call, RIGHT["[8, 3, 8, 3]"]]}))
    [log] = inspect_eval(countdown(data=str(data), solver="reflect_retry"), model=model, log_dir=str(tmp_path), display="none")
    assert log.status == "success"
    roles = [m.role for m in log.samples[0].messages]
    assert roles == ["user", "assistant", "user", "assistant", "tool", "user", "assistant"]
    assert log.samples[0].messages[4].text == UNEXECUTED_TOOL_RESULT
    assert log.samples[0].scores["reflect_retry"].value["second_try"] == 1.0


def _draw(seed: int, sample_id: str, epoch: int, turn: int) -> float:
    """The test double's documented deterministic draw (harness/testing/testdouble.py)."""
    key = f"{seed}|{sample_id}|{epoch}|{turn}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2**64


def test_countdown_with_the_test_double(tmp_path: Path) -> None:
    p, n = 0.4, 30
    [log] = inspect_eval(
        countdown(n=n, seed=11, solver="reflect_retry"),
        model="testdouble/oracle",
        model_args={"p_correct": p},
        log_dir=str(tmp_path),
        display="none",
    )
    assert log.status == "success"
    # expected from the double's draws: turn 0 is the attempt, turn 2 the retry
    ids = [s.id for s in load_countdown("generate", None, n, 11)]
    first = [_draw(0, i, 1, 0) < p for i in ids]
    second = [f or _draw(0, i, 1, 2) < p for i, f in zip(ids, first)]
    assert 0 < sum(first) < sum(second) < n  # the draw exercises every branch
    rr = _metrics(log, "reflect_retry")
    assert rr["first_try"] == pytest.approx(sum(first) / n)
    assert rr["second_try"] == pytest.approx(sum(second) / n)
    assert rr["gain"] == pytest.approx((sum(second) - sum(first)) / n)
    assert _metrics(log, "countdown_equation")["accuracy"] == pytest.approx(sum(second) / n)
    for s in log.samples:
        assert len(s.messages) == (2 if s.scores["reflect_retry"].value["first_try"] else 6)


def test_aime_with_epochs(tmp_path: Path) -> None:
    rows = [
        {"id": 60, "problem": "What is 6 * 7?", "answer": "42", "url": "https://x/2024_AIME_I_Problems/Problem_1", "year": "2024"},
        {"id": 61, "problem": "What is 2 + 2?", "answer": "4", "url": "https://x/2024_AIME_I_Problems/Problem_2", "year": "2024"},
    ]
    data = write_jsonl(tmp_path / "aime.jsonl", rows)
    # per epoch (turns repeat each epoch): 6*7 right at once; 2+2 wrong, then right on retry
    model = mock_model(
        _scripted(
            {
                "6 * 7": ["\\boxed{42}"],
                "2 + 2": ["\\boxed{5}", "I added wrong.", "\\boxed{4}"],
            }
        )
    )
    task = aime2024(data=str(data), solver="reflect_retry")
    [log] = inspect_eval(task, model=model, epochs=2, log_dir=str(tmp_path), display="none")
    assert log.status == "success"
    assert _metrics(log, "reflect_retry") == pytest.approx({"first_try": 0.5, "second_try": 1.0, "gain": 0.5})
    assert _metrics(log, "math_answer")["accuracy"] == 1.0
    # pass_at_k reducers apply per key
    assert _metrics(log, "reflect_retry", "pass_at_2") == pytest.approx({"first_try": 0.5, "second_try": 1.0, "gain": 0.5})

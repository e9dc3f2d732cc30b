"""tasks/apigen.py: records, the seeded split, and offline end-to-end runs (mockllm, test double)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai._util.error import PrerequisiteError
from inspect_ai.model import ChatMessageUser, ModelOutput

from harness.datasets import DataUnavailable
from tasks.apigen import APIGEN_PROMPT, record_to_sample, select_split, apigen, load_apigen
from tests.helpers import USAGE, output, tool_call_output, write_jsonl

FIXTURE = Path(__file__).parents[1] / "harness" / "data" / "offline" / "apigen.jsonl"
ROWS = [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]
GOLD = {row["query"]: json.loads(row["answers"]) for row in ROWS}


def test_fixture_follows_upstream_schema() -> None:
    for row in ROWS:
        assert set(row) == {"id", "query", "tools", "answers"}
        assert isinstance(row["id"], int) and isinstance(row["tools"], str) and isinstance(row["answers"], str)
        for tool in json.loads(row["tools"]):
            assert set(tool) == {"name", "description", "parameters"}
            for spec in tool["parameters"].values():
                assert {"description", "type"} <= set(spec)
        for call in json.loads(row["answers"]):
            assert set(call) == {"name", "arguments"}


def test_record_to_sample() -> None:
    sample = record_to_sample(ROWS[0], "text")
    assert sample.id == "xlam-1"
    assert "live_giveaways_by_type" in str(sample.input) and ROWS[0]["query"] in str(sample.input)
    assert json.loads(str(sample.target)) == json.loads(ROWS[0]["answers"])
    meta = sample.metadata or {}
    assert meta["tools"] == json.loads(ROWS[0]["tools"]) and meta["n_calls"] == 2
    assert json.loads(meta["oracle_answer"]) == json.loads(ROWS[0]["answers"])
    assert meta["oracle_tool_calls"] == [
        {"function": c["name"], "arguments": c["arguments"]} for c in json.loads(ROWS[0]["answers"])
    ]
    # native format (the default): the tools are declared to the model, not written in the prompt
    native = record_to_sample(ROWS[0])
    assert native.input == ROWS[0]["query"] and native.target == sample.target
    # already-decoded fields (some mirrors / parquet) are accepted too
    decoded = {**ROWS[0], "tools": json.loads(ROWS[0]["tools"]), "answers": json.loads(ROWS[0]["answers"])}
    assert record_to_sample(decoded).target == sample.target
    # the template keeps the sample input and has no stray placeholders
    assert APIGEN_PROMPT.replace("{prompt}", "X").replace("{{", "{").replace("}}", "}").startswith("X")


def test_bad_record_fails_with_clear_message(tmp_path: Path) -> None:
    bad = dict(ROWS[0], answers=json.dumps([{"arguments": {}}]))
    with pytest.raises(DataUnavailable, match="bad.jsonl line 1: does not follow"):
        load_apigen(str(write_jsonl(tmp_path / "bad.jsonl", [bad])), "all", 10, 0)


def test_split_is_seeded_disjoint_and_order_free(tmp_path: Path) -> None:
    samples = [record_to_sample(r) for r in ROWS]
    test = select_split(samples, "test", 5, seed=7)
    train = select_split(samples, "train", 5, seed=7)
    assert len(test) == 5 and len(train) == len(ROWS) - 5
    assert {s.id for s in test}.isdisjoint({s.id for s in train})
    assert {s.id for s in test} | {s.id for s in train} == {s.id for s in samples}
    # membership depends on (seed, id) only, not on the file's row order
    assert [s.id for s in select_split(list(reversed(samples)), "test", 5, seed=7)] == [s.id for s in test]
    assert {s.id for s in select_split(samples, "test", 5, seed=8)} != {s.id for s in test}
    # more rows requested than exist: the test split is everything
    assert len(select_split(samples, "test", 12_000, seed=7)) == len(ROWS)
    with pytest.raises(PrerequisiteError):
        select_split(samples, "dev", 5, seed=7)
    with pytest.raises(PrerequisiteError, match="empty"):
        load_apigen(str(FIXTURE), "train", 12_000, 42)


def test_unknown_match_mode_is_refused() -> None:
    with pytest.raises(PrerequisiteError, match="match"):
        apigen(data=str(FIXTURE), match="fuzzy")


def _query(messages: list[Any]) -> str:
    text = next(m.text for m in messages if isinstance(m, ChatMessageUser))
    if "User query: " in text:  # -T format=text
        return text.split("User query: ", 1)[1].split("\n", 1)[0].strip()
    return text.split("\n", 1)[0].strip()  # native: the query, then the instruction


def _run(tmp_path: Path, responder: Any, **task_args: Any):
    from inspect_ai.model import get_model

    model = get_model("mockllm/model", custom_outputs=responder)
    [log] = inspect_eval(
        apigen(data=str(FIXTURE), **task_args), model=model, log_dir=str(tmp_path), display="none"
    )
    assert log.status == "success", log.error
    return log


def _metrics(log) -> dict[str, float]:
    return {name: m.value for s in log.results.scores for name, m in s.metrics.items()}


def test_mockllm_json_answers_scored_with_reasons(tmp_path: Path) -> None:
    """Scripted answers per query: correct, wrong arguments, wrong count, garbage."""
    plan = {
        "Is 2024 a leap year?": json.dumps([{"name": "is_leap_year", "arguments": {"year": 2023}}]),
        "Roll a six-sided die twice.": json.dumps([{"name": "roll_die", "arguments": {"sides": 6}}]),
        "Give me a random quote.": "I cannot help with that.",
        "Get the AAPL quote with its price history.": json.dumps(
            [{"name": "get_quote", "arguments": {"symbol": "AAPL", "include_history": True}}]
        ),
    }

    def respond(input, tools, tool_choice, config) -> ModelOutput:
        q = _query(input)
        if q in plan:
            return output(plan[q])
        # everything else: the gold calls reversed, in a fence, with prose around
        return output("Here you go:\n```json\n" + json.dumps(list(reversed(GOLD[q]))) + "\n```")

    log = _run(tmp_path, respond)
    reasons = {s.metadata["query"]: s.scores["apigen_match"].metadata["reason"] for s in log.samples}
    assert reasons.pop("Is 2024 a leap year?") == "wrong_arguments"
    assert reasons.pop("Roll a six-sided die twice.") == "wrong_count"
    assert reasons.pop("Give me a random quote.") == "parse_error"
    assert reasons.pop("Get the AAPL quote with its price history.") == "wrong_name"
    assert set(reasons.values()) == {"correct"}
    m = _metrics(log)
    assert m["accuracy"] == pytest.approx(8 / 12)
    assert m["parse_error_rate"] == pytest.approx(1 / 12)
    assert log.eval.task_args.get("match", "exact") == "exact"


def test_lenient_mode_accepts_type_mismatches_exact_does_not(tmp_path: Path) -> None:
    answers = {
        "Is 2024 a leap year?": [{"name": "is_leap_year", "arguments": {"year": "2024"}}],
        "Find up to 10 hotels in Lisbon sorted by rating.": [
            {"name": "search_hotels", "arguments": {"city": "lisbon", "sort_by": "rating"}}
        ],
        "Get the AAPL quote with its price history.": [
            {"name": "get_stock_quote", "arguments": {"include_history": "true"}}
        ],
    }

    def respond(input, tools, tool_choice, config) -> ModelOutput:
        q = _query(input)
        return output(json.dumps(answers.get(q, GOLD[q])))

    exact = _run(tmp_path / "e", respond, match="exact", format="text")
    lenient = _run(tmp_path / "l", respond, match="lenient", format="text")
    bfcl = _run(tmp_path / "b", respond, match="bfcl", format="text")
    assert _metrics(exact)["accuracy"] == pytest.approx(9 / 12)
    # lenient coerces "2024" and "true" but keeps case: "lisbon" is not "Lisbon"
    assert _metrics(lenient)["accuracy"] == pytest.approx(11 / 12)
    # BFCL: types are strict ("2024" is not an int), strings are compared case-free
    assert _metrics(bfcl)["accuracy"] == pytest.approx(10 / 12)
    by_query = {s.metadata["query"]: s.scores["apigen_match"].metadata for s in bfcl.samples}
    assert by_query["Is 2024 a leap year?"]["bfcl_error"] == "type_error:simple"


def _state(sample, out: ModelOutput):
    from inspect_ai.solver import TaskState

    state = TaskState(
        model="mockllm/model", sample_id=sample.id, epoch=1, input=sample.input,
        messages=[ChatMessageUser(content=str(sample.input))], metadata=sample.metadata,
    )
    state.output = out
    return state


def test_scorer_reads_native_tool_calls_and_text() -> None:
    """A final output holding native tool calls is scored from them (no text parse needed);
    end-to-end runs with scripted native calls are in tests/test_apigen_native.py."""
    from inspect_ai.scorer import Target

    from scorers.apigen import apigen_match

    sample = record_to_sample(ROWS[1])  # is_leap_year(year=2024)
    apigen_scorer = apigen_match("exact")

    def scorer(state, target):
        return asyncio.run(apigen_scorer(state, target))

    right = scorer(_state(sample, tool_call_output("is_leap_year", {"year": 2024})), Target(str(sample.target)))
    assert right.value == "C" and right.metadata["source"] == "tool_calls"
    wrong = scorer(_state(sample, tool_call_output("is_leap_year", {"year": 2023})), Target(str(sample.target)))
    assert wrong.value == "I" and wrong.metadata["reason"] == "wrong_arguments"
    text = scorer(_state(sample, output('[{"name": "is_leap_year", "arguments": {"year": 2024}}]')), Target(str(sample.target)))
    assert text.value == "C" and text.metadata["source"] == "text"
    empty = scorer(_state(sample, output("")), Target(str(sample.target)))
    assert empty.metadata == {"mode": "exact", "reason": "parse_error", "parse_detail": "empty"}


def test_testdouble_oracle_end_to_end(tmp_path: Path) -> None:
    [log] = inspect_eval(
        apigen(data=str(FIXTURE), split="test", split_size=8, seed=3),
        model="testdouble/oracle",
        log_dir=str(tmp_path),
        display="none",
    )
    assert log.status == "success"
    assert len(log.samples) == 8
    assert _metrics(log)["accuracy"] == 1.0
    assert all("[TEST DOUBLE]" in s.output.completion for s in log.samples)
    assert {s.scores["apigen_match"].metadata["source"] for s in log.samples} == {"tool_calls"}
    assert log.eval.task_args["split_size"] == 8


def test_testdouble_wrong_answers_are_wrong_in_both_formats(tmp_path: Path) -> None:
    """p_correct=0.5: the deliberately wrong answers never read as the gold calls."""
    logs = inspect_eval(
        [apigen(data=str(FIXTURE), split="all", format=f) for f in ("native", "text")],
        model="testdouble/oracle",
        model_args={"p_correct": 0.5},
        log_dir=str(tmp_path),
        display="none",
    )
    outcomes = []
    for log in logs:
        reasons = {s.id: s.scores["apigen_match"].metadata["reason"] for s in log.samples}
        assert set(reasons.values()) == {"correct", "wrong_count"}
        outcomes.append(reasons)
    assert outcomes[0] == outcomes[1]  # the same draws, whatever the format


def test_registered_under_harness() -> None:
    import harness._registry as registry

    assert hasattr(registry, "apigen")
    task = registry.apigen(data=str(FIXTURE), split="all")
    assert len(task.dataset) == len(ROWS)


def test_usage_is_set_on_helpers() -> None:
    assert output("x").usage == USAGE


def test_reflect_retry_on_apigen(tmp_path: Path) -> None:
    """reflect_retry checks attempts with this task's scorer: parse errors and wrong calls retried."""
    from inspect_ai.model import ChatMessageAssistant

    wrong = {
        "Is 2024 a leap year?": "The answer is yes.",  # parse error, fixed on retry
        "Roll a six-sided die twice.": json.dumps([{"name": "roll_die", "arguments": {"sides": 6}}]),  # wrong twice
    }

    def respond(input, tools, tool_choice, config) -> ModelOutput:
        q = _query(input)
        turn = sum(isinstance(m, ChatMessageAssistant) for m in input)
        if q in wrong and turn == 0:
            return output(wrong[q])
        if turn == 1:
            return output("I did not follow the requested format / count of calls.")
        if q == "Roll a six-sided die twice.":
            return output(wrong[q])
        return output(json.dumps(GOLD[q]))

    log = _run(tmp_path, respond, solver="reflect_retry")
    by_name = {(s.name, s.reducer): {k: m.value for k, m in s.metrics.items()} for s in log.results.scores}
    assert by_name[("reflect_retry", "mean")] == pytest.approx(
        {"first_try": 10 / 12, "second_try": 11 / 12, "gain": 1 / 12}
    )
    assert by_name[("apigen_match", "mean")]["accuracy"] == pytest.approx(11 / 12)
    leap = next(s for s in log.samples if s.metadata["query"] == "Is 2024 a leap year?")
    assert leap.scores["reflect_retry"].metadata["first_reason"] == "parse_error"

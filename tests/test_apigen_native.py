"""APIGen's native format: tools declared to the model, native tool calls scored, every loop bounded.

The model is the project's TEST DOUBLE in script mode (``testdouble/script``): per query,
a fixed list of assistant turns, each with text and/or native ``tool_calls`` (the last
turn repeats for ever). Scenarios: correct calls, wrong calls, an extra call, calls
followed by text, and a model that never stops calling; under ``direct`` and
``reflect_retry``, and with a message limit that cuts the protocol midway.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inspect_ai import eval as inspect_eval
from inspect_ai.log import EvalLog
from inspect_ai.log._transcript import ModelEvent

from harness.benchmarks.apigen import declare_tools
from tasks.apigen import apigen
from tests.helpers import write_jsonl

FIXTURE = Path(__file__).parents[1] / "harness" / "data" / "offline" / "apigen.jsonl"
ROWS = {json.loads(line)["query"]: json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()}

GIVEAWAYS = "Where can I find live giveaways for beta access and games?"
LEAP = "Is 2024 a leap year?"
HOTELS = "Find up to 10 hotels in Lisbon sorted by rating."
QUOTE = "Get the AAPL quote with its price history."
MATRIX = "Multiply [[1, 2], [3, 4]] by [[5, 6], [7, 8]]."


def call(function: str, **arguments: Any) -> dict[str, Any]:
    return {"function": function, "arguments": arguments}


LEAP_RIGHT = call("is_leap_year", year=2024)
HOTELS_RIGHT = call("search_hotels", city="Lisbon", max_results=10, sort_by="rating")
QUOTE_RIGHT = call("get_stock_quote", symbol="AAPL", include_history=True)
MATRIX_WRONG = call("matrix_multiply", matrix_a=[[1, 2], [3, 4]], matrix_b=[[5, 6], [7, 9]])

# query -> scripted turns (turn n of the conversation gets turns[n]; the last one repeats)
SCRIPT: dict[str, list[dict[str, Any]]] = {
    # correct: both parallel calls, in the other order
    GIVEAWAYS: [{"content": "", "tool_calls": [call("live_giveaways_by_type", type="game"),
                                                call("live_giveaways_by_type", type="beta")]}],
    # wrong argument; the reflection writes the right calls as text; the retry calls them right
    LEAP: [
        {"content": "", "tool_calls": [call("is_leap_year", year=2023)]},
        {"content": "I used the wrong year. The right call is "
                    '[{"name": "is_leap_year", "arguments": {"year": 2024}}]'},
        {"content": "", "tool_calls": [LEAP_RIGHT]},
    ],
    # one call too many, every time
    HOTELS: [{"content": "", "tool_calls": [HOTELS_RIGHT, call("search_hotels", city="Porto")]}],
    # correct calls with text beside them, then (if ever asked again) text only
    QUOTE: [
        {"content": "Let me look that up.", "tool_calls": [QUOTE_RIGHT]},
        {"content": "The quote is above; nothing else to call."},
    ],
    # never stops calling (wrong calls, every turn, even when asked to reflect)
    MATRIX: [{"content": "", "tool_calls": [MATRIX_WRONG]}],
}


def _data_and_script(tmp_path: Path) -> tuple[Path, Path]:
    data = write_jsonl(tmp_path / "rows.jsonl", [ROWS[q] for q in SCRIPT])
    script = write_jsonl(
        tmp_path / "script.jsonl", [{"match": q, **turn} for q, turns in SCRIPT.items() for turn in turns]
    )
    return data, script


def _run(tmp_path: Path, **task_args: Any) -> EvalLog:
    data, script = _data_and_script(tmp_path)
    # a guard: a regression to an unbounded tool loop fails on the limit instead of hanging
    limits = {"message_limit": task_args.pop("message_limit", 40)}
    [log] = inspect_eval(
        apigen(data=str(data), split="all", **task_args),
        model="testdouble/script",
        model_args={"script": str(script)},
        log_dir=str(tmp_path / "logs"),
        display="none",
        **limits,
    )
    assert log.status == "success", log.error
    return log


def _by_query(log: EvalLog) -> dict[str, Any]:
    return {s.metadata["query"]: s for s in log.samples or []}


def _model_events(sample: Any) -> list[ModelEvent]:
    return [e for e in sample.events if isinstance(e, ModelEvent)]


def _metrics(log: EvalLog, scorer: str) -> dict[str, float]:
    for s in log.results.scores:
        if s.name == scorer and (s.reducer or "mean") == "mean":
            return {k: m.value for k, m in s.metrics.items()}
    raise AssertionError(scorer)


def test_direct_scores_native_calls_after_one_turn(tmp_path: Path) -> None:
    log = _run(tmp_path)
    samples = _by_query(log)
    reasons = {q: s.scores["apigen_match"].metadata["reason"] for q, s in samples.items()}
    assert reasons == {
        GIVEAWAYS: "correct", LEAP: "wrong_arguments", HOTELS: "wrong_count", QUOTE: "correct", MATRIX: "wrong_arguments",
    }
    assert {s.scores["apigen_match"].metadata["source"] for s in samples.values()} == {"tool_calls"}
    # one model turn per sample, whatever the model does (no tool loop, no second turn)
    assert {q: len(_model_events(s)) for q, s in samples.items()} == dict.fromkeys(SCRIPT, 1)
    assert _metrics(log, "apigen_match")["accuracy"] == pytest.approx(2 / 5)
    # the tools reached the model as function definitions built from the xLAM spec
    [event] = _model_events(samples[LEAP])
    tools = {t.name: t for t in event.tools}
    assert set(tools) == {"is_leap_year", "calculate_factorial"}
    year = tools["is_leap_year"].parameters
    assert year.properties["year"].type == "integer" and year.required == ["year"]
    hotels = _model_events(samples[HOTELS])[0].tools[0].parameters
    assert hotels.required == ["city"] and hotels.properties["max_results"].default == 10
    assert log.eval.metadata["format"] == "native"


def test_reflect_retry_is_bounded_and_consistent(tmp_path: Path) -> None:
    log = _run(tmp_path, solver="reflect_retry")
    samples = _by_query(log)
    turns = {q: len(_model_events(s)) for q, s in samples.items()}
    # right at once: 1 turn; wrong: attempt, reflection, retry = 3 turns, never more
    assert turns == {GIVEAWAYS: 1, LEAP: 3, HOTELS: 3, QUOTE: 1, MATRIX: 3}
    rr = _metrics(log, "reflect_retry")
    assert rr == pytest.approx({"first_try": 2 / 5, "second_try": 3 / 5, "gain": 1 / 5})
    assert _metrics(log, "apigen_match")["accuracy"] == pytest.approx(rr["second_try"])
    # the reflection turn is asked without tools; the never-stopping model's calls there are not run
    matrix = samples[MATRIX]
    assert [e.tool_choice for e in _model_events(matrix)] == ["auto", "none", "auto"]
    roles = [m.role for m in matrix.messages]
    assert roles == ["user", "assistant", "tool", "user", "assistant", "tool", "user", "assistant"]
    assert matrix.scores["reflect_retry"].metadata["interrupted"] is None


def test_message_limit_never_scores_an_unchecked_turn(tmp_path: Path) -> None:
    """The limit stops LEAP before its retry, right after a reflection that spells out the
    right calls: the task's scorer must not score that reflection as the answer."""
    log = _run(tmp_path, solver="reflect_retry", message_limit=6)
    samples = _by_query(log)
    leap = samples[LEAP]
    assert leap.limit is not None and leap.limit.type == "message"
    assert leap.scores["apigen_match"].value == "I"
    assert leap.scores["reflect_retry"].value == {"first_try": 0.0, "second_try": 0.0, "gain": 0.0}
    assert "LimitExceeded" in leap.scores["reflect_retry"].metadata["interrupted"]
    rr = _metrics(log, "reflect_retry")
    assert _metrics(log, "apigen_match")["accuracy"] == pytest.approx(rr["second_try"]) == pytest.approx(2 / 5)


def test_text_format_still_available(tmp_path: Path) -> None:
    log = _run(tmp_path, format="text")
    samples = _by_query(log)
    assert "User query: " + LEAP in samples[LEAP].messages[0].text
    assert all(not e.tools for s in samples.values() for e in _model_events(s))  # nothing declared
    # a model that calls tools anyway is still read from its calls
    assert samples[GIVEAWAYS].scores["apigen_match"].value == "C"


def test_unsafe_and_malformed_tool_specs(tmp_path: Path) -> None:
    """A dotted name is declared provider-safe and mapped back; malformed entries are skipped
    with a warning in the sample's metadata; the oracle's native calls score correct."""
    tools = [
        {"name": "math.factorial", "description": "n!", "parameters": {"n": {"type": "int"}}},  # no description
        "not a tool",
        {"name": "broken", "parameters": ["x"]},
        {"name": "math.factorial", "parameters": {}},
    ]
    row = {"id": 99, "query": "What is 5 factorial?", "tools": json.dumps(tools),
           "answers": json.dumps([{"name": "math.factorial", "arguments": {"n": 5}}])}
    data = write_jsonl(tmp_path / "row.jsonl", [row])
    [log] = inspect_eval(apigen(data=str(data), split="all", match="bfcl"), model="testdouble/oracle",
                         log_dir=str(tmp_path / "logs"), display="none")
    [sample] = log.samples
    [event] = _model_events(sample)
    assert [t.name for t in event.tools] == ["math_factorial", "broken"]
    assert [c.function for c in sample.output.message.tool_calls] == ["math_factorial"]
    score = sample.scores["apigen_match"]
    assert score.value == "C" and json.loads(score.answer) == [{"name": "math.factorial", "arguments": {"n": 5}}]
    warnings = sample.metadata["tool_warnings"]
    assert any("not an object with a name" in w for w in warnings)
    assert any("declared twice" in w for w in warnings)
    assert any("'math_factorial'" in w for w in warnings)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=10,
)
type_strings = st.sampled_from(
    ["int", "str", "float, optional", "List[int]", "List", "Dict[str, Any]", "Union[int, str]", "Optional[List[str]]",
     "Tuple[int, str]", "Callable", "List[" * 30, "", "integer", "array", "object"]
) | st.text(max_size=20)
param_specs = st.dictionaries(
    st.text(max_size=12),
    st.fixed_dictionaries({}, optional={"type": type_strings | json_values, "description": st.text(max_size=40) | json_values,
                                        "default": json_values, "required": st.booleans()}) | json_values,
    max_size=6,
)
tool_specs = st.fixed_dictionaries(
    {}, optional={"name": st.text(max_size=70) | json_values, "description": st.text(max_size=40) | json_values,
                  "parameters": param_specs | json_values}
) | json_values


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(tool_specs, max_size=5))
def test_every_declared_tool_is_accepted_by_inspect(tools: list[Any]) -> None:
    """Whatever the spec, declare_tools never raises and inspect accepts each tool it makes
    (ToolDef validation: names, descriptions of every parameter, a valid JSON Schema)."""
    from inspect_ai.tool import ToolDef

    from tasks.apigen import _tool

    declared = declare_tools(tools)
    names = [t.name for t in declared.tools]
    assert len(set(names)) == len(names)
    for schema in declared.tools:
        tool_def = ToolDef(_tool(schema))
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]{0,63}", tool_def.name)
        assert declared.original_name(tool_def.name) == schema.original
        json.dumps(tool_def.parameters.model_dump(exclude_none=True))


def test_declare_tools_is_bounded_on_hostile_specs() -> None:
    hostile = [
        {"name": "x" * 10_000, "description": "d" * 1_000_000, "parameters": {f"p{i}": {"type": "List[" * 60 + "int"} for i in range(500)}},
        *({"name": f"t{i}"} for i in range(1_000)),
    ]
    declared = declare_tools(hostile)
    assert len(declared.tools) == 128
    first = declared.tools[0]
    assert len(first.name) == 64 and len(first.description) == 2_000 and len(first.parameters["properties"]) == 64
    assert declare_tools("[" * 100_000).warnings and declare_tools(None).tools == ()
    assert declare_tools({"name": "f"}).warnings == ("tools are not a JSON list",)


def test_cli_native_and_bfcl_from_another_folder(tmp_path: Path) -> None:
    from inspect_ai.log import list_eval_logs, read_eval_log

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    data = write_jsonl(elsewhere / "xlam.jsonl", list(ROWS.values()))
    env = {**os.environ, "INSPECT_LOG_DIR": str(tmp_path / "logs"), "PWD": str(elsewhere)}
    r = subprocess.run(
        ["inspect", "eval", "harness/apigen", "-T", f"data={data.name}", "-T", "split=all", "-T", "match=bfcl",
         "--model", "testdouble/oracle", "-M", "p_correct=0.5", "--display", "none"],
        capture_output=True, text=True, env=env, cwd=elsewhere, timeout=180, check=False,
    )
    assert r.returncode == 0, r.stderr
    [info] = list_eval_logs(str(tmp_path / "logs"))
    log = read_eval_log(info)
    assert log.status == "success" and log.eval.task_args["match"] == "bfcl"
    scores = [s.scores["apigen_match"] for s in log.samples]
    assert {s.metadata["source"] for s in scores} == {"tool_calls"}
    reasons = [s.metadata["reason"] for s in scores]
    # p_correct=0.5: some right, the others deliberately wrong (one call too many)
    assert 0 < reasons.count("correct") < len(reasons) and set(reasons) == {"correct", "wrong_count"}

"""``harness eval --workers N``: shard plans, sharded logs reported as one run, and the CLI
interrupted (Ctrl-C), crashed (a shard killed) and finished with ``--retry``.

The test double answers by a hash of (seed, sample id, epoch), so a sharded run and an
unsharded run of the same configuration get the same answers: every report must print
the same numbers for both.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from inspect_ai import eval as inspect_eval

from harness.cli import main
from harness.logs import SHARD_KEY, ShardInfo
from harness.reports.runs import read_runs
from harness.shard import (
    ShardPlan, assign, id_pattern, make_plan, sample_id_arg, shard_selection, split_total, strip_options,
)
from helpers import write_jsonl

REPO = Path(__file__).resolve().parents[1]
N_PROBLEMS, EPOCHS = 9, 3
ROWS = [
    {"id": i, "problem": f"Shard test problem {i}: what is {i} + {i}?", "answer": str(2 * i),
     "url": f"https://artofproblemsolving.com/wiki/index.php/2024_AIME_I_Problems/Problem_{i + 1}", "year": "2024"}
    for i in range(N_PROBLEMS)
]
MODEL = "testdouble/oracle"
MODEL_ARGS = {"p_correct": 0.5, "seed": 7}


# ---------------------------------------------------------------- planning


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=6), unique=True, max_size=40), st.integers(1, 9))
def test_assignment_is_disjoint_complete_balanced_and_deterministic(ids: list[str], workers: int) -> None:
    shards = assign(ids, workers)
    flat = [i for s in shards for i in s]
    assert sorted(flat) == sorted(ids) and len(flat) == len(set(flat))
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    assert shards == assign(list(ids), workers)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 500), st.integers(1, 64))
def test_connections_split_to_the_total(total: int, parts: int) -> None:
    if total < parts:
        with pytest.raises(ValueError):
            split_total(total, parts)
        return
    split = split_total(total, parts)
    assert sum(split) == total and min(split) >= 1 and max(split) - min(split) <= 1


ID = st.one_of(st.integers(0, 10**6), st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1,
                                                max_size=8))


@settings(max_examples=100, deadline=None)
@given(st.lists(ID, min_size=1, max_size=30, unique_by=str), st.data())
def test_sample_id_arg_selects_exactly_the_shard(all_ids: list, data: st.DataObject) -> None:
    """Hostile ids (commas, globs, brackets, edge spaces, digit strings) through inspect's own
    --sample-id parsing and matching: the shard's ids and nothing else, or a clear refusal."""
    from inspect_ai._eval.task.util import sample_id_filter
    from inspect_ai._util.samples import parse_sample_id

    chosen = data.draw(st.lists(st.sampled_from(all_ids), min_size=1, unique_by=str))
    try:
        arg = sample_id_arg(chosen, all_ids)
    except ValueError as ex:
        assert "--workers 1" in str(ex)
        return
    matcher = sample_id_filter(parse_sample_id(arg))
    assert {str(i) for i in all_ids if matcher.matches(i)} == {str(i) for i in chosen}


def test_id_pattern_escapes_what_the_list_syntax_would_eat() -> None:
    assert id_pattern("a*b?[c]") == "a[*]b[?][[]c]"
    assert id_pattern("x,y") == "x?y" and id_pattern(" z ") == "?z?" and id_pattern(12) == "12"


def test_large_selections_shard_by_limit_ranges() -> None:
    """60k ids would not fit on a command line (and inspect matches every id against every
    --sample-id pattern): a contiguous selection is cut into --limit ranges instead."""
    from inspect_ai._util.samples import parse_samples_limit

    all_ids = [f"xlam-{i}" for i in range(60_000)]
    chosen = all_ids[100:50_100]  # e.g. --limit 101-50100
    parts = shard_selection(chosen, all_ids, 3)
    assert [len(p) for p, _ in parts] == [16_667, 16_667, 16_666]
    picked = []
    for ids, args in parts:
        assert args[0] == "--limit"
        lo, hi = parse_samples_limit(args[1])
        assert all_ids[lo:hi] == ids
        picked += ids
    assert picked == chosen
    # a small selection keeps the round-robin deal by ids
    assert shard_selection(all_ids[:10], all_ids[:10], 2)[1] == (all_ids[1:10:2], ["--sample-id", ",".join(all_ids[1:10:2])])
    with pytest.raises(ValueError, match="more --workers"):
        shard_selection(all_ids[::2][:20_000], all_ids, 2)  # scattered ids: no range can select them


def test_strip_options_both_spellings() -> None:
    args = ["t.py", "--limit", "5", "--max-connections=8", "-T", "a=--limit", "--model", "m"]
    assert strip_options(args, ("--limit", "--max-connections")) == ["t.py", "-T", "a=--limit", "--model", "m"]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    return write_jsonl(tmp_path / "data" / "aime.jsonl", ROWS)


def _plan(spec: str, data: Path, *extra: str, workers: int = 2) -> ShardPlan:
    notes: list[str] = []
    plan = make_plan([spec, "-T", f"data={data}", "--model", MODEL, "--epochs", str(EPOCHS), *extra],
                     workers, note=notes.append)
    return plan


def test_plan_from_another_folder_for_file_and_registered_tasks(data: Path, tmp_path: Path, monkeypatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    rel_file = os.path.relpath(REPO / "tasks" / "aime.py", elsewhere) + "@aime2024"
    by_file = _plan(rel_file, data, "--limit", "7", "--max-connections", "5", "--log-dir", "L")
    by_name = _plan("harness/aime2024", data, "--limit", "7", "--max-connections", "5", "--log-dir", "L")
    for plan in (by_file, by_name):
        assert plan.samples == 7 and plan.epochs == EPOCHS and plan.log_dir == str(elsewhere / "L")
        assert [s.max_connections for s in plan.shards] == [3, 2]
        assert [len(s.sample_ids) for s in plan.shards] == [4, 3]
        argv = plan.shards[1].argv
        assert "--limit" not in argv and argv[argv.index("--max-connections") + 1] == "2"
        info = ShardInfo.model_validate_json(argv[argv.index("--metadata") + 1].split("=", 1)[1])
        assert (info.index, info.count, info.samples, info.limit) == (1, 2, 7, 7)
    assert by_file.shards[0].sample_ids == by_name.shards[0].sample_ids  # the same selection either way
    # the first 7 problems, dealt round-robin
    assert [str(i) for s in by_file.shards for i in s.sample_ids] == \
        [f"2024-I-{n}" for n in (1, 3, 5, 7, 2, 4, 6)]


def test_plan_refuses_what_it_cannot_shard(data: Path, monkeypatch) -> None:
    with pytest.raises(ValueError, match="one task"):
        make_plan(["--model", MODEL], 2, note=print)
    monkeypatch.chdir(REPO)
    with pytest.raises(ValueError, match="names 3 tasks"):
        _plan("tasks/aime.py", data)
    with pytest.raises(ValueError, match="--detach"):
        _plan("harness/aime2024", data, "--detach")


# ---------------------------------------------------------------- sharded logs are one run


def _run_shards(plan: ShardPlan, data: Path, log_dir: Path, only: tuple[int, ...] | None = None) -> None:
    """The plan's shards, in this process (the CLI runs the same eval as `inspect eval`)."""
    from tasks.aime import aime2024

    for shard in plan.shards:
        if only is not None and shard.index not in only:
            continue
        argv = shard.argv
        info = json.loads(argv[argv.index("--metadata") + 1].split("=", 1)[1])
        inspect_eval(aime2024(data=str(data)), model=MODEL, model_args=MODEL_ARGS, epochs=EPOCHS,
                     sample_id=shard.sample_ids, metadata={SHARD_KEY: info}, log_dir=str(log_dir), display="none")


def _reports(logs: Path, plain: Path) -> dict[str, str]:
    """Every report's output (in-process, through the CLI entry point)."""
    mapping = f"DeepSeek-V3.1-Terminus={MODEL}"
    commands = {
        "leaderboard": ["leaderboard", str(logs), "--format", "csv", "--no-tool-calls", "--n-boot", "300"],
        "reproduce": ["reproduce", "tfgrpo.table1", "--logs", str(logs), "--model", mapping, "--n-boot", "300"],
        "transfer": ["transfer", "--logs", str(logs), "--n-boot", "300"],
        "cost": ["cost", str(logs)],
        "compare": ["compare", str(plain), str(logs), "--json", "--n-boot", "300"],
    }
    out = {}
    for name, argv in commands.items():
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert main(argv) == 0, name
        out[name] = buf.getvalue()
    return out


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A 3-shard run's logs (made in this process from the plan), an unsharded run's log."""
    from tasks.aime import aime2024

    tmp = tmp_path_factory.mktemp("sharded")
    data = write_jsonl(tmp / "aime.jsonl", ROWS)
    with contextlib.chdir(tmp):
        plan = _plan("harness/aime2024", data, "--log-dir", "sharded", workers=3)
    _run_shards(plan, data, tmp / "sharded")
    inspect_eval(aime2024(data=str(data)), model=MODEL, model_args=MODEL_ARGS, epochs=EPOCHS,
                 log_dir=str(tmp / "plain"), display="none")
    return {"sharded": tmp / "sharded", "plain": tmp / "plain", "plan": plan}


LOG_NAME = re.compile(r"[\w-]+_aime2024_\w+\.eval")


def test_sharded_logs_report_as_the_unsharded_run(sharded: dict) -> None:
    [merged], skipped = read_runs([str(sharded["sharded"])])
    [plain], _ = read_runs([str(sharded["plain"])])
    assert not skipped and not merged.incomplete and len(merged.shard_logs) == 3
    assert merged.config_id == plain.config_id  # same configuration: the same leaderboard row
    assert (merged.problems, merged.planned, merged.completed) == (plain.problems, plain.planned, plain.completed)
    assert merged.solver_usage == plain.solver_usage
    assert [(m.label, m.value, m.per_problem) for m in merged.metrics] == \
        [(m.label, m.value, m.per_problem) for m in plain.metrics]
    assert 0 < merged.mean_accuracy < 1

    a, b = _reports(sharded["sharded"], sharded["plain"]), _reports(sharded["plain"], sharded["plain"])
    for name in ("reproduce", "transfer", "cost"):
        assert LOG_NAME.sub("LOG", a[name]) == LOG_NAME.sub("LOG", b[name]), name
    assert "Mean@3" in a["reproduce"] and "testdouble" in a["cost"]
    rows = [list(csv.DictReader(io.StringIO(x["leaderboard"]))) for x in (a, b)]
    assert len(rows[0]) == 1 and {k: v for k, v in rows[0][0].items() if k != "log"} == \
        {k: v for k, v in rows[1][0].items() if k != "log"}
    for c in json.loads(a["compare"]):
        assert c["diff"] == 0 and c["shared"] == N_PROBLEMS and c["a"] == c["b"]
    # both in one report: the same configuration, so one row (the other log listed as superseded)
    from harness.reports.leaderboard import build

    runs, _ = read_runs([str(sharded["sharded"]), str(sharded["plain"])])
    lb = build(runs, [], n_boot=100)
    assert len(lb.rows) == 1 and len(lb.superseded) == 1


def _shard_logs(folder: Path) -> dict[int, Path]:
    from inspect_ai.log import read_eval_log

    return {read_eval_log(str(p), header_only=True).eval.metadata[SHARD_KEY]["index"]: p for p in folder.glob("*.eval")}


def test_incomplete_group_is_flagged_and_a_retried_shard_supersedes(sharded: dict, tmp_path: Path) -> None:
    from inspect_ai.log import read_eval_log, write_eval_log

    shards = _shard_logs(sharded["sharded"])
    logs = tmp_path / "partial"
    logs.mkdir()
    for i in (0, 2):
        shutil.copy(shards[i], logs)
    [run], skipped = read_runs([str(logs)])
    assert run.incomplete and "shard 2: no log" in run.status and run.completed == 6 * EPOCHS
    assert run.planned == N_PROBLEMS * EPOCHS and run.problems == N_PROBLEMS and not skipped
    # a failed attempt at shard 2 (no results) is listed, and the row stays incomplete ...
    failed = read_eval_log(str(shards[1]), header_only=True)
    failed.status, failed.results = "error", None
    write_eval_log(failed, str(logs / "2026-01-01T00-00-00-00-00_aime2024_failed.eval"))
    [run], skipped = read_runs([str(logs)])
    assert run.incomplete and len(skipped) == 1 and "shard 2/3 of group" in skipped[0].reason
    # ... until its retry's log supersedes it
    shutil.copy(shards[1], logs)
    [run], skipped = read_runs([str(logs)])
    [plain], _ = read_runs([str(sharded["plain"])])
    assert not skipped and not run.incomplete and run.metrics == plain.metrics
    assert any("3/3 shard logs merged" in n for n in run.notes)
    # logs of one group that disagree on the configuration are never pooled
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    shutil.copy(shards[0], mixed)
    other = read_eval_log(str(shards[1]))
    other.eval.model_args = {**other.eval.model_args, "seed": 8}
    write_eval_log(other, str(mixed / shards[1].name))
    runs, skipped = read_runs([str(mixed)])
    assert not runs and "differ in model_args.seed" in skipped[0].reason


# ---------------------------------------------------------------- the CLI, interrupted and resumed


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _oracle_correct(sample_id: str, epoch: int) -> bool:
    """The test double's documented rule: right iff hash(seed, sample, epoch, turn) < p_correct."""
    key = f"{MODEL_ARGS['seed']}|{sample_id}|{epoch}|0".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2**64 < MODEL_ARGS["p_correct"]


def test_cli_killed_shard_ctrl_c_and_retry(data: Path, tmp_path: Path) -> None:
    """From another folder, a registered task: one shard is killed (SIGKILL), then Ctrl-C;
    exit 130 with both shards' logs unfinished. --retry reruns only what they lack, and the
    merged result is what the test double's rule says."""
    if not Path("/proc/self/task").is_dir():
        pytest.skip("needs /proc to find the shard processes")
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    calls = tmp_path / "calls.jsonl"
    limit, epochs, connections = 6, 2, 2
    args = ["harness/aime2024", "-T", f"data={data}", "--model", MODEL, "-M", "p_correct=0.5", "-M", "seed=7",
            "-M", "latency=0.3", "-M", f"call_log={calls}", "--epochs", str(epochs), "--limit", str(limit),
            "--workers", "2", "--max-connections", str(connections), "--log-dir", "../logs"]
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "eval", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while len(_children(proc.pid)) < 2 or not calls.exists() or len(calls.read_text().splitlines()) < 2:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[0]
        time.sleep(0.05)
    os.kill(_children(proc.pid)[1], signal.SIGKILL)
    proc.send_signal(signal.SIGINT)  # Ctrl-C (a terminal sends it to the parent only: shards have their own session)
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode == 130, out
    assert "killed by SIGKILL" in out and "cancelled" in out and "harness eval --retry" in out
    partial, skipped = read_runs([str(tmp_path / "logs")])  # no row at all when no shard got a sample done
    assert all(r.incomplete for r in partial) and all("of group" in s.reason for s in skipped)
    assert len(partial) + len(skipped) >= 1

    retry = subprocess.run([sys.executable, "-m", "harness.cli", "eval", "--retry", "../logs"], cwd=cwd,
                           capture_output=True, text=True, timeout=300)
    assert retry.returncode == 0, retry.stderr
    assert "reported as one run" in retry.stderr
    asked = [(c["sample"], c["epoch"]) for c in map(json.loads, calls.read_text().splitlines())]
    # every sample-epoch answered; asked twice only if in flight when its shard stopped
    assert len(set(asked)) == limit * epochs and len(asked) - len(set(asked)) <= connections
    [merged], skipped = read_runs([str(tmp_path / "logs")])
    assert not skipped and not merged.incomplete and merged.completed == limit * epochs
    expected = {f"2024-I-{n}": sum(_oracle_correct(f"2024-I-{n}", e) for e in range(1, epochs + 1)) / epochs
                for n in range(1, limit + 1)}
    mean = merged.metric(f"Mean@{epochs}")
    assert mean.per_problem == expected and mean.value == pytest.approx(sum(expected.values()) / limit)

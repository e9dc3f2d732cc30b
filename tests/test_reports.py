"""reproduce, transfer and cost on offline logs + experience libraries, vs hand calculation.

The tfgrpo runs use the real tfgrpo solver with a *relative* ``-T experiences=``, run from
one folder; the reports are then run from two others (the repository root, and a folder
holding a different file at the same relative path) and must print the same tables.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.reports.cost import collect, measured_cost
from harness.reports.runs import file_sha256, load_prices, read_library, read_runs
from reportlogs import rewrite_log, run_aime, scores_only, working_dir, write_library

REPO = Path(__file__).resolve().parents[1]
ANSWERS = {"p1": 11, "p2": 22, "p3": 33, "p4": 44}
T, F = True, False
DIRECT = {"p1": [T, T, T, T], "p2": [T, F, T, F], "p3": [F, F, T, F], "p4": [F, F, F, F]}  # 7/16
MATH_LIB = {"p1": [T, T, T, T], "p2": [T, T, T, F], "p3": [T, F, T, F], "p4": [T, F, F, F]}  # 10/16
WEB_LIB = {"p1": [T, T, T, F], "p2": [T, F, F, F], "p3": [F, F, F, F], "p4": [F, F, F, F]}  # 4/16
STAGES = {
    "rollout": {"calls": 5, "input_tokens": 1000, "output_tokens": 200, "input_tokens_cache_read": 3000},
    "summary": {"calls": 1, "input_tokens": 500, "output_tokens": 100},
}
WEB_STAGES = {"rollout": {"calls": 7, "input_tokens": 7000, "output_tokens": 700}}
STEPS = [{"step": i, "epoch": 0, "batch": i, "queries": 4, "rollouts": 20, "wall_seconds": 1800.0} for i in range(2)]
PRICES = "mockllm/model:\n  input: 1.0\n  output: 2.0\n  input_cache_read: 0.1\n"
TRAIN_COST = (1000 * 1 + 3000 * 0.1 + 200 * 2 + 500 * 1 + 100 * 2) / 1e6  # math library at PRICES
MAP = "DeepSeek-V3.1-Terminus=mockllm/model"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("reports")
    evalcwd = tmp / "evalcwd"
    math_lib = write_library(evalcwd / "libs" / "math.json", "dapo100", STAGES, steps=STEPS, group_size=5,
                             ground_truth=True, train_sample_ids=[f"d{i}" for i in range(100)])
    web_lib = write_library(evalcwd / "libs" / "web.json", "afm100", WEB_STAGES)
    # where the reports run from: a different library at the same relative path
    decoy = write_library(tmp / "reportcwd" / "libs" / "math.json", "afm100", {}, texts=("A decoy.",))
    with working_dir(evalcwd):  # `-T experiences=libs/...` typed in evalcwd, as a user would
        direct = run_aime(tmp, "direct", ANSWERS, DIRECT, epochs=4)
        math = run_aime(tmp, "math", ANSWERS, MATH_LIB, epochs=4,
                        task_args={"solver": "tfgrpo", "experiences": "libs/math.json", "base_solver": "direct"})
        web = run_aime(tmp, "web", ANSWERS, WEB_LIB, epochs=4, task="aime2025",
                       task_args={"solver": "tfgrpo", "experiences": "libs/web.json"})  # base solver: the default
    prices = tmp / "prices.yaml"
    prices.write_text(PRICES)
    return {"logs": tmp / "logs", "math": math_lib, "web": web_lib, "prices": prices, "tmp": tmp,
            "reportcwd": decoy.parents[1], "direct_log": Path(direct), "math_log": Path(math), "web_log": Path(web)}


def cli(capsys, *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def md_row(text: str, *needles: str) -> list[str]:
    line = next(l for l in text.splitlines() if l.startswith("|") and all(n in l for n in needles))
    return [c.strip() for c in line.strip("|").split("|")]


REPORTS = """
import contextlib, io, json, sys
from harness.cli import main
logs, prices, mapping = sys.argv[1:4]
commands = {
    "table1": ["reproduce", "tfgrpo.table1", "--logs", logs, "--model", mapping, "--n-boot", "500"],
    "cost_table": ["reproduce", "tfgrpo.cost", "--logs", logs, "--prices", prices],
    "transfer": ["transfer", "--logs", logs, "--n-boot", "500"],
    "leaderboard": ["leaderboard", logs, "--format", "csv", "--no-tool-calls", "--n-boot", "500"],
    "cost": ["cost", logs, "--prices", prices],
}
out = {}
for name, argv in commands.items():
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(argv)
    out[name] = [code, buf.getvalue()]
print(json.dumps(out))
"""


def reports_from(cwd: Path, env: dict[str, Path]) -> dict[str, list]:
    """All report commands through the CLI entry point, in a fresh process started in ``cwd``."""
    proc = subprocess.run(
        [sys.executable, "-c", REPORTS, str(env["logs"]), str(env["prices"]), MAP],
        cwd=cwd, env={**os.environ, "PWD": str(cwd)}, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.splitlines()[-1])


def test_reports_are_the_same_from_any_folder(env) -> None:
    """Issue 14: a relative -T experiences= was resolved again against the report's folder."""
    from_root = reports_from(REPO, env)
    from_other = reports_from(env["reportcwd"], env)  # holds libs/math.json: a different (web) library
    assert from_root == from_other
    assert all(code == 0 for code, _ in from_root.values())
    table1 = from_root["table1"][1]
    tf = md_row(table1, "+ TF-GRPO (Direct)")
    assert tf[2].startswith("62.5 [")  # the run's own (math) library, found by its hash
    assert "not found" not in from_root["leaderboard"][1] and "A decoy" not in json.dumps(from_root)
    rows = {(r["task"], r["solver"]): r for r in csv.DictReader(io.StringIO(from_root["leaderboard"][1]))}
    assert rows[("aime2024", "tfgrpo")]["library_sha256"] == file_sha256(env["math"])
    assert rows[("aime2024", "tfgrpo")]["learned_on"] == "math"
    # reproduce tfgrpo.cost measures training $ exactly as `harness cost` does
    cost_row = md_row(from_root["cost"][1], "training $")
    assert md_row(from_root["cost_table"][1], "TF-GRPO training $")[2] == cost_row[2]
    assert float(cost_row[2]) == pytest.approx(TRAIN_COST, rel=1e-3)


def test_log_records_library_path_and_hash(env) -> None:
    from inspect_ai.log import read_eval_log

    meta = read_eval_log(str(env["math_log"]), header_only=True).eval.metadata
    assert meta["experiences"] == str(env["math"].resolve())
    assert meta["experiences_sha256"] == file_sha256(env["math"])
    assert read_eval_log(str(env["math_log"]), header_only=True).eval.task_args["experiences"] == "libs/math.json"


def test_transfer_rows_by_learned_domain(env, capsys) -> None:
    out = cli(capsys, "transfer", "--logs", str(env["logs"]), "--format", "csv")
    lines = list(csv.reader(io.StringIO(out)))
    assert lines[0][:5] == ["model", "solver", "learned on", "AIME24", "AIME25"]
    rows = {tuple(l[:3]): l[3:] for l in lines[1:]}
    assert rows[("mockllm/model", "direct", "-")][0].startswith("43.8 [")  # 7/16
    assert rows[("mockllm/model", "direct", "-")][1] == "—"
    assert rows[("mockllm/model", "direct", "math")][0].startswith("62.5 [")  # 10/16
    # the web run gave no base_solver: the tfgrpo solver's default, direct (never "?")
    assert rows[("mockllm/model", "direct", "web")][1].startswith("25.0 [")  # 4/16 on AIME25


def test_reproduce_table1_matches_rows_and_marks_missing(env, capsys) -> None:
    out = cli(capsys, "reproduce", "tfgrpo.table1", "--logs", str(env["logs"]), "--model", MAP)
    direct = md_row(out, "Direct (DeepSeek-V3.1-Terminus)")
    assert direct[1] == "68.6" and direct[2].startswith("43.8 [") and direct[3] == f"{43.75 - 68.6:+.1f}"
    tf = md_row(out, "+ TF-GRPO (Direct)")
    assert tf[1] == "72.6" and tf[2].startswith("62.5 [") and tf[3] == f"{62.5 - 72.6:+.1f}"
    # the AIME25 run used a library learned on web: it does not count for this math-library row
    assert tf[5] == "— (no log)"
    react = md_row(out, "ReAct + CI (DeepSeek-V3.1-Terminus)")
    assert react[2] == "— (no log)"
    # without a model mapping nothing matches a paper model
    bare = cli(capsys, "reproduce", "tfgrpo.table1", "--logs", str(env["logs"]))
    assert "43.8" not in bare


def test_reproduce_list_and_every_table_loads(capsys) -> None:
    out = cli(capsys, "reproduce", "--list")
    for tid in ["tfgrpo.table1", "tfgrpo.table2", "tfgrpo.table3", "tfgrpo.table4", "tfgrpo.table5",
                "tfgrpo.table6", "tfgrpo.cost", "rrr.table1", "rrr.table2", "lsp.v3.overall"]:
        assert tid in out


def test_library_provenance_is_read_defensively(env, tmp_path) -> None:
    lib = read_library(str(env["math"]))
    assert (lib.found, lib.task, lib.domain, lib.entries) == (True, "dapo100", "math", 2)
    assert lib.settings["group_size"] == 5 and lib.sha256 == file_sha256(env["math"])
    assert lib.wall_seconds == 3600.0
    missing = read_library(str(tmp_path / "gone.json"))
    assert not missing.found and missing.error == "file not found"
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert read_library(str(broken)).error.startswith("unreadable")


def test_cost_counts_math_libraries_only_and_matches_hand_calculation(env, capsys) -> None:
    prices = load_prices(str(env["prices"]))
    runs, libs, problems = collect([str(env["logs"]), str(env["math"])], prices)
    assert problems == []
    assert sorted(lib.domain for lib in libs) == ["math", "web"]  # the math one once, though named twice
    m = measured_cost(runs, libs)
    # training: the math library only (rollout 1000 in + 3000 cache-read + 200 out; summary 500 + 100),
    # not the web library's 7,000 / 700 (the paper's 38M are DAPO-100 only)
    assert m["train_input_tokens"] == 4500 and m["train_output_tokens"] == 300
    assert m["train_cost"] == pytest.approx(TRAIN_COST)
    assert m["train_hours"] == pytest.approx(1.0)  # two steps of 1,800 s
    # inference: tfgrpo runs on math tasks, 32 sample-epochs of 100 in / 20 out each
    assert m["infer_input_tokens_per_problem"] == pytest.approx(100)
    assert m["infer_output_tokens_per_problem"] == pytest.approx(20)
    assert m["infer_cost_per_problem"] == pytest.approx((100 * 1 + 20 * 2) / 1e6)
    out = cli(capsys, "cost", str(env["logs"]), "--prices", str(env["prices"]))
    rollout = md_row(out, "| rollout", "75.0%")
    assert rollout[1:4] == ["4,000", "200", "75.0%"]
    assert float(rollout[4]) == pytest.approx((1000 + 300 + 400) / 1e6)
    assert md_row(out, "training input tokens")[1:3] == ["38,000,000", "4,500"]
    assert "not counted (not learned on math, or no usage recorded): web.json (web)" in out
    per_problem = next(l for l in out.splitlines() if l.startswith("training $ per training problem"))
    assert float(per_problem.split(": ")[1].split(" ")[0]) == pytest.approx(TRAIN_COST / 100)
    direct = md_row(out, "aime2024", "| direct")
    assert direct[5:8] == ["1,600", "320", "0.0%"]  # 16 calls of 100 in / 20 out, no cache reads
    assert float(direct[12]) == pytest.approx(1.4e-4)
    assert float(direct[13]) == pytest.approx(16 * 1.4e-4 / 4)  # $ per problem (4 problems)
    table = cli(capsys, "reproduce", "tfgrpo.cost", "--logs", str(env["logs"]), "--prices", str(env["prices"]))
    assert md_row(table, "TF-GRPO training input tokens")[2] == "4,500"
    assert md_row(table, "training wall time")[2] == "1"


def _relocated(env, dst: Path, path: str | None, sha: str | None, arg: str | None = None) -> Path:
    """A copy of the math log naming its library differently (as a moved or older log would)."""
    def edit(log):
        for key, value in (("experiences", path), ("experiences_sha256", sha)):
            log.eval.metadata.pop(key, None)
            if value is not None:
                log.eval.metadata[key] = value
        if arg is not None:
            log.eval.task_args["experiences"] = arg
    return rewrite_log(env["math_log"], dst, edit)


def test_library_found_by_hash_when_moved_and_rejected_when_changed(env, tmp_path) -> None:
    sha = file_sha256(env["math"])
    gone = str(tmp_path / "gone" / "math.json")
    logs = tmp_path / "moved"
    _relocated(env, logs / "run.eval", gone, sha)
    (logs / "keep" / "renamed.json").parent.mkdir(parents=True)
    (logs / "keep" / "renamed.json").write_bytes(env["math"].read_bytes())
    (logs / "keep" / "other.json").write_bytes(env["web"].read_bytes())
    (run,) = read_runs([str(logs)], tool_calls=False)[0]
    assert run.experiences.found and run.experiences.domain == "math"
    assert run.experiences.path.endswith("renamed.json") and "moved" in run.experiences.identified_by
    # the same log read from elsewhere without the copy: not found, with the recorded hash in the reason
    alone = tmp_path / "alone"
    _relocated(env, alone / "run.eval", gone, sha)
    (run,) = read_runs([str(alone)], tool_calls=False)[0]
    assert not run.experiences.found and sha[:12] in run.experiences.error and gone in run.experiences.error
    # a different file now at the recorded path is not the run's library
    changed = tmp_path / "changed.json"
    changed.write_bytes(env["web"].read_bytes())
    _relocated(env, tmp_path / "chg" / "run.eval", str(changed), sha)
    (run,) = read_runs([str(tmp_path / "chg")], tool_calls=False)[0]
    assert not run.experiences.found and "has changed since the eval" in run.experiences.error
    lb = main(["leaderboard", str(tmp_path / "chg"), "--no-tool-calls", "--format", "csv"])
    assert lb == 0


def test_old_logs_without_hash_resolve_against_the_log_folder_never_the_cwd(env, tmp_path, capsys) -> None:
    old = tmp_path / "old"
    _relocated(env, old / "run.eval", None, None, arg="lib.json")
    (old / "lib.json").write_bytes(env["math"].read_bytes())
    elsewhere = tmp_path / "elsewhere"
    _relocated(env, elsewhere / "run.eval", None, None, arg="lib.json")
    decoy_cwd = tmp_path / "cwd"
    write_library(decoy_cwd / "lib.json", "dapo100", {})
    with working_dir(decoy_cwd):
        (found,) = read_runs([str(old)], tool_calls=False)[0]
        (missing,) = read_runs([str(elsewhere)], tool_calls=False)[0]
    assert found.experiences.found and found.experiences.domain == "math"
    assert found.experiences.identified_by.startswith("path")
    assert not missing.experiences.found and missing.experiences.path == str(elsewhere.resolve() / "lib.json")
    out = cli(capsys, "leaderboard", str(old), "--no-tool-calls")
    assert "library found by path (the log predates library hashes)" in out


def test_lsp_zero_log_fills_only_the_lsp_zero_row(env, tmp_path, capsys) -> None:
    logs = tmp_path / "lsp"
    rewrite_log(env["direct_log"], logs / "zero.eval", lambda log: scores_only(
        log, "alpacaeval", "vllm/lsp-zero", [("alpaca_judge", "alpaca_judge", None, {"win_rate": 33.0})]))
    out = cli(capsys, "reproduce", "lsp.v3.overall", "--logs", str(logs))
    assert md_row(out, "LSP-Zero (no data)")[2] == "33.0"
    assert md_row(out, "LSP (no data)")[2] == "— (no log)"
    assert md_row(out, "Base (Llama-3.2-3B-Instruct)")[2] == "— (no log)"


def test_an_explicit_default_is_the_same_configuration(env, tmp_path, capsys) -> None:
    """-T base_solver=direct and no base_solver (the tfgrpo solver's default) are one row."""
    def implicit(log):
        del log.eval.task_args["base_solver"]
    rewrite_log(env["math_log"], tmp_path / "logs" / "implicit.eval", implicit)
    (tmp_path / "logs" / "explicit.eval").write_bytes(env["math_log"].read_bytes())
    runs, _ = read_runs([str(tmp_path / "logs")], tool_calls=False)
    assert len({r.config_id for r in runs}) == 1
    out = cli(capsys, "leaderboard", str(tmp_path / "logs"), "--format", "csv", "--no-tool-calls")
    assert len(list(csv.DictReader(io.StringIO(out)))) == 1

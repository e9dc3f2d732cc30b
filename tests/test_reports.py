"""reproduce, transfer and cost on offline logs + stand-in experience libraries, vs hand calculation."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.helpers import registered_solver

from harness.cli import main
from harness.cost import collect, measured_cost
from harness.runs import load_prices, read_library
from reportlogs import run_aime, write_library

ANSWERS = {"p1": 11, "p2": 22, "p3": 33, "p4": 44}
T, F = True, False
DIRECT = {"p1": [T, T, T, T], "p2": [T, F, T, F], "p3": [F, F, T, F], "p4": [F, F, F, F]}  # 7/16
MATH_LIB = {"p1": [T, T, T, T], "p2": [T, T, T, F], "p3": [T, F, T, F], "p4": [T, F, F, F]}  # 10/16
WEB_LIB = {"p1": [T, T, T, F], "p2": [T, F, F, F], "p3": [F, F, F, F], "p4": [F, F, F, F]}  # 4/16
STAGES = {
    "rollout": {"input_tokens": 1000, "output_tokens": 200, "input_tokens_cache_read": 3000},
    "summary": {"input_tokens": 500, "output_tokens": 100},
}
PRICES = "mockllm/model:\n  input: 1.0\n  output: 2.0\n  input_cache_read: 0.1\n"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("reports")
    math_lib = write_library(tmp / "math.json", "dapo100", STAGES, group_size=5, ground_truth=True, n=100)
    web_lib = write_library(tmp / "web.json", "afm100", {})
    with registered_solver("tfgrpo", "reportlogs:tfgrpo"):
        run_aime(tmp, "direct", ANSWERS, DIRECT, epochs=4)
        run_aime(tmp, "math", ANSWERS, MATH_LIB, epochs=4,
                 task_args={"solver": "tfgrpo", "experiences": str(math_lib), "base_solver": "direct"})
        run_aime(tmp, "web", ANSWERS, WEB_LIB, epochs=4, task="aime2025",
                 task_args={"solver": "tfgrpo", "experiences": str(web_lib), "base_solver": "direct"})
    prices = tmp / "prices.yaml"
    prices.write_text(PRICES)
    return {"logs": tmp / "logs", "math": math_lib, "web": web_lib, "prices": prices, "tmp": tmp}


def cli(capsys, *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def md_row(text: str, *needles: str) -> list[str]:
    line = next(l for l in text.splitlines() if l.startswith("|") and all(n in l for n in needles))
    return [c.strip() for c in line.strip("|").split("|")]


def test_transfer_rows_by_learned_domain(env, capsys) -> None:
    out = cli(capsys, "transfer", "--logs", str(env["logs"]), "--format", "csv")
    lines = list(csv.reader(io.StringIO(out)))
    assert lines[0][:5] == ["model", "solver", "learned on", "AIME24", "AIME25"]
    rows = {tuple(l[:3]): l[3:] for l in lines[1:]}
    assert rows[("mockllm/model", "direct", "-")][0].startswith("43.8 [")  # 7/16
    assert rows[("mockllm/model", "direct", "-")][1] == "—"
    assert rows[("mockllm/model", "direct", "math")][0].startswith("62.5 [")  # 10/16
    assert rows[("mockllm/model", "direct", "web")][1].startswith("25.0 [")  # 4/16 on AIME25


def test_reproduce_table1_matches_rows_and_marks_missing(env, capsys) -> None:
    out = cli(capsys, "reproduce", "tfgrpo.table1", "--logs", str(env["logs"]),
              "--model", "DeepSeek-V3.1-Terminus=mockllm/model")
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
    assert lib.settings["group_size"] == 5
    missing = read_library(str(tmp_path / "gone.json"))
    assert not missing.found and missing.error == "file not found"
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert read_library(str(broken)).error.startswith("unreadable")


def test_cost_report_matches_hand_calculation(env, capsys) -> None:
    prices = load_prices(str(env["prices"]))
    runs, libs, problems = collect([str(env["logs"]), str(env["math"])], prices)
    assert problems == []
    m = measured_cost(runs, libs)
    # training: rollout 1000 in + 3000 cache-read + 200 out; summary 500 in + 100 out
    assert m["train_input_tokens"] == 4500 and m["train_output_tokens"] == 300
    assert m["train_cost"] == pytest.approx((1000 * 1 + 3000 * 0.1 + 200 * 2 + 500 * 1 + 100 * 2) / 1e6)
    # inference: the two tfgrpo runs, 32 sample-epochs of 100 in / 20 out each
    assert m["infer_input_tokens_per_problem"] == pytest.approx(100)
    assert m["infer_output_tokens_per_problem"] == pytest.approx(20)
    assert m["infer_cost_per_problem"] == pytest.approx((100 * 1 + 20 * 2) / 1e6)
    out = cli(capsys, "cost", str(env["logs"]), "--prices", str(env["prices"]))
    rollout = md_row(out, "| rollout")
    assert rollout[1:4] == ["4,000", "200", "75.0%"]
    assert float(rollout[4]) == pytest.approx((1000 + 300 + 400) / 1e6)
    assert md_row(out, "training input tokens")[1:3] == ["38,000,000", "4,500"]
    per_problem = next(l for l in out.splitlines() if l.startswith("training $ per training problem"))
    assert float(per_problem.split(": ")[1].split(" ")[0]) == pytest.approx(m["train_cost"] / 100)
    direct = md_row(out, "aime2024", "| direct")
    assert direct[5:8] == ["1,600", "320", "0.0%"]  # 16 calls of 100 in / 20 out, no cache reads
    assert float(direct[12]) == pytest.approx(1.4e-4)
    assert float(direct[13]) == pytest.approx(16 * 1.4e-4 / 4)  # $ per problem (4 problems)


def test_cost_with_moved_library_shows_path_only(env, tmp_path, capsys) -> None:
    moved = env["tmp"] / "moved"
    env["math"].rename(moved)
    try:
        assert main(["cost", str(env["logs"])]) == 0
        err = capsys.readouterr().err
        assert f"library {env['math']}" in err and "file not found" in err
        lb = cli(capsys, "leaderboard", str(env["logs"]), "--format", "csv", "--no-tool-calls")
        assert "math.json" in lb
    finally:
        moved.rename(env["math"])

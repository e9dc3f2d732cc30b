"""Leaderboard and compare on offline mockllm logs: every number against a hand calculation."""

from __future__ import annotations

import csv
import io
import itertools
import json
import shutil
import subprocess
from math import comb
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import registered_solver

from harness.cli import main
from harness.reports.runs import read_runs
from helpers import write_jsonl
from reportlogs import PRICES_YAML, judge_model, run_aime

ANSWERS = {"p1": 11, "p2": 22, "p3": 33, "p4": 44}
T, F = True, False
# run A: direct, correct epochs per problem 4, 2, 1, 0
A_CORRECT = {"p1": [T, T, T, T], "p2": [T, F, T, F], "p3": [F, F, T, F], "p4": [F, F, F, F]}
# run B: stand-in tool solver + judge role, correct epochs 4, 3, 2, 1
B_CORRECT = {"p1": [T, T, T, T], "p2": [T, T, T, F], "p3": [T, F, T, F], "p4": [T, F, F, F]}
PRICES = PRICES_YAML + "mockllm/judge:\n  input: 10.0\n  output: 20.0\n"


def pass_at(n: int, c: int, k: int) -> float:
    return 1.0 if n - c < k else 1 - comb(n - c, k) / comb(n, k)


def exact_bootstrap_quantiles(values: list[float]) -> tuple[float, float]:
    """2.5% / 97.5% quantiles of the exact bootstrap distribution of the mean (all n^n draws)."""
    n = len(values)
    means = [sum(values[i] for i in idx) / n for idx in itertools.product(range(n), repeat=n)]
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("reportlogs")
    with registered_solver("counting", "reportlogs:counting"):
        main_dir = tmp / "main"
        a = run_aime(main_dir, "a", ANSWERS, A_CORRECT, epochs=4)
        # inspect skips git under pytest: record a revision as a run from a repository would
        from inspect_ai.log import EvalRevision, read_eval_log, write_eval_log

        log_a = read_eval_log(a)
        log_a.eval.revision = EvalRevision(type="git", origin="", commit="abc1234", dirty=True)
        write_eval_log(log_a, a)
        b = run_aime(
            main_dir, "b", ANSWERS, B_CORRECT, epochs=4,
            task_args={"solver": "counting", "n_calls": 3, "judge_calls": 1},
            model_roles={"grader": judge_model()},
        )
        # incomplete: p4 always errors, the run carries on (fail_on_error=False)
        inc = run_aime(main_dir, "inc", ANSWERS, A_CORRECT, epochs=4, fail={"p4"}, fail_on_error=False, task="aime2025")
        bad_dir = tmp / "bad"
        err = run_aime(bad_dir, "err", ANSWERS, A_CORRECT, epochs=2, fail={"p4"})
        (bad_dir / "logs" / "garbage.eval").write_bytes(b"this is not a zip file")
        # a run killed before it finished: header says started, no results
        started = read_eval_log(a, header_only=True)
        started.status, started.results, started.reductions = "started", None, None
        write_eval_log(started, str(bad_dir / "logs" / "started.eval"))
        data = Path(a).read_bytes()
        (bad_dir / "logs" / "truncated.eval").write_bytes(data[: len(data) // 2])
        # combined aime task: two 2024 and two 2025 problems
        rows = [
            {"id": i, "problem": f"Problem q{i}: x", "answer": str(10 * i),
             "url": f"https://aops/{y}_AIME_I_Problems/Problem_{i}", "year": y}
            for i, y in ((1, 2024), (2, 2024), (3, 2025), (4, 2025))
        ]
        split_data = write_jsonl(tmp / "both.jsonl", rows)
        split = run_aime(
            tmp / "split", "split", {f"q{i}": 10 * i for i in range(1, 5)},
            {"q1": [T, T], "q2": [F, T], "q3": [F, F], "q4": [T, F]}, epochs=2, task="aime", data_path=split_data,
        )
    prices = tmp / "prices.yaml"
    prices.write_text(PRICES)
    return {"a": Path(a), "b": Path(b), "inc": Path(inc), "err": Path(err), "main": main_dir / "logs",
            "bad": bad_dir / "logs", "split": Path(split), "split_dir": tmp / "split" / "logs", "prices": prices}


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def csv_rows(text: str) -> dict[tuple[str, str], dict[str, str]]:
    return {(r["task"], r["solver"]): r for r in csv.DictReader(io.StringIO(text))}


def test_leaderboard_numbers_match_hand_calculation(logs, capsys) -> None:
    out = cli(capsys, "leaderboard", str(logs["main"]), "--format", "csv", "--prices", str(logs["prices"]))
    rows = csv_rows(out)
    a = rows[("aime2024", "direct")]
    counts = [4, 2, 1, 0]
    # every metric column names its unit; csv numbers are in that unit (% here), unrounded
    assert float(a["Mean@4 (%)"]) == pytest.approx(100 * sum(counts) / 16)
    assert float(a["Pass@2 (%)"]) == pytest.approx(100 * sum(pass_at(4, c, 2) for c in counts) / 4)
    assert float(a["Pass@2 (%)"]) == pytest.approx(100 * (1 + 5 / 6 + 0.5 + 0) / 4)
    assert float(a["Pass@4 (%)"]) == pytest.approx(75)
    # CI: close to the exact bootstrap distribution's quantiles (Monte Carlo, grid step 1/16)
    lo, hi = exact_bootstrap_quantiles([c / 4 for c in counts])
    assert abs(float(a["Mean@4 (%) low"]) - 100 * lo) <= 100 / 16 + 1e-9
    assert abs(float(a["Mean@4 (%) high"]) - 100 * hi) <= 100 / 16 + 1e-9
    assert float(a["Pass@4 (%) low"]) <= 75 <= float(a["Pass@4 (%) high"])
    # usage and cost: 16 calls of 100 in / 20 out at $1 / $2 per million
    assert float(a["tokens_per_sample"]) == pytest.approx(120)
    assert float(a["cost_per_sample"]) == pytest.approx(1.4e-4)
    assert float(a["cost_per_correct"]) == pytest.approx(16 * 1.4e-4 / 7)
    assert a["judge_cost"] == "" or float(a["judge_cost"]) == 0
    assert a["tool_calls"] == ""
    assert (a["problems"], a["epochs"], a["completed"], a["planned"], a["incomplete"]) == ("4", "4", "16", "16", "False")
    assert a["commit"] == "abc1234-dirty"

    b = rows[("aime2024", "counting")]
    assert float(b["Mean@4 (%)"]) == pytest.approx(100 * 10 / 16)
    assert float(b["tool_calls"]) == pytest.approx(3.0)
    # solver cost excludes the judge: 16 judge calls of 50 in / 10 out at $10 / $20 per million
    assert float(b["cost_per_sample"]) == pytest.approx(1.4e-4)
    assert float(b["judge_cost"]) == pytest.approx(16 * (50 * 10 + 10 * 20) / 1e6)
    assert float(b["cost_per_correct"]) == pytest.approx(16 * 1.4e-4 / 10)

    inc = rows[("aime2025", "direct")]
    assert inc["incomplete"] == "True"
    assert (inc["completed"], inc["planned"]) == ("12", "16")
    assert float(inc["Mean@4 (%)"]) == pytest.approx(100 * 7 / 12)  # over the 3 problems that ran


def test_markdown_flags_incomplete_and_lists_runs(logs, capsys) -> None:
    out = cli(capsys, "leaderboard", str(logs["main"]))
    assert "INCOMPLETE 12/16" in out
    line = next(l for l in out.splitlines() if "| aime2024 " in l and "| direct " in l)
    assert "43.8 [" in line  # Mean@4 = 7/16 shown as %


def test_corrupt_and_partial_logs_are_skipped_not_fatal(logs, capsys) -> None:
    runs, skipped = read_runs([str(logs["bad"])])
    assert runs == []
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert "unreadable" in reasons["garbage.eval"]
    assert "unreadable" in reasons["truncated.eval"]
    assert "status error" in reasons[logs["err"].name]
    assert "status started" in reasons["started.eval"] and "unfinished" in reasons["started.eval"]
    # the CLI reports them and still succeeds, alongside good logs
    assert main(["leaderboard", str(logs["bad"]), str(logs["main"]), "--format", "csv"]) == 0
    captured = capsys.readouterr()
    assert "garbage.eval" in captured.err and "truncated.eval" in captured.err
    assert len(csv_rows(captured.out)) == 3


def test_task_filter_and_aime_split_by_year(logs, capsys) -> None:
    rows = csv_rows(cli(capsys, "leaderboard", str(logs["split_dir"]), "--format", "csv"))
    assert float(rows[("aime2024", "direct")]["Mean@2 (%)"]) == pytest.approx(75)
    assert float(rows[("aime2025", "direct")]["Mean@2 (%)"]) == pytest.approx(25)
    assert rows[("aime2025", "direct")]["problems"] == "2"
    only = csv_rows(cli(capsys, "leaderboard", str(logs["split_dir"]), "--task", "aime2025", "--format", "csv"))
    assert list(only) == [("aime2025", "direct")]


def test_compare_paired_difference_and_sign_flip(logs, capsys) -> None:
    out = cli(capsys, "compare", str(logs["a"]), str(logs["b"]), "--json", "--metric", "Mean@4")
    (row,) = json.loads(out)
    diffs = [0, 0.25, 0.25, 0.25]  # per problem: B - A
    assert (row["unit"], row["diff_unit"]) == ("%", "pts")  # numbers in the units the table shows
    assert row["diff"] == pytest.approx(100 * sum(diffs) / 4) and row["a"] == pytest.approx(100 * 7 / 16)
    # 16 sign flips of (0, .25, .25, .25): |sum| reaches 0.75 only with the three non-zero signs alike
    assert row["p_value"] == pytest.approx(4 / 16) and row["exact"] and not row["distinguishable"]
    assert (row["wins"], row["losses"], row["ties"], row["shared"]) == (3, 0, 1, 4)
    # the CI is the same test inverted: with 4 problems no shift is ever rejected (min p = 2/16)
    assert row["low"] is None and row["high"] is None
    text = cli(capsys, "compare", str(logs["a"]), str(logs["b"]))
    verdict = next(l for l in text.splitlines() if l.startswith("aime2024 Mean@4:"))
    # it used to say "NOT distinguishable ... CI excludes 0" (a bootstrap CI next to a permutation p)
    assert "NOT distinguishable from noise" in verdict and "[-inf, inf] includes 0" in verdict
    assert "smallest p this test can give is 2/2^4 = 0.125" in verdict
    assert "Rule: a difference is distinguishable from noise when" in text


def test_html_is_self_contained_with_chart(logs, tmp_path, capsys) -> None:
    out = tmp_path / "lb.html"
    assert main(["leaderboard", str(logs["main"]), "--out", str(out)]) == 0
    page = out.read_text()
    assert "<svg" in page and "class='sortable'" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page and "<script src" not in page


def _chromium() -> str | None:
    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


@pytest.mark.skipif(_chromium() is None, reason="headless chromium not installed (apt-get install chromium)")
def test_html_renders_in_headless_chromium(logs, tmp_path) -> None:
    page = tmp_path / "lb.html"
    assert main(["leaderboard", str(logs["main"]), "--out", str(page)]) == 0
    png = tmp_path / "lb.png"
    proc = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", f"--screenshot={png}", "--window-size=1200,800", page.as_uri()],
        capture_output=True, timeout=60,
    )
    assert png.is_file() and png.stat().st_size > 5000, proc.stderr[-500:]
    # the chart's bars are drawn: the screenshot holds the bar colour
    from matplotlib.image import imread

    img = imread(str(png))[..., :3]
    bar = np.array([0x4A, 0x7B, 0xD0]) / 255
    assert (np.abs(img - bar).max(axis=-1) < 0.02).sum() > 500
    # sorting works: click the Mean@4 header twice (descending) and read the DOM back
    html_text = page.read_text()
    col = next(i for i, h in enumerate(html_text.split("<thead>")[1].split("</thead>")[0].split("<th>")[1:]) if h.startswith("Mean@4"))
    clicked = tmp_path / "clicked.html"
    clicked.write_text(html_text.replace(
        "</body>", f"<script>var h=document.querySelectorAll('table.sortable th')[{col}];h.click();h.click();</script></body>"))
    dom = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--dump-dom", clicked.as_uri()],
        capture_output=True, text=True, timeout=60,
    ).stdout
    body = dom.split("<tbody>")[1].split("</tbody>")[0]
    means = [float(r.split("<td")[col + 1].split(">")[1].split(" ")[0]) for r in body.split("<tr")[1:]]
    assert len(means) == 3 and means == sorted(means, reverse=True)


def test_parallel_header_reads_give_the_same_runs(logs) -> None:
    one, skipped_one = read_runs([str(logs["main"]), str(logs["bad"])], workers=1)
    two, skipped_two = read_runs([str(logs["main"]), str(logs["bad"])], workers=2)
    assert [r.model_dump() for r in one] == [r.model_dump() for r in two]
    assert skipped_one == skipped_two and len(one) == 3


def test_store_read_from_zip_equals_inspect_samples_df(logs) -> None:
    from harness.reports.runs import _store_values_samples_df, store_values

    fast = store_values(str(logs["b"]), "tool_calls")
    assert sorted(fast) == sorted(_store_values_samples_df(str(logs["b"]), "tool_calls")) == [3] * 16
    assert store_values(str(logs["a"]), "tool_calls") == []


# --------------------------------------------------------------- configurations, units, chart

# six generated Countdown instances (harness.benchmarks.countdown.generate_instances(6, 0)) and their solutions
CD = [((98, 54, 6, 34), 72, "((98 - 54) - 6) + 34"), ((52, 39, 62, 46), 95, "46 - ((52 - 39) - 62)"),
      ((65, 18, 37), 10, "(65 - 18) - 37"), ((80, 33, 69), 22, "69 - (80 - 33)"),
      ((13, 94, 10, 88), 29, "((13 + 94) + 10) - 88"), ((72, 13, 46, 56), 49, "((72 - 13) + 46) - 56")]
CD_RIGHT = {str(list(nums)): f"<answer>{solution}</answer>" for nums, _, solution in CD}
# right at the first try, per epoch (a wrong first try is right at the retry): the case,
# two problems of each kind -> under Pass@2, gain per problem 1, 1, 0, 0, 0, 0 (pass@2 of the
# per-epoch gains would be 1, 1, 1, 1, 0, 0: the CI [33.3, 100] the issue saw)
CD_FIRST = dict(zip(CD_RIGHT, [[False, False]] * 2 + [[True, False]] * 2 + [[True, True]] * 2))


def _reflect_retry_log(tmp: Path) -> str:
    """countdown + reflect_retry, 2 epochs: the issue's case for the gain's CI under Pass@2."""
    from inspect_ai import Epochs
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import ChatMessageAssistant, ChatMessageUser

    from tasks.countdown import countdown
    from tests.helpers import mock_model, output

    epochs_seen: dict[str, int] = {}

    def respond(input, tools, tool_choice, config):
        first = next(m.text for m in input if isinstance(m, ChatMessageUser))
        key = next(k for k in CD_RIGHT if k in first)
        turn = sum(isinstance(m, ChatMessageAssistant) for m in input)
        if turn == 0:
            epoch = epochs_seen[key] = epochs_seen.get(key, -1) + 1
            return output(CD_RIGHT[key] if CD_FIRST[key][epoch] else "<answer>1 + 1</answer>")
        return output("I used the numbers wrongly." if turn == 1 else CD_RIGHT[key])

    tmp.mkdir(parents=True, exist_ok=True)
    data = write_jsonl(tmp / "cd.jsonl", [{"target": target, "nums": list(nums)} for nums, target, _ in CD])
    [log] = inspect_eval(countdown(data=str(data), solver="reflect_retry"), model=mock_model(respond),
                         epochs=Epochs(2, ["mean", "pass_at_2"]),
                         log_dir=str(tmp / "logs"), display="none", max_samples=1)
    assert log.status == "success"
    return log.location


@pytest.fixture(scope="module")
def more(logs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from reportlogs import rewrite_log, scores_only

    tmp = tmp_path_factory.mktemp("configs")
    configs = tmp / "configs"
    # same configuration as run A, run earlier: one row, the copy listed with its reason
    def earlier(log):
        log.eval.created = "2000-01-01T00:00:00+00:00"
    rewrite_log(logs["a"], configs / "a_earlier.eval", earlier)
    shutil.copy(logs["a"], configs / logs["a"].name)
    # a different generation setting, and a different epoch count: rows of their own
    def hot(log):
        log.plan.config.temperature = 0.7
    rewrite_log(logs["a"], configs / "a_hot.eval", hot)
    run_aime(configs, "a2", ANSWERS, A_CORRECT, epochs=2, data_path=logs["main"].parent / "a.jsonl")
    units = tmp / "units"
    rr = _reflect_retry_log(units)
    def web(log):
        scores_only(log, "webwalkerqa", "mockllm/model", [("web_judge", "web_judge", "mean", {
            "accuracy": 1.0, "stderr": 0.0, "single_source/easy": 1.0, "multi_source/hard": 1.0, "overall": 1.0})])
        log.eval.config.epochs = 1
    rewrite_log(logs["a"], units / "web.eval", web)
    rewrite_log(logs["a"], units / "self_play.eval", lambda log: scores_only(log, "self_play", "mockllm/model", [
        ("reward", "lsp_rewards", "mean", {"mean": float("nan"), "stderr": float("nan")}),
        ("quality", "lsp_rewards", "mean", {"mean": 3.5}),
        ("valid_queries", "lsp_rewards", "mean", {"mean": 0.75}),
    ]))
    return {"configs": configs, "units": units, "rr": Path(rr)}


def test_each_configuration_is_a_row_and_nothing_is_dropped_silently(more, logs, capsys) -> None:
    out = cli(capsys, "leaderboard", str(more["configs"]), "--format", "csv", "--no-tool-calls", "--n-boot", "500")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 3 and len({r["config_id"] for r in rows}) == 3
    by_settings = {r["settings"]: r for r in rows}
    reducers = "epochs_reducer=mean,pass_at_1,pass_at_2"
    plain, hot, two = (f"epochs=4; {reducers},pass_at_4; gen.temperature=0.3",
                       f"epochs=4; {reducers},pass_at_4; gen.temperature=0.7", f"epochs=2; {reducers}; gen.temperature=0.3")
    assert set(by_settings) == {plain, hot, two}
    assert by_settings[two]["epochs"] == "2" and by_settings[hot]["Mean@4 (%)"] == by_settings[plain]["Mean@4 (%)"]
    md = cli(capsys, "leaderboard", str(more["configs"]), "--no-tool-calls", "--n-boot", "500")
    assert "Not shown as rows of their own (1 log(s)):" in md
    shown = next(l for l in md.splitlines() if l.startswith("- ") and "a_earlier.eval" in l)
    assert f"same configuration (config {by_settings[plain]['config_id']}) as {logs['a'].name}" in shown
    assert shown.endswith("which is newer and is shown")


def test_html_chart_draws_every_epoch_count_and_never_nan(more, tmp_path) -> None:
    page = tmp_path / "lb.html"
    assert main(["leaderboard", str(more["configs"]), str(more["units"]), "--out", str(page), "--no-tool-calls",
                 "--n-boot", "500"]) == 0
    text = page.read_text()
    import re

    assert "aime2024: Mean@2 / Mean@4 (%) with 95% CI" in text
    svg = text.split("aime2024: Mean@2 / Mean@4")[1].split("</svg>")[0]
    assert svg.count("<rect") == 3  # all three configurations, whatever their epochs
    assert "| Mean@2</title>" in svg and "| Mean@4</title>" in svg
    # the self_play run's headline (reward) is NaN: named, not drawn, and no axis says "nan"
    assert "reward is not a number (no scored samples)" in text
    assert not re.search(r"\bnan\b", text, re.IGNORECASE)


def test_units_one_per_kind_and_named_columns(more, capsys) -> None:
    out = cli(capsys, "leaderboard", str(more["units"]), "--format", "csv", "--no-tool-calls", "--n-boot", "10000")
    rows = {r["task"]: r for r in csv.DictReader(io.StringIO(out))}
    rr = rows["countdown"]
    assert float(rr["reflect_retry:first_try (%)"]) == pytest.approx(100 * 6 / 12)
    assert float(rr["reflect_retry:second_try (%)"]) == pytest.approx(100.0)
    assert float(rr["reflect_retry:gain (pts)"]) == pytest.approx(50.0)  # points, like first/second try
    # Pass@2: first try 0, 0, 1, 1, 1, 1 and second try all 1 -> gain per problem 1, 1, 0, 0, 0, 0
    gain = ("reflect_retry:gain[Pass@2] (pts)", "reflect_retry:gain[Pass@2] (pts) low", "reflect_retry:gain[Pass@2] (pts) high")
    assert [round(float(rr[k]), 1) for k in gain] == [33.3, 0.0, 66.7]
    lo, hi = np.quantile(np.random.default_rng(0).binomial(6, 1 / 3, 200_000) / 6, [0.025, 0.975])
    assert (lo, hi) == (0.0, pytest.approx(4 / 6))  # the bootstrap of (1, 1, 0, 0, 0, 0), by hand
    web = rows["webwalkerqa"]
    assert float(web["Mean@1 (%)"]) == float(web["single_source/easy (%)"]) == float(web["overall (%)"]) == 100.0
    sp = rows["self_play"]
    assert float(sp["quality (0-7)"]) == 3.5 and float(sp["valid_queries (%)"]) == 75.0 and sp["reward (0-10)"] == "nan"
    assert not any(h == "mean" or h.startswith("mean ") for h in rows["self_play"])
    md = cli(capsys, "leaderboard", str(more["units"]), "--no-tool-calls", "--n-boot", "10000")
    line = next(l for l in md.splitlines() if "| countdown " in l)
    assert "| 33.3 [0.0, 66.7] " in line and "| 50.0 [" in line

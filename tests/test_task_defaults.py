"""Defaults every task shares: a max_tokens of its own (recorded in the log), pass@k that follows --epochs."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval

FIXTURES = Path(__file__).parent / "fixtures"
DEMO_AIME = str(resources.files("harness") / "data" / "demo_aime.jsonl")


def _tasks(tmp_path: Path | None = None):
    from tasks.afm import afm100
    from tasks.aime import aime, aime2024, aime2025
    from tasks.alpacaeval import alpacaeval
    from tasks.apigen import apigen
    from tasks.countdown import countdown
    from tasks.dapo import dapo100
    from tasks.self_play import self_play
    from tasks.webwalkerqa import webwalkerqa

    return {
        "aime2024": lambda: aime2024(data=DEMO_AIME),
        "aime2025": lambda: aime2025(data=DEMO_AIME),
        "aime": lambda: aime(data=str(_both_years(tmp_path))),
        "dapo100": lambda: dapo100(data=str(FIXTURES / "dapo_sample.jsonl"), n=3),
        "countdown": lambda: countdown(n=2),
        "apigen": lambda: apigen(data=str(FIXTURES / "apigen_sample.jsonl"), split="all"),
        "webwalkerqa": lambda: webwalkerqa(data=str(FIXTURES / "webwalkerqa_selfmade.jsonl"), solver="direct"),
        "afm100": lambda: afm100(data=str(FIXTURES / "afm_webagent_rl_selfmade.jsonl"), n=2, solver="direct"),
        "alpacaeval": lambda: alpacaeval(data=str(FIXTURES / "alpaca_eval_selfmade.jsonl")),
        "self_play": lambda: self_play(games=1),
    }


def _both_years(tmp_path: Path | None) -> Path:
    assert tmp_path is not None
    rows = Path(DEMO_AIME).read_text().splitlines()[:2]
    path = tmp_path / "aime.jsonl"
    path.write_text("\n".join(r.replace('"year": "demo"', f'"year": "{y}"') for r, y in zip(rows, (2024, 2025))))
    return path


@pytest.mark.parametrize("name", list(_tasks()))
def test_every_task_sets_max_tokens(name: str, tmp_path: Path) -> None:
    """A provider default (hf: 2048 new tokens) must never apply silently."""
    task = _tasks(tmp_path)[name]()
    assert isinstance(task.config.max_tokens, int) and task.config.max_tokens >= 1024, name


def test_raising_epochs_adds_pass_at_k_and_max_tokens_is_logged(tmp_path: Path) -> None:
    from tasks.countdown import countdown  # one epoch by default

    [log] = inspect_eval(countdown(n=2), model="testdouble/oracle", epochs=4, log_dir=str(tmp_path), display="none")
    assert [s.reducer for s in log.results.scores] == ["mean", "pass_at_1", "pass_at_2", "pass_at_4"]
    assert log.plan.config.max_tokens == countdown(n=2).config.max_tokens  # the task's value, in the log
    [log] = inspect_eval(countdown(n=2), model="testdouble/oracle", max_tokens=77, log_dir=str(tmp_path), display="none")
    assert [s.reducer for s in log.results.scores] == ["mean", "pass_at_1"] and log.plan.config.max_tokens == 77

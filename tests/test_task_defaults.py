"""Every task sets its own max_tokens. (That it reaches the log, and that --epochs adds pass@k to a
one-epoch task, is checked on the logs of the README's offline commands: test_offline_commands.py.)"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

OFFLINE = Path(str(resources.files("harness") / "data" / "offline"))
"""The self-written data of the README's offline commands (``harness offline-data``)."""
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
        "dapo100": lambda: dapo100(data=str(OFFLINE / "dapo.jsonl"), n=3),
        "countdown": lambda: countdown(n=2),
        "apigen": lambda: apigen(data=str(OFFLINE / "apigen.jsonl"), split="all"),
        "webwalkerqa": lambda: webwalkerqa(data=str(OFFLINE / "webwalkerqa.jsonl"), solver="direct"),
        "afm100": lambda: afm100(data=str(OFFLINE / "afm.jsonl"), n=2, solver="direct"),
        "alpacaeval": lambda: alpacaeval(data=str(OFFLINE / "alpaca_eval.jsonl")),
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

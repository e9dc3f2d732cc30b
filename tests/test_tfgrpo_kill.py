"""Acceptance: ``kill -9`` during step 2's rollouts, then ``--resume``: no model call lost or made twice.

Three real CLI processes with the TEST DOUBLE (``-M call_log=`` records every answered call):
an uninterrupted run, a run killed with SIGKILL once step 2's rollouts are under way, and
its ``--resume``. The killed + resumed calls must equal the uninterrupted run's, call for
call, and the libraries must be identical. Part of the default run (about 30 s; marked ``faults`` with the other fault runs): ``pytest
tests/test_tfgrpo_kill.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from harness.experience import ExperienceLibrary

pytestmark = pytest.mark.faults

LATENCY = 0.4
ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "dapo_sample.jsonl"


def _cmd(tmp: Path, name: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "harness.cli", "tfgrpo", "train", "--task", "dapo100", "--data", str(FIXTURE),
        "--model", "testdouble/oracle", "-M", "p_correct=0.5", "-M", f"latency={LATENCY}",
        "-M", f"call_log={tmp / (name + '.calls')}", "--max-connections", "3",
        "--epochs", "2", "--group-size", "3", "--out", str(tmp / f"{name}.json"), "--no-progress", *extra,
    ]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def _calls(path: Path) -> Counter[str]:
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return Counter(json.dumps({k: v for k, v in json.loads(l).items()}, sort_keys=True) for l in lines)


def test_kill9_during_step2_then_resume(tmp_path: Path) -> None:
    ref = subprocess.run(_cmd(tmp_path, "ref"), env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert ref.returncode == 0, ref.stderr[-2000:]
    expected = _calls(tmp_path / "ref.calls")
    step1_calls = len(json.loads((tmp_path / "ref.run" / "step_0" / "rollouts.json").read_text())["rollouts"])

    proc = subprocess.Popen(_cmd(tmp_path, "run"), env=_env(), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    step2 = tmp_path / "run.run" / "step_1" / "library.json"
    deadline = time.monotonic() + 240
    killed_at = None
    while time.monotonic() < deadline and proc.poll() is None:
        if step2.exists():
            rollouts = sum(n for c, n in _calls(tmp_path / "run.calls").items() if json.loads(c)["sample"] is not None)
            if rollouts >= step1_calls + 4:  # a few of step 2's rollouts are answered
                # kill in the middle of the next wave's latency: the calls just answered have
                # reached inspect's cache by then, the next ones are still waiting. (A call
                # killed between its answer and the cache write would be asked again on
                # --resume: that window is what in-flight means, and is not tested here.)
                time.sleep(LATENCY / 2)
                os.kill(proc.pid, signal.SIGKILL)
                killed_at = rollouts - step1_calls
                break
        time.sleep(0.05)
    proc.wait(timeout=30)
    assert killed_at is not None, "the run finished or stalled before step 2's rollouts could be interrupted"
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "run.run" / "step_1" / "rollouts.json").exists()  # really killed mid-rollouts

    resumed = subprocess.run(_cmd(tmp_path, "run", "--resume"), env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    got = _calls(tmp_path / "run.calls")
    assert got == expected, f"duplicated: {got - expected}, lost: {expected - got}"
    a, b = ExperienceLibrary.load(tmp_path / "ref.json"), ExperienceLibrary.load(tmp_path / "run.json")
    assert a.experiences == b.experiences and len(b.steps) == 2
    assert [s.mean_reward for s in a.steps] == [s.mean_reward for s in b.steps]

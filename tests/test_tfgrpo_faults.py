"""Training-Free GRPO through inspect's openai-api provider against the stub server, with faults.

With 10% of calls failing in each fault mode, a training run ends with the same library and
the same per-step statistics as a fault-free run, with every rollout recorded exactly once.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.testing.stub_server import AnswerKey, StubConfig, StubServer
from harness.testing.tfgrpo_replies import reply as stage_reply
from tasks.dapo import load_dapo

pytestmark = pytest.mark.faults

FIXTURE = Path(__file__).parents[1] / "harness" / "data" / "offline" / "dapo.jsonl"
N, G, EPOCHS = 4, 3, 2


def _responder():
    samples = load_dapo(str(FIXTURE), n=N, seed=42)
    key = AnswerKey({s.input: s.target for s in samples}, p_correct=0.5, seed=5, vary=True)

    def respond(messages, tools):
        first_user = next((m.get("content") or "" for m in messages if m.get("role") == "user"), "")
        staged = stage_reply(first_user if isinstance(first_user, str) else "")
        if staged is not None:
            return {"content": f"[STUB SERVER] {staged}"}
        return key(messages, tools)

    return respond


def _train(tmp: Path, name: str, config: StubConfig) -> dict:
    with StubServer(_responder(), config) as server:
        out = tmp / f"{name}.json"
        code = main([
            "tfgrpo", "train", "--task", "dapo100", "--data", str(FIXTURE), "-T", f"n={N}",
            "--model", f"openai-api/stub{name}/model", "-M", f"base_url={server.base_url}", "-M", "api_key=stub",
            "--epochs", str(EPOCHS), "--group-size", str(G), "--out", str(out), "--no-progress",
            "--timeout", "1", "--max-retries", "20", "--max-connections", "8",
        ])
        assert code == 0
        answered = server.stats.answered
        faults = dict(server.stats.faults)
    library = json.loads(out.read_text())
    return {"library": library, "answered": answered, "faults": faults}


def _essence(library: dict) -> tuple:
    entries = json.dumps(library["experiences"], sort_keys=True)
    steps = [
        (s.get("rollouts"), s.get("mean_reward"), s.get("groups_kept"), s.get("operations_applied"))
        for s in library.get("steps", [])
    ]
    return entries, steps


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict:
    run = _train(tmp_path_factory.mktemp("tfgrpo-base"), "base", StubConfig())
    assert run["library"]["experiences"], "the fault-free run learned nothing: the comparison would be empty"
    return run


@pytest.mark.parametrize("mode", ["429", "500", "drop", "timeout", "malformed"])
def test_training_with_faults_matches_fault_free_run(mode: str, tmp_path: Path, baseline: dict) -> None:
    config = StubConfig(fault_rate=0.1, fault_modes=(mode,), timeout_hold=3.0, retry_after=0.2, seed=13)
    run = _train(tmp_path, mode.replace("4", "x"), config)
    assert run["faults"].get(mode, 0) > 0, "no fault was injected"
    assert _essence(run["library"]) == _essence(baseline["library"])
    # every rollout and stage call answered exactly as often as without faults
    assert run["answered"] == baseline["answered"]


def test_failed_rollouts_are_counted_and_warned_about(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A problem whose rollout calls always fail (HTTP 500, no request retries, one sample
    re-run): its rollouts are failed, left out (its group vanishes), shown in the step table
    and announced by a warning line."""
    samples = load_dapo(str(FIXTURE), n=2, seed=42)
    broken = samples[0].input
    key = AnswerKey({s.input: s.target for s in samples}, p_correct=0.5, seed=5, vary=True)

    def respond(messages, tools):
        first_user = next((m.get("content") or "" for m in messages if m.get("role") == "user"), "")
        staged = stage_reply(first_user if isinstance(first_user, str) else "")
        if staged is not None:
            return {"content": f"[STUB SERVER] {staged}"}
        if broken in first_user:
            raise RuntimeError("stub: this problem always fails")  # the server answers 500
        return key(messages, tools)

    out = tmp_path / "failing.json"
    with StubServer(respond) as server:
        code = main([
            "tfgrpo", "train", "--task", "dapo100", "--data", str(FIXTURE), "-T", "n=2",
            "--model", "openai-api/stubfail/model", "-M", f"base_url={server.base_url}", "-M", "api_key=stub",
            "--epochs", "1", "--group-size", "2", "--out", str(out), "--no-progress",
            "--max-retries", "0", "--retry-on-error", "1",
        ])
    assert code == 0
    printed, err = capsys.readouterr()
    (step,) = json.loads(out.read_text())["steps"]
    assert step["rollouts"] == 4 and step["failed_rollouts"] == 2 and step["groups"] == 1
    assert "warning: step 1: 2 of 4 rollouts failed" in err
    header = next(line for line in printed.splitlines()
                  if line.lstrip().startswith("|") and "rollouts" in line and "failed" in line)
    assert [c.strip() for c in header.strip("|").split("|")][3:5] == ["rollouts", "failed"]

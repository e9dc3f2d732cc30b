"""Fault runs against the local stub server, through inspect's openai-api provider.

With 10% of calls failing in each fault mode an AIME eval completes with results
identical to a fault-free run, with no sample lost or double-counted; an eval killed
mid-run and resumed with `inspect eval-retry` runs only the samples its log lacks.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.log import EvalLog, list_eval_logs, read_eval_log
from inspect_ai.model import get_model

from harness.testing.stub_server import AnswerKey, StubConfig, StubServer
from tests.helpers import write_jsonl

pytestmark = pytest.mark.faults

N_PROBLEMS = 30
EPOCHS = 2
ROWS = [
    {"id": i, "problem": f"Stub problem number {i}: compute something.", "answer": str(100 + i),
     "url": f"https://artofproblemsolving.com/wiki/index.php/2024_AIME_{'I' if i < 15 else 'II'}_Problems/Problem_{i % 15 + 1}",
     "year": "2024"}
    for i in range(N_PROBLEMS)
]
KEY = AnswerKey({r["problem"]: r["answer"] for r in ROWS}, p_correct=0.6, seed=3)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "aime.jsonl", ROWS)


def _run(data: Path, tmp_path: Path, config: StubConfig) -> tuple[EvalLog, StubServer]:
    from tasks.aime import aime2024

    with StubServer(KEY, config) as server:
        model = get_model("openai-api/stub/model", base_url=server.base_url, api_key="stub", memoize=False)
        [log] = inspect_eval(
            aime2024(data=str(data)),
            model=model,
            epochs=EPOCHS,
            log_dir=str(tmp_path / "logs"),
            display="none",
            timeout=1,  # per-request timeout, so a held ("timeout") request is retried
            max_retries=20,
            max_connections=16,
            # inspect's openai provider does not retry a 200 whose body is not JSON;
            # sample-level retry (--retry-on-error) covers that mode
            retry_on_error=3,
        )
    return log, server


def _scores(log: EvalLog) -> dict[tuple[str, int], str]:
    assert log.samples is not None
    keys = [(str(s.id), s.epoch) for s in log.samples]
    assert len(keys) == len(set(keys)), "a sample-epoch was recorded twice"
    return {(str(s.id), s.epoch): s.scores["math_answer"].value for s in log.samples}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], str]:
    tmp = tmp_path_factory.mktemp("baseline")
    log, server = _run(write_jsonl(tmp / "aime.jsonl", ROWS), tmp, StubConfig())
    assert log.status == "success" and server.stats.answered == N_PROBLEMS * EPOCHS
    scores = _scores(log)
    # the answer key decides correctness in advance
    for r in ROWS:
        sid = next(k for k in scores if k[0].endswith(f"-{r['id'] % 15 + 1}") and
                   k[0].split("-")[1] == ("I" if r["id"] < 15 else "II"))
        assert (scores[sid] == "C") == KEY.expected_correct(r["problem"])
    return scores


@pytest.mark.parametrize("mode", ["429", "500", "drop", "timeout", "malformed"])
def test_faults_do_not_change_results(mode: str, data: Path, tmp_path: Path, baseline: dict) -> None:
    config = StubConfig(fault_rate=0.1, fault_modes=(mode,), timeout_hold=3.0, retry_after=0.2, seed=11)
    log, server = _run(data, tmp_path, config)
    assert server.stats.faults[mode] > 0, "no fault was injected"
    assert log.status == "success"
    assert log.results is not None and log.results.completed_samples == N_PROBLEMS * EPOCHS
    assert _scores(log) == baseline
    # every sample-epoch was answered exactly once: nothing lost, nothing done twice
    assert server.stats.answered == N_PROBLEMS * EPOCHS


def test_killed_eval_resumes_only_missing_samples(data: Path, tmp_path: Path, baseline: dict) -> None:
    repo = Path(__file__).resolve().parents[1]
    log_dir = tmp_path / "logs"
    with StubServer(KEY, StubConfig(latency=0.15)) as server:
        env = {**os.environ, "STUBKILL_BASE_URL": server.base_url, "STUBKILL_API_KEY": "stub"}
        proc = subprocess.Popen(
            ["inspect", "eval", f"{repo}/tasks/aime.py@aime2024", "-T", f"data={data}",
             "--model", "openai-api/stubkill/model", "--epochs", str(EPOCHS), "--max-connections", "4",
             "--log-dir", str(log_dir), "--display", "none"],
            env=env,
        )
        deadline = time.monotonic() + 60
        while server.stats.answered < 30 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        before = server.stats.answered
        assert 0 < before < N_PROBLEMS * EPOCHS
        [killed] = list_eval_logs(str(log_dir))
        recorded = len(read_eval_log(killed).samples or [])
        r = subprocess.run(
            ["inspect", "eval-retry", killed.name, "--log-dir", str(log_dir), "--display", "none"],
            env=env, capture_output=True, text=True, timeout=120,
        )
        assert r.returncode == 0, r.stderr
        resumed_calls = server.stats.answered - before
    # only what the killed run's log lacks is run again (inspect may recover even more
    # from its sample buffer), and at least what was never answered
    assert N_PROBLEMS * EPOCHS - before <= resumed_calls <= N_PROBLEMS * EPOCHS - recorded
    final = [read_eval_log(i) for i in list_eval_logs(str(log_dir))]
    done = next(log for log in final if log.status == "success")
    assert _scores(done) == baseline

"""``-T solver=react``: inspect's react agent with python() in the bwrap sandbox, end to end.

The model is scripted (mockllm with usage set, or the test double from the CLI): it issues
python tool calls, the code really runs in the sandbox, and the boxed answer is scored.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai._util.error import PrerequisiteError
from inspect_ai.log import read_eval_log
from inspect_ai.util import SandboxEnvironmentSpec

from helpers import mock_model, output, tool_call_output, write_jsonl
from solvers import build_solver
from solvers.react import DOCKER_COMPOSE, TOOL_CALLS_KEY
from tasks.aime import aime2024

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed")
ROOT = Path(__file__).resolve().parents[1]

PROBLEM = {
    "id": 60,
    "problem": "What is the product of the first four primes?",
    "solution": "",
    "answer": "210",
    "url": "https://artofproblemsolving.com/wiki/index.php/2024_AIME_I_Problems/Problem_1",
    "year": 2024,
}


@pytest.fixture
def data(tmp_path: Path) -> str:
    return str(write_jsonl(tmp_path / "aime.jsonl", [PROBLEM]))


@pytest.fixture
def limits(tmp_path: Path) -> str:
    path = tmp_path / "limits.yaml"
    path.write_text("memory_mb: 128\nmax_procs: 16\nmax_output_kb: 64\nmax_file_mb: 1\n")
    return str(path)


def run_react(data: str, outputs: list, tmp_path: Path, **options):
    task = aime2024(data=data, solver="react", **options)
    [log] = inspect_eval(task, model=mock_model(outputs), epochs=1, log_dir=str(tmp_path / "logs"), display="none")
    assert log.status == "success", log.error
    assert log.samples
    return log.samples[0]


def tool_messages(sample):
    return [m for m in sample.messages if m.role == "tool"]


@needs_bwrap
def test_react_runs_code_in_the_sandbox_and_scores_the_boxed_answer(data, limits, tmp_path):
    outputs = [
        tool_call_output("python", {"code": "import os\nopen('primes.txt', 'w').write('2 3 5 7')\nprint(os.getcwd())"}),
        tool_call_output("python", {"code": "import math\nprint(math.prod(map(int, open('primes.txt').read().split())))"}),
        output("The product is \\boxed{210}."),
    ]
    sample = run_react(data, outputs, tmp_path, sandbox_config=limits)
    assert [m.text for m in tool_messages(sample)] == ["/sandbox\n", "210\n"]
    assert sample.scores["math_answer"].value == "C"
    assert sample.store[TOOL_CALLS_KEY] == 2


@needs_bwrap
def test_hostile_tool_calls_come_back_as_errors_and_the_run_goes_on(data, limits, tmp_path, monkeypatch):
    secret = f"SECRET-{uuid.uuid4().hex}"
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(secret)
    victim = tmp_path / "victim.txt"
    victim.write_text("original")
    monkeypatch.setenv("HARNESS_TEST_TOKEN", secret)
    hostile = {
        "network": "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=1)",
        "write outside": f"open({str(victim)!r}, 'w').write('pwned')",
        "read secret": f"import os\nprint(os.environ.get('HARNESS_TEST_TOKEN'))\nprint(open({str(secret_file)!r}).read())",
        "fork bomb": "import os\nwhile True:\n    os.fork()",
        "memory hog": "hog = []\nwhile True:\n    hog.append(bytearray(10**6))",
        "infinite loop": "while True:\n    pass",
        "100 MB of output": "import sys\nfor _ in range(1600):\n    sys.stdout.write('x' * 65536)",
    }
    outputs = [tool_call_output("python", {"code": code}) for code in hostile.values()]
    outputs.append(output("Despite all that: \\boxed{210}"))
    sample = run_react(data, outputs, tmp_path, sandbox_config=limits, tool_timeout=2)

    results = dict(zip(hostile, tool_messages(sample)))
    assert len(results) == len(hostile)
    assert "Network is unreachable" in results["network"].text
    assert "No such file or directory" in results["write outside"].text
    assert "No such file or directory" in results["read secret"].text
    assert "None" in results["read secret"].text
    assert results["fork bomb"].error is not None or "Resource temporarily unavailable" in results["fork bomb"].text
    assert "MemoryError" in results["memory hog"].text
    assert results["infinite loop"].error is not None and results["infinite loop"].error.type == "timeout"
    assert results["100 MB of output"].error is not None and results["100 MB of output"].error.type == "limit"
    assert all(secret not in m.text for m in sample.messages)
    assert victim.read_text() == "original"
    assert sample.scores["math_answer"].value == "C"
    assert sample.store[TOOL_CALLS_KEY] == len(hostile)


@needs_bwrap
def test_max_turns_stops_an_agent_that_never_answers(data, tmp_path):
    outputs = [tool_call_output("python", {"code": "print(1)"}) for _ in range(10)]
    sample = run_react(data, outputs, tmp_path, max_turns=3)
    assert sample.store[TOOL_CALLS_KEY] == 3
    assert sum(m.role == "assistant" for m in sample.messages) == 3
    assert sample.scores["math_answer"].value == "I"


@needs_bwrap
def test_direct_answer_records_zero_tool_calls(data, tmp_path):
    sample = run_react(data, [output("\\boxed{210}")], tmp_path)
    assert sample.store[TOOL_CALLS_KEY] == 0
    assert sample.scores["math_answer"].value == "C"


def test_options_sandbox_choice_and_errors(caplog):
    built = build_solver("react", template="{prompt}")
    assert built.sandbox == SandboxEnvironmentSpec("bwrap")
    assert built.metadata == {"sandbox": "bwrap", "max_turns": 50, "tool_timeout": 10}
    docker = build_solver("react", template="{prompt}", sandbox="docker")
    assert docker.sandbox == SandboxEnvironmentSpec("docker", str(DOCKER_COMPOSE)) and DOCKER_COMPOSE.is_file()
    with caplog.at_level(logging.WARNING):
        local = build_solver("react", template="{prompt}", sandbox="local")
    assert local.sandbox == SandboxEnvironmentSpec("local")
    assert "no isolation" in caplog.text
    with pytest.raises(PrerequisiteError, match="bwrap, docker, local"):
        build_solver("react", template="{prompt}", sandbox="firejail")
    with pytest.raises(PrerequisiteError, match="not found"):
        build_solver("react", template="{prompt}", sandbox_config="/nonexistent/limits.yaml")
    with pytest.raises(PrerequisiteError, match="max_turns"):
        build_solver("react", template="{prompt}", max_turns=0)


@needs_bwrap
def test_cli_with_the_test_double(data, tmp_path):
    script = write_jsonl(
        tmp_path / "script.jsonl",
        [
            {"content": "Let me compute.", "tool_calls": [{"function": "python", "arguments": {"code": "print(2*3*5*7)"}}]},
            {"content": "So the answer is \\boxed{210}."},
        ],
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    log_dir = tmp_path / "cli-logs"
    cmd = [
        sys.executable, "-m", "inspect_ai", "eval", f"{ROOT}/tasks/aime.py@aime2024",
        "-T", "solver=react", "-T", f"data={data}", "--epochs", "1",
        "--model", "testdouble/x", "-M", f"script={script}",
        "--log-dir", str(log_dir), "--display", "none", "--log-format", "json",
    ]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    [log_file] = list(log_dir.glob("*.json"))
    log = read_eval_log(str(log_file))
    assert log.status == "success"
    sample = log.samples[0]
    assert [m.text for m in sample.messages if m.role == "tool"] == ["210\n"]
    assert sample.scores["math_answer"].value == "C"
    assert sample.store[TOOL_CALLS_KEY] == 1
    assert json.loads(log_file.read_text())["eval"]["task_args"]["solver"] == "react"

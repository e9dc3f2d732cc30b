"""Acceptance: Ctrl-C at every phase of ``harness tfgrpo train``, a ``kill -9``, and ``--resume``.

One run (TEST DOUBLE, 2 steps, every call taking ``LATENCY`` seconds, 3 at a time) is
stopped five times: SIGINT during step 1's rollouts; during its summaries and advantages
(they run concurrently: a summary and an advantage call are in flight); during its
consolidation; while its checkpoint is being written (Ctrl-C twice, the second inside the
write); then SIGKILL during step 2's rollouts. A last ``--resume`` finishes it. Signals go
to the process's own group, as a terminal's Ctrl-C does, in the middle of a call's latency.

Each SIGINT must end the process with exit 130 and one line "interrupted, resume with:
<command>"; the runs after the first are started from that printed command. At the end the
library, the multiset of answered model calls (the test double's ``-M call_log=``) and the
usage of every stage must equal an uninterrupted run's: no call lost, none answered twice,
every token accounted once.

Cost: each Python start pays ~3 s of imports (inspect, openai, matplotlib), so the
interrupted runs are forked from one process that imported them once (``ZYGOTE``): each is
still a separate OS process running ``harness.cli.main`` on the printed command's
arguments in the printed folder. The last resume is the printed command pasted into a
shell in another folder, run as is.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Callable

import pytest

from harness.cli import main
from harness.experience import ExperienceLibrary

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(not hasattr(os, "fork") or not Path("/proc/self/stat").exists(), reason="needs fork and /proc"),
]

LATENCY = 0.5
ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "harness" / "data" / "offline" / "dapo.jsonl"
# 4 problems, 2 steps of 2, G=2; the test double's seed 2 makes both groups of both steps
# mixed (one right, one wrong), so every phase of step 1 has calls to interrupt
ARGS = [
    "tfgrpo", "train", "--task", "dapo100", "--data", str(FIXTURE), "-T", "n=4",
    "--model", "testdouble/oracle", "-M", "p_correct=0.5", "-M", "seed=2",
    "--epochs", "1", "--group-size", "2", "--batch-size", "2", "--max-connections", "3", "--no-progress",
]
MESSAGE = re.compile(r"^interrupted, resume with: (cd \S+ && harness tfgrpo train .* --resume)$")

ZYGOTE = r"""
import json, os, signal, sys
import harness.cli, harness._registry, inspect_ai.model._openai_responses  # paid once, shared by every run
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot


def run(req):
    os.setsid()  # its own process group: a signal to it is a Ctrl-C for this run only
    os.chdir(req["cwd"])
    os.environ["PWD"] = req["cwd"]
    for fd, path in ((1, req["out"]), (2, req["err"])):
        os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
    if req.get("sigint_on_write"):
        # Ctrl-C while a file is renamed into place (the last step of an atomic write); the
        # fault comes from outside the code under test: only os.replace is wrapped
        name, count = req["sigint_on_write"]
        real, fired = os.replace, []

        def replace(src, dst, *args, **kwargs):
            if not fired and os.path.basename(dst) == name:
                fired.append(True)
                for _ in range(count):
                    os.kill(os.getpid(), signal.SIGINT)
            return real(src, dst, *args, **kwargs)

        os.replace = replace
    try:
        code = harness.cli.main(req["argv"])
    except SystemExit as ex:
        code = ex.code if isinstance(ex.code, int) else 1
    except BaseException:
        import traceback
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


for line in sys.stdin:
    req = json.loads(line)
    if "wait" in req:
        _, status = os.waitpid(req["wait"], 0)
        print(-os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status), flush=True)
        continue
    pid = os.fork()
    if pid == 0:
        run(req)
    print(pid, flush=True)
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def _calls(path: Path) -> list[dict]:
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [json.loads(line) for line in lines]


def _count(path: Path, stage: str | None) -> int:
    """Answered calls of a stage (None: rollouts)."""
    return sum(1 for c in _calls(path) if c["stage"] == stage and (stage is not None or c["sample"] is not None))


class ForkServer:
    """Forks harness runs from one process that has done the imports."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", ZYGOTE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=_env())

    def _ask(self, request: dict) -> int:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        assert answer, "the fork server died"
        return int(answer)

    def start(self, argv: list[str], cwd: Path, out: Path, err: Path, **extra: object) -> int:
        return self._ask({"argv": argv, "cwd": str(cwd), "out": str(out), "err": str(err), **extra})

    def wait(self, pid: int) -> int:
        return self._ask({"wait": pid})

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


class Run:
    """One ``harness tfgrpo train`` process, alone in its process group."""

    def __init__(self, tmp: Path, name: str) -> None:
        self.out, self.err = tmp / f"{name}.out", tmp / f"{name}.err"
        self.out.touch()
        self.err.touch()
        self.proc: subprocess.Popen | None = None
        self.server: ForkServer | None = None
        self.pid = 0

    @classmethod
    def forked(cls, tmp: Path, name: str, server: ForkServer, command: str, **extra: object) -> "Run":
        """``command`` is ``cd DIR && harness ARGS`` (as printed): ARGS run in DIR."""
        cd, folder, and_, harness, *argv = shlex.split(command)
        assert (cd, and_, harness) == ("cd", "&&", "harness"), command
        run = cls(tmp, name)
        run.server = server
        run.pid = server.start(argv, Path(folder), run.out, run.err, **extra)
        return run

    @classmethod
    def shell(cls, tmp: Path, name: str, command: str, cwd: Path) -> "Run":
        """``command`` pasted into a shell in ``cwd``, as is (the shell execs the harness)."""
        run = cls(tmp, name)
        assert " && harness " in command, command
        with run.out.open("w") as out, run.err.open("w") as err:
            run.proc = subprocess.Popen(command.replace(" && harness ", " && exec harness ", 1), shell=True, cwd=cwd,
                                        env=_env(), stdout=out, stderr=err, start_new_session=True)
        run.pid = run.proc.pid
        return run

    def running(self) -> bool:
        if self.proc is not None:
            return self.proc.poll() is None
        try:
            state = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        return state != "Z"

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 180
        while not condition():
            assert self.running(), f"ended before {what}: {self.err.read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.02)

    def signal_mid_call(self, sig: int) -> None:
        time.sleep(LATENCY / 2)  # the calls answered by now are journaled; the next ones are in flight
        os.killpg(self.pid, sig)

    def finish(self) -> int:
        if self.proc is not None:
            return self.proc.wait(timeout=180)
        assert self.server is not None
        return self.server.wait(self.pid)

    def interrupted(self) -> str:
        """Checks a clean Ctrl-C stop; returns the printed resume command."""
        assert self.finish() == 130, self.err.read_text()[-3000:]
        err = self.err.read_text()
        assert "Traceback" not in err, err[-3000:]
        lines = [line for line in err.splitlines() if line.strip()]
        assert sum("interrupted" in line for line in lines) == 1, err
        match = MESSAGE.match(lines[-1])
        assert match, lines[-1]
        return match.group(1)


@pytest.fixture
def server():
    server = ForkServer()
    yield server
    server.close()


def test_sigint_at_every_phase_and_kill9_then_resume(tmp_path: Path, server: ForkServer) -> None:
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    calls = tmp_path / "run.calls"
    step1, step2 = work / "run.run" / "step_0", work / "run.run" / "step_1"

    # the uninterrupted reference (in-process CLI; latency does not change any answer)
    assert main([*ARGS, "-M", f"call_log={tmp_path / 'ref.calls'}", "--out", str(tmp_path / "ref.json")]) == 0
    expected = ExperienceLibrary.load(tmp_path / "ref.json")
    assert [(s.groups_kept, s.library_size_after) for s in expected.steps] == [(2, 2), (2, 3)]

    # 1. step 1's rollouts: the first wave (3 calls) answered, the fourth in flight
    typed = shlex.join(["cd", str(work), "&&", "harness", *ARGS, "-M", f"latency={LATENCY}", "-M", f"call_log={calls}",
                        "--out", "run.json"])
    run = Run.forked(tmp_path, "1-rollouts", server, typed)
    run.wait_for(lambda: _count(calls, None) >= 3, "3 rollouts")
    run.signal_mid_call(signal.SIGINT)
    resume = run.interrupted()
    assert _count(calls, None) == 3 and not (step1 / "rollouts.json").exists()

    # 2. summaries + advantages: 3 summaries answered; the fourth and the advantage of the
    # group whose summaries are all in are in flight
    run = Run.forked(tmp_path, "2-summaries-advantages", server, resume)
    run.wait_for(lambda: _count(calls, "summary") >= 3, "3 summaries")
    run.signal_mid_call(signal.SIGINT)
    assert run.interrupted() == resume
    assert _count(calls, None) == 4 and _count(calls, "summary") == 3 and _count(calls, "advantage") == 0

    # 3. consolidation: its call in flight
    run = Run.forked(tmp_path, "3-consolidation", server, resume)
    run.wait_for(lambda: "step 1/2: consolidation" in run.out.read_text(), "the consolidation")
    run.signal_mid_call(signal.SIGINT)
    assert run.interrupted() == resume
    assert _count(calls, "advantage") == 2 and _count(calls, "consolidation") == 0

    # 4. the step's checkpoint: Ctrl-C twice while result.json is renamed into place
    run = Run.forked(tmp_path, "4-checkpoint", server, resume, sigint_on_write=["result.json", 2])
    assert run.interrupted() == resume
    assert _count(calls, "consolidation") == 1
    assert not (step1 / "result.json").exists() and not list(step1.glob(".*.tmp"))  # no half-written checkpoint

    # 5. kill -9 during step 2's rollouts
    run = Run.forked(tmp_path, "5-kill", server, resume)
    run.wait_for(lambda: _count(calls, None) >= 7, "3 of step 2's rollouts")
    run.signal_mid_call(signal.SIGKILL)
    assert run.finish() == -signal.SIGKILL
    assert (step1 / "result.json").exists() and not (step2 / "rollouts.json").exists()

    # 6. the printed command, pasted into a shell in another folder, finishes the run
    run = Run.shell(tmp_path, "6-done", resume, cwd=elsewhere)
    assert run.finish() == 0, run.err.read_text()[-3000:]
    assert list(elsewhere.iterdir()) == []

    got, want = Counter(map(json.dumps, _calls(calls))), Counter(map(json.dumps, _calls(tmp_path / "ref.calls")))
    assert got == want, f"answered twice: {got - want}, never answered: {want - got}"
    library = ExperienceLibrary.load(work / "run.json")
    assert library.experiences == expected.experiences
    assert library.usage == expected.usage  # every stage, rollouts included: each call accounted once
    assert [s.usage for s in library.steps] == [s.usage for s in expected.steps]
    assert [(s.mean_reward, s.groups_kept, s.operations_applied) for s in library.steps] == [
        (s.mean_reward, s.groups_kept, s.operations_applied) for s in expected.steps
    ]

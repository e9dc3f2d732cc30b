"""Training-Free GRPO: library artifact, injection, operation parsing, the optimizer (scripted mocks)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.model import get_model

from harness.experience import ExperienceLibrary, StageUsage, render_experiences, renumber
from harness.tfgrpo import optimizer as opt
from harness.tfgrpo import prompts as P
from harness.tfgrpo.operations import (
    GROUP_OPTIONS,
    PLAN_OPTIONS,
    MalformedOutput,
    Operation,
    apply_plan,
    parse_operations,
)
from harness.testing.tfgrpo_replies import reply as double_reply
from tests.helpers import output

FIXTURE = Path(__file__).parents[1] / "harness" / "data" / "offline" / "dapo.jsonl"

# --------------------------------------------------------------------------- library + solver


def test_render_and_roundtrip(tmp_path: Path) -> None:
    lib = ExperienceLibrary.from_texts(["first {brace}", "second"])
    assert lib.render() == "[G0]. first {brace}\n[G1]. second"
    path = lib.save(tmp_path / "lib.json")
    assert ExperienceLibrary.load(path) == lib
    assert not list(tmp_path.glob(".*.tmp"))  # the temp file was renamed, not left behind
    # the reference code's plain {"G0": text} layout loads too
    (tmp_path / "plain.json").write_text(json.dumps({"G0": "a", "G1": "b"}))
    assert ExperienceLibrary.load(tmp_path / "plain.json").texts == ["a", "b"]
    with pytest.raises(ValueError):
        (tmp_path / "bad.json").write_text("{not json")
        ExperienceLibrary.load(tmp_path / "bad.json")


def test_tfgrpo_solver_injects_paper_template(tmp_path: Path) -> None:
    from tasks.dapo import dapo100

    lib = ExperienceLibrary.from_texts(["Use {x} wisely.", "Check parity."]).save(tmp_path / "lib.json")
    empty = ExperienceLibrary().save(tmp_path / "empty.json")
    tasks = [
        dapo100(data=str(FIXTURE), n=1, solver="tfgrpo", experiences=str(lib)),
        dapo100(data=str(FIXTURE), n=1, solver="tfgrpo", experiences=str(lib), placement="system"),
        dapo100(data=str(FIXTURE), n=1, solver="tfgrpo", experiences=str(empty)),
    ]
    model = get_model("mockllm/model", custom_outputs=lambda *a: output("\\boxed{400}"), memoize=False)
    logs = inspect_eval(tasks, model=model, epochs=1, log_dir=str(tmp_path / "logs"), display="none")
    assert [log.status for log in logs] == ["success"] * 3
    meta = [(log.eval.metadata["experiences_count"], log.eval.metadata["experience_placement"]) for log in logs]
    user_log, system_log, empty_log = (logs[meta.index(k)] for k in [(2, "user"), (2, "system"), (0, "user")])
    assert user_log.eval.metadata["experiences_count"] == 2 and user_log.eval.metadata["base_solver"] == "direct"
    user = user_log.samples[0].messages[0]
    assert user.role == "user"
    assert user.text.startswith("Please solve the problem:\n")
    assert "put your final answer within \\boxed{}" in user.text  # the task's own prompt is the problem
    assert user.text.endswith(
        "When solving problems, you MUST first carefully read and understand the helpful instructions "
        "and experiences:\n[G0]. Use {x} wisely.\n[G1]. Check parity."
    )
    # system placement: a system message, user prompt unchanged
    messages = system_log.samples[0].messages
    assert messages[0].role == "system" and "[G1]. Check parity." in messages[0].text
    assert not messages[1].text.startswith("Please solve the problem")
    # empty library: the raw task prompt (the paper's step 0)
    assert not empty_log.samples[0].messages[0].text.startswith("Please solve")


def test_tfgrpo_solver_rejects_bad_options(tmp_path: Path) -> None:
    from inspect_ai._util.error import PrerequisiteError

    from solvers import build_solver

    lib = ExperienceLibrary.from_texts(["a"]).save(tmp_path / "lib.json")
    with pytest.raises(PrerequisiteError, match="not found"):
        build_solver("tfgrpo", template="{prompt}", experiences=str(tmp_path / "missing.json"))
    with pytest.raises(PrerequisiteError, match="placement"):
        build_solver("tfgrpo", template="{prompt}", experiences=str(lib), placement="middle")
    with pytest.raises(PrerequisiteError, match="does not take"):  # passed on to the base solver, which refuses it
        build_solver("tfgrpo", template="{prompt}", experiences=str(lib), max_turns=3)


# --------------------------------------------------------------------------- operations


def _fenced(value: Any) -> str:
    return f"Reasoning...\n```json\n{json.dumps(value)}\n```"


def test_parse_every_operation_kind() -> None:
    known = {"G0", "G1", "G2"}
    text = _fenced(
        [
            {"option": "add", "experience": "New lesson."},
            {"option": "modify", "modified_from": "G1", "experience": "Changed."},
            {"option": "delete", "deleted_id": "[G2]"},
            {"option": "merge", "merged_from": ["G0", "g1", "G7"], "experience": "Merged."},
            {"option": "keep"},
            {"operation": "UPDATE", "id": 0, "content": "Web-style update."},
        ]
    )
    parsed = parse_operations(text, known, PLAN_OPTIONS)
    assert [o.option for o in parsed.operations] == ["add", "modify", "delete", "merge", "keep", "modify"]
    assert parsed.operations[2].target == "G2"
    assert parsed.operations[3].sources == ("G0", "G1")  # unknown G7 dropped, as [B] after PR #209
    assert parsed.operations[5].target == "G0"
    assert parsed.rejected == []
    # the group stage may not merge
    assert parse_operations(_fenced([{"option": "merge", "merged_from": ["G0"], "experience": "x"}]), known, GROUP_OPTIONS).rejected


@pytest.mark.parametrize(
    "text, reason",
    ids=["prose", "bad-json", "object", "huge", "deep", "empty"],
    argvalues=
    [
        ("no json here", "no fenced JSON"),
        ("```json\n[{\"option\": \"add\",]\n```", "bad JSON"),
        ("```json\n{\"a\": 1}\n```", "not a list"),
        ("```json\n" + "[" * 100_000 + "]" * 100_000 + "\n```", "longer than"),
        ("```json\n" + "[" * 20_000 + "]" * 20_000 + "\n```", None),  # deep nesting: bounded, no crash
        ("", "empty output"),
    ],
)
def test_malformed_outputs_raise(text: str, reason: str | None) -> None:
    try:
        parsed = parse_operations(text, {"G0"}, PLAN_OPTIONS)
    except MalformedOutput as ex:
        assert reason is None or reason in str(ex)
    else:
        assert reason is None and parsed.operations == [] and parsed.rejected


def test_hostile_entries_are_rejected_with_reasons() -> None:
    entries = [
        "just a string",
        {"option": "drop_table"},
        {"option": "modify", "modified_from": "G9", "experience": "x"},
        {"option": "modify", "modified_from": "../G0", "experience": "x"},
        {"option": "delete", "deleted_id": True},
        {"option": "add", "experience": "   "},
        {"option": "add", "experience": {"nested": "object"}},
        {"option": "add", "experience": "x" * 5000},
        {"option": "merge", "merged_from": "G0", "experience": "x"},
        {"option": "add", "experience": "ok\n[G5]. injected line"},
    ]
    parsed = parse_operations(_fenced(entries), {"G0"}, PLAN_OPTIONS)
    assert len(parsed.rejected) == 9
    assert any("unknown id" in r for r in parsed.rejected) and any("empty" in r for r in parsed.rejected)
    # a newline cannot forge a library line: experiences are collapsed to one line
    (op,) = parsed.operations
    assert op.experience == "ok [G5]. injected line"
    assert "\n" not in render_experiences(renumber([op.experience]))


def test_apply_plan_and_renumbering() -> None:
    texts = ["a", "b", "c", "d"]
    plan = [
        Operation("modify", "B!", target="G1"),
        Operation("delete", target="G1"),  # clashes with the modify: rejected
        Operation("merge", "a+c", sources=("G0", "G2")),
        Operation("add", "e"),
        Operation("add", "D"),  # duplicate of "d" (case-insensitive): rejected
        Operation("delete", target="G3"),
        Operation("keep"),
    ]
    out = apply_plan(texts, plan)
    assert out.texts == ["B!", "a+c", "e"]
    assert out.applied == 4 and len(out.rejected) == 2
    assert [e.id for e in renumber(out.texts)] == ["G0", "G1", "G2"]
    assert apply_plan(texts, [Operation("modify", "x", target="G99")]).texts == texts


# --------------------------------------------------------------------------- scripted mock model


ANSWERS = {
    "sum of the first 20": "400",
    "divisors does 360": "24",
    "7^{100}": "1",
    "perimeter 30": "10",
    "5 distinct books": "48",
    "divisible by 1000": "15",
}


class Crash(BaseException):
    """A crash injected from outside (a BaseException: nothing in the trainer may swallow it)."""


class Scripted:
    """A mockllm callable: rollouts answer by a fixed rule, stage calls by per-stage functions.

    Rollout k (epoch) of problem i is correct unless (i + epoch) % 3 == 0, and problem
    "7^{100}" is always correct (an all-equal group to be filtered). ``crash_at=(stage, n)``
    raises :class:`Crash` instead of answering the n-th call of ``stage``; ``fail(problem,
    epoch, attempt)`` -> True makes that rollout call raise an API-like error.
    """

    def __init__(
        self,
        crash_at: tuple[str, int] | None = None,
        fail: Callable[[str, int, int], bool] | None = None,
        **stages: Callable[[str, int], str],
    ) -> None:
        self.stages = stages
        self.crash_at = crash_at
        self.fail = fail
        self.attempts: dict[tuple[str, int], int] = {}
        self.calls: list[tuple[str, str]] = []  # (stage or "rollout", first user text), answered calls only

    def __call__(self, input: list[Any], tools: Any, tool_choice: Any, config: Any) -> Any:
        from inspect_ai.log._samples import sample_active

        first = next(m.text for m in input if m.role == "user")
        m = P.STAGE_RE.search(first)
        stage = m.group(1) if m else "rollout"
        if self.crash_at and self.crash_at[0] == stage and self.count(stage) + 1 == self.crash_at[1]:
            raise Crash(f"crash before answering {stage} call #{self.crash_at[1]}")
        if stage == "rollout":
            active = sample_active()
            assert active is not None
            problem = first.split("When solving problems")[0]  # not the experiences, which quote problems
            key = next(k for k in ANSWERS if k in problem)
            attempt = self.attempts[(key, active.epoch)] = self.attempts.get((key, active.epoch), 0) + 1
            if self.fail and self.fail(key, active.epoch, attempt):
                raise RuntimeError(f"injected API error ({key}, epoch {active.epoch}, attempt {attempt})")
            self.calls.append((stage, first))
            index = list(ANSWERS).index(key)
            right = key == "7^{100}" or (index + active.epoch) % 3 != 0
            return output(f"Working... \\boxed{{{ANSWERS[key] if right else '-1'}}}")
        self.calls.append((stage, first))
        attempt = sum(1 for x in input if x.role == "assistant")
        if stage in self.stages:
            return output(self.stages[stage](first, attempt))
        return output(double_reply(first) or "")

    def count(self, stage: str) -> int:
        return sum(1 for s, _ in self.calls if s == stage)

    def prompts(self, stage: str) -> list[str]:
        return [t for s, t in self.calls if s == stage]


def _config(tmp_path: Path, **kw: Any) -> opt.TrainConfig:
    base = dict(
        task="dapo100",
        model="mockllm/model",
        data=str(FIXTURE),
        task_args={"n": 4},
        epochs=1,
        group_size=3,
        batch_size=4,  # one step; tests that need two say batch_size=2
        out=str(tmp_path / "lib.json"),
    )
    base.update(kw)
    return opt.TrainConfig(**base)


def _train(cfg: opt.TrainConfig, script: Scripted, resume: bool = False) -> ExperienceLibrary:
    from inspect_ai._util._async import run_coroutine

    model = get_model("mockllm/model", custom_outputs=script, memoize=False)
    return run_coroutine(opt.Trainer(cfg, model, resume=resume).train())


def test_train_stage_prompts_and_group_filter(tmp_path: Path) -> None:
    script = Scripted()
    lib = _train(_config(tmp_path, batch_size=2), script)
    # 4 problems in 2 steps of 2, G=3: 12 rollouts; "7^{100}" is all-correct -> filtered
    assert script.count("rollout") == 12
    steps = lib.steps
    assert [s.groups for s in steps] == [2, 2]
    assert sum(s.groups_kept for s in steps) == 3
    assert script.count("summary") == 9 and script.count("advantage") == 3
    summary = script.prompts("summary")[0]
    assert "<trajectory>" in summary and "Working..." in summary and "[assistant]" in summary
    assert re.search(r"delivers a \*\*(correct|wrong)\*\*", summary)
    assert re.search(r"<groundtruth>\n(400|24|10)\n</groundtruth>", summary)
    advantages = script.prompts("advantage")
    assert all("Trajectory 1 (Answer " in a and "<groundtruth>" in a for a in advantages)
    # the first step sees an empty library, the second the library learned in step 1
    first_step = [a for a in advantages if "<experience>\nNone\n</experience>" in a]
    assert first_step and len(first_step) < len(advantages)
    assert any("[G0]. [TEST DOUBLE] When a problem starts like" in a for a in advantages)
    assert script.count("consolidation") == 2
    assert "<proposals>" in script.prompts("consolidation")[0] and '"id": "P0"' in script.prompts("consolidation")[0]
    # step 1 adds 1 lesson; step 2's two groups each propose one (an add, or a modify of G0)
    assert [s.groups_kept for s in steps] == [1, 2]
    assert steps[0].library_size_after == 1 and steps[1].operations_applied == 2
    assert [e.id for e in lib.experiences] == [f"G{i}" for i in range(steps[1].library_size_after)]
    assert lib.provenance and lib.provenance.group_size == 3 and lib.provenance.prompt_set == P.PROMPT_SET
    assert steps[0].mean_reward is not None and steps[0].pass_at_g == 1.0
    # the step's rollouts really used the library of that step
    assert "[G0]." in [t for s, t in script.calls if s == "rollout"][-1]


def test_no_ground_truth_and_group_size_one(tmp_path: Path) -> None:
    script = Scripted()
    _train(_config(tmp_path, ground_truth=False, run_dir=str(tmp_path / "nogt")), script)
    assert script.count("advantage") == 4  # no filter without ground truth
    for text in script.prompts("summary") + script.prompts("advantage"):
        assert "<groundtruth>" not in text and "delivers a" not in text and "(Answer" not in text
    assert all("Trajectory 3:" in t for t in script.prompts("advantage"))
    one = Scripted()
    _train(_config(tmp_path, group_size=1, out=str(tmp_path / "g1.json")), one)
    assert one.count("rollout") == 4 and one.count("advantage") == 4  # G=1: every rollout processed


def test_malformed_advantage_is_retried_then_skipped(tmp_path: Path) -> None:
    def flaky(prompt: str, attempt: int) -> str:
        return "no json at all" if attempt == 0 else double_reply(prompt) or ""

    script = Scripted(advantage=flaky)
    lib = _train(_config(tmp_path, batch_size=2), script)
    assert script.count("advantage") == 6  # each of 3 groups: one bad answer, one good
    assert [r for s in lib.steps for r in s.skipped] == []  # recovered on retry: nothing skipped
    assert [s.operations_applied for s in lib.steps] == [1, 2]

    hostile = Scripted(advantage=lambda p, a: _fenced([{"option": "modify", "modified_from": "G42", "experience": "x"}]))
    lib2 = _train(_config(tmp_path, out=str(tmp_path / "h.json")), hostile)
    assert hostile.count("advantage") == 3 * 4  # retries=3: four attempts per group
    skipped = [r for s in lib2.steps for r in s.skipped]
    assert any("unknown id" in r for r in skipped) and any("gave up" in r for r in skipped)
    assert lib2.experiences == [] and hostile.count("consolidation") == 0


def test_bad_consolidation_never_corrupts_library(tmp_path: Path) -> None:
    script = Scripted(consolidation=lambda p, a: "```json\n[{\"option\": \"delete\", \"deleted_id\": \"G0\"}, {oops\n```")
    lib = _train(_config(tmp_path), script)
    assert script.count("consolidation") == 4
    assert lib.experiences == []  # G0 did not exist and the answer never parsed: nothing applied
    assert all(any("gave up" in r for r in s.skipped) for s in lib.steps)


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scripted, ExperienceLibrary]:
    tmp = tmp_path_factory.mktemp("reference")
    script = Scripted()
    return script, _train(_config(tmp), script)


def _crash_after_writing(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """The first checkpoint ``name`` is written, then the process "dies"."""
    real = opt.atomic_write_text

    def write(path: Any, text: str) -> Path:
        written = real(path, text)
        if Path(path).name == name:
            monkeypatch.setattr(opt, "atomic_write_text", real)
            raise Crash(f"crash after writing {name}")
        return written

    monkeypatch.setattr(opt, "atomic_write_text", write)


@pytest.mark.parametrize(
    "point, n", [("rollouts.json", 0), ("summary", 5), ("advantage", 2), ("consolidation", 1), ("result.json", 0)]
)
def test_resume_after_crash_redoes_only_unfinished_calls(
    tmp_path: Path, point: str, n: int, reference_run: tuple[Scripted, ExperienceLibrary], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash (injected from outside) right after a checkpoint, or instead of the n-th call of
    a stage, then --resume: same calls, same library, same usage.

    (Real SIGINT/SIGKILL of CLI processes at every phase: test_tfgrpo_interrupt.py.)"""
    reference, expected = reference_run

    if n:
        crashed = Scripted(crash_at=(point, n))
    else:
        crashed = Scripted()
        _crash_after_writing(monkeypatch, point)
    cfg = _config(tmp_path)
    with pytest.raises(Crash):
        _train(cfg, crashed)  # (the write hook removes itself when it fires)
    with pytest.raises(ValueError, match="--resume"):
        _train(cfg, Scripted())
    resumed = Scripted()
    got = _train(cfg, resumed, resume=True)
    assert got.experiences == expected.experiences
    for stage in ("rollout", "summary", "advantage", "consolidation"):
        assert crashed.count(stage) + resumed.count(stage) == reference.count(stage), stage
    assert sorted(crashed.calls + resumed.calls) == sorted(reference.calls)  # nothing lost, nothing twice
    assert got.usage == expected.usage  # replayed calls are accounted exactly once


def test_resume_refuses_changed_settings(tmp_path: Path) -> None:
    cfg = _config(tmp_path, task_args={"n": 1})
    _train(cfg, Scripted())
    with pytest.raises(ValueError, match="group_size"):
        _train(_config(tmp_path, task_args={"n": 1}, group_size=2), Scripted(), resume=True)


def test_token_and_cost_accounting(tmp_path: Path) -> None:
    from inspect_ai.model import ModelCost
    from inspect_ai.model._model_data.model_data import ModelInfo
    from inspect_ai.model._model_info import clear_model_info_cache, set_model_info

    set_model_info("mockllm/model", ModelInfo(cost=ModelCost(input=1.0, output=2.0, input_cache_write=0, input_cache_read=0)))
    try:
        script = Scripted()
        lib = _train(_config(tmp_path), script)
    finally:
        clear_model_info_cache()
    per_call = 10 * 1e-6 + 5 * 2e-6  # helpers.USAGE: 10 input, 5 output tokens
    for stage in ("summary", "advantage", "consolidation"):
        u = lib.usage[stage]
        n = script.count(stage)
        assert u.calls == n and u.input_tokens == 10 * n and u.output_tokens == 5 * n
        assert u.cost == pytest.approx(per_call * n)
    rollout = lib.usage["rollout"]
    assert rollout.calls == 12 and rollout.input_tokens == 120 and rollout.cost == pytest.approx(per_call * 12)
    assert lib.total_usage().calls == len(script.calls)
    assert lib.steps[0].usage["summary"] == lib.usage["summary"]  # one step: step totals == run totals
    assert StageUsage(calls=1, input_tokens=1).cost is None  # unknown price stays unknown, not 0


def test_direct_experiences(tmp_path: Path) -> None:
    from inspect_ai._util._async import run_coroutine

    script = Scripted()
    model = get_model("mockllm/model", custom_outputs=script, memoize=False)
    lib = run_coroutine(
        opt.direct_experiences(model, task="dapo100", data=str(FIXTURE), task_args={}, count=4, examples=2, seed=1,
                               retries=1, out=str(tmp_path / "direct.json"))
    )
    assert script.count("direct") == 1 and script.count("rollout") == 0
    assert len(lib.experiences) == 4 and lib.provenance and lib.provenance.method == "direct-experiences"
    prompt = script.prompts("direct")[0]
    assert prompt.count("Example ") == 2 and "exactly 4 experiences" in prompt
    assert ExperienceLibrary.load(tmp_path / "direct.json") == lib


def test_cli_train_with_test_double(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    out = tmp_path / "x.json"
    rc = main(["tfgrpo", "train", "--task", "dapo100", "--data", str(FIXTURE), "--model", "testdouble/oracle",
               "-M", "p_correct=0.5", "--epochs", "2", "--group-size", "3", "--out", str(out), "--no-progress"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "TEST DOUBLE" in text and "| step |" in text.replace("|   step |", "| step |") and "failed" in text
    lib = ExperienceLibrary.load(out)
    assert len(lib.steps) == 2 and lib.experiences and lib.provenance and lib.provenance.test_double
    assert out.with_suffix(".png").stat().st_size > 1000


def test_unchanged_library_still_samples_fresh_rollouts(tmp_path: Path) -> None:
    """The per-call rollout cache is scoped to the step: epoch 2 with the same library (same
    prompts) must call the model again, not replay epoch 1."""
    script = Scripted(advantage=lambda p, a: _fenced([]))  # no lessons: the library stays empty
    lib = _train(_config(tmp_path, epochs=2, task_args={"n": 2}), script)
    assert lib.experiences == [] and len(lib.steps) == 2
    assert script.count("rollout") == 2 * 2 * 3


def standin_react(template: str, max_turns: int = 50) -> Any:
    """Stand-in for solvers/react.py (written in parallel): the task prompt, then ``max_turns``
    fake tool calls recorded in the store key ``tool_calls`` as react does, then a generation."""
    from inspect_ai.model import ChatMessageTool
    from inspect_ai.solver import chain, generate, prompt_template, solver

    from solvers.base import BuiltSolver

    @solver
    def fake_tools() -> Any:
        async def solve(state: Any, generate_: Any) -> Any:
            calls = [{"function": "python", "arguments": {"code": f"print({i})"}} for i in range(max_turns)]
            state.store.set("tool_calls", calls)
            state.messages.extend(ChatMessageTool(content=str(i), function="python") for i in range(max_turns))
            return state

        return solve

    return BuiltSolver(solver=chain(prompt_template(template), fake_tools(), generate()), metadata={"max_turns": max_turns})


def test_train_with_a_react_style_base_solver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import solvers

    monkeypatch.setitem(solvers.SOLVERS, "standin_react", "tests.test_tfgrpo:standin_react")
    script = Scripted()
    lib = _train(_config(tmp_path, solver="standin_react", solver_args={"max_turns": 2}, batch_size=2), script)
    assert [s.mean_tool_calls for s in lib.steps] == [2.0, 2.0]
    assert lib.provenance and lib.provenance.solver == "standin_react" and lib.provenance.solver_args["max_turns"] == 2
    summary = script.prompts("summary")[0]
    assert "[tool: python]" in summary  # tool results are part of the summarised trajectory
    assert "[G0]." in [t for s, t in script.calls if s == "rollout"][-1]  # tfgrpo wrapped the base solver


def test_library_path_relative_to_the_shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`inspect eval tasks/x.py` runs the task in tasks/: a path typed at the shell still resolves."""
    from solvers.tfgrpo import resolve_library_path

    (tmp_path / "libs").mkdir()
    lib = ExperienceLibrary.from_texts(["a"]).save(tmp_path / "libs" / "math.json")
    (tmp_path / "tasks").mkdir()
    monkeypatch.chdir(tmp_path / "tasks")
    monkeypatch.setenv("PWD", str(tmp_path))
    assert resolve_library_path("libs/math.json") == lib.resolve()
    with pytest.raises(FileNotFoundError, match="tried"):
        resolve_library_path("libs/missing.json")


# --------------------------------------------------------------------------- failed rollouts, incomplete evals


def test_failed_rollouts_are_retried_then_left_out(tmp_path: Path) -> None:
    """A rollout whose call keeps failing is re-run (retry_on_error), then counted as failed and
    left out of its group and the summaries ([B]/[M] drop rollouts without a trajectory),
    never summarised as a wrong attempt; one that fails once and then succeeds is not failed."""
    def fail(problem: str, epoch: int, attempt: int) -> bool:
        return (problem == "perimeter 30" and epoch == 3) or (problem == "divisors does 360" and epoch == 2 and attempt == 1)

    script = Scripted(fail=fail)
    lib = _train(_config(tmp_path), script)
    (step,) = lib.steps
    assert script.attempts[("perimeter 30", 3)] == 4  # 1 + retry_on_error=3
    assert script.attempts[("divisors does 360", 2)] == 2  # failed once, then answered
    assert step.rollouts == 12 and step.failed_rollouts == 1
    failed = [r for r in step.skipped if "failed" in r]
    assert len(failed) == 1 and "epoch 3" in failed[0] and "injected API error" in failed[0]
    # "perimeter 30" is left with two correct rollouts: an all-equal group, filtered; without the
    # exclusion its failed rollout would have been summarised as a wrong attempt and the group kept
    assert step.groups == 4 and step.groups_kept == 2
    assert script.count("summary") == 6 and script.count("advantage") == 2
    assert all("[assistant]" in p for p in script.prompts("summary"))  # only rollouts with an answer
    assert step.mean_reward == pytest.approx(9 / 11)  # over the 11 rollouts that did not fail
    assert step.usage["rollout"].calls == 11  # calls that were answered (the failed ones never were)


def test_failed_rollouts_are_shown() -> None:
    from harness.experience import StepStats
    from harness.tfgrpo.progress import failed_rollout_warnings, step_table

    steps = [StepStats(step=0, epoch=0, batch=0, queries=2, rollouts=6, failed_rollouts=2),
             StepStats(step=1, epoch=0, batch=1, queries=2, rollouts=6)]
    table = step_table(steps)
    assert "failed" in table.splitlines()[0]
    (warning,) = failed_rollout_warnings(steps)
    assert warning.startswith("warning: step 1: 2 of 6 rollouts failed")


def test_eval_ending_in_error_with_missing_samples_is_not_checkpointed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference_run: tuple[Scripted, ExperienceLibrary]
) -> None:
    """An eval that ends in error without all its rollouts stops the run (nothing of the step is
    checkpointed, the missing ids do not silently vanish); --resume then replays the answered
    calls from the cache and ends like an uninterrupted run."""
    import inspect_ai
    from inspect_ai.log import EvalError

    reference, expected = reference_run
    real = inspect_ai.eval_async

    async def eval_that_breaks(*args: Any, **kwargs: Any) -> Any:
        logs = await real(*args, **kwargs)
        logs[0].samples = logs[0].samples[:-2]
        logs[0].status = "error"
        logs[0].error = EvalError(message="RuntimeError: the sandbox died", traceback="", traceback_ansi="")
        return logs

    monkeypatch.setattr(inspect_ai, "eval_async", eval_that_breaks)
    cfg = _config(tmp_path)
    broken = Scripted()
    with pytest.raises(opt.RolloutsIncomplete, match=r"status error \(RuntimeError: the sandbox died\): 2 of 12 rollouts missing"):
        _train(cfg, broken)
    assert not (tmp_path / "lib.run" / "step_0" / "rollouts.json").exists()
    monkeypatch.setattr(inspect_ai, "eval_async", real)
    resumed = Scripted()
    got = _train(cfg, resumed, resume=True)
    assert resumed.count("rollout") == 0  # every answered call replayed from the cache
    assert sorted(broken.calls + resumed.calls) == sorted(reference.calls)
    assert got.experiences == expected.experiences and got.usage == expected.usage


# --------------------------------------------------------------------------- provenance, prompt sets, artifacts


def test_provenance_records_what_changes_results(tmp_path: Path) -> None:
    model = get_model("mockllm/model", custom_outputs=Scripted(), memoize=False)
    cfg = _config(tmp_path, model_args={"api_key": "sk-secret", "access_token": "t0k", "latency": 1}, temperature=0.6)
    trainer = opt.Trainer(cfg, model)
    prov = trainer.provenance(["a"])
    assert prov.max_tokens == 16384 and prov.stage_max_tokens == 16384  # [B]'s fixed values, recorded
    assert prov.temperature == 0.6 and prov.stage_temperature == 0.0 and prov.retries == 3
    assert prov.prompt_set == P.PROMPT_SET and prov.prompt_set_sha256 == P.MATH_GENERIC.sha256
    assert prov.model_args == {"api_key": "<redacted>", "access_token": "<redacted>", "latency": 1}
    assert prov.data_sha256 == opt.sha256_file(str(FIXTURE)) and len(prov.data_sha256 or "") == 64
    trainer.validate()
    trainer.open_run()
    config = (tmp_path / "lib.run" / "config.json").read_text()
    assert "sk-secret" not in config and "t0k" not in config
    # a changed key is still a changed setting on --resume
    assert opt.redact({"api_key": "a"}, hashed=True) != opt.redact({"api_key": "b"}, hashed=True)


def test_prompt_set_is_a_named_hashable_unit() -> None:
    base = P.get_prompt_set(P.PROMPT_SET)
    assert base is P.MATH_GENERIC and len(base.sha256) == 64
    reworded = base.model_copy(update={"consolidation": base.consolidation + " "})
    assert reworded.sha256 != base.sha256  # one changed character changes the hash
    assert base.model_copy().sha256 == base.sha256
    with pytest.raises(ValueError, match=P.PROMPT_SET):
        P.get_prompt_set("web-v0")
    with pytest.raises(ValueError, match="unknown prompt set"):
        opt.Trainer(opt.TrainConfig(task="dapo100", model="m", out="x.json", prompt_set="nope"), get_model("mockllm/model"))


@pytest.mark.parametrize(
    "content, where",
    ids=["list", "entry-not-object", "experiences-string", "entry-without-text", "other-json", "version-string",
         "version-newer", "deep-nesting"],
    argvalues=[
        ("[1, 2]", "top level"),
        ('{"experiences": [1]}', "experiences.0"),
        ('{"experiences": "Check parity."}', "experiences"),
        ('{"experiences": [{"id": "G0"}]}', "experiences.0.text"),
        ('{"identity": {}, "config": {}}', "no 'experiences' key"),  # e.g. a run's config.json
        ('{"schema_version": "1", "experiences": []}', "not a number"),
        ('{"schema_version": 99, "experiences": []}', "newer than this harness"),
        ("[" * 50_000, "not a JSON experience library"),
    ],
)
def test_library_of_the_wrong_shape_is_one_line(tmp_path: Path, content: str, where: str) -> None:
    path = tmp_path / "lib.json"
    path.write_text(content)
    with pytest.raises(ValueError) as info:
        ExperienceLibrary.load(path)
    message = str(info.value)
    assert where in message and "\n" not in message and len(message) < 600
    assert "pydantic" not in message and "errors.pydantic.dev" not in message


def test_library_load_never_dumps_internals(tmp_path: Path) -> None:
    """Any JSON value: a library, or one ValueError line naming the expected shape."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
    values = st.recursive(scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=12), c, max_size=4), max_leaves=12)
    shaped = st.fixed_dictionaries({"experiences": values}, optional={"schema_version": values, "steps": values, "provenance": values})
    path = tmp_path / "lib.json"

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(value=values | shaped)
    def check(value: Any) -> None:
        path.write_text(json.dumps(value))
        try:
            ExperienceLibrary.load(path)
        except ValueError as ex:
            assert "\n" not in str(ex) and str(path) in str(ex), str(ex)

    check()

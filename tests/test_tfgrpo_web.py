"""Training-Free GRPO, web domain: the web prompt set's stages, parsing and applying its
operations, the released agent-config libraries, the web injection template, the CLI's judge
and web defaults, refusing steps whose rollouts failed, and an offline end-to-end run
(``harness tfgrpo train --task afm100`` with the search agent against tests/local_site.py,
then ``inspect eval`` with the library it wrote).

Every model here is a TEST DOUBLE (scripted mockllm callables, or ``testdouble/...``): the
numbers only exercise the plumbing, they are not a model's results.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest
from inspect_ai.model import get_model

from harness.experience import ExperienceLibrary
from harness.tfgrpo import optimizer as opt
from harness.tfgrpo import prompts as P
from harness.tfgrpo.operations import (
    MAX_EXPERIENCES_BLOCK_CHARS,
    MalformedOutput,
    Operation,
    apply_web_plan,
    extract_experiences,
    format_pool_and_operations,
    parse_web_operations,
)
from harness.testing.tfgrpo_replies import reply as double_reply
from tests.helpers import output, registered_solver, write_jsonl
from tests.test_tfgrpo import ANSWERS, FIXTURE

ROOT = Path(__file__).resolve().parents[1]
AFM = ROOT / "harness" / "data" / "offline" / "afm.jsonl"
YOUTU_AGENT = Path("/work/.mirror/TencentCloudADP+youtu-agent/repo")
"""youtu-agent's git mirror: the released libraries are read from it at test time (never copied here)."""

NAME_DESCRIPTION = re.compile(r"^[A-Z][\w' -]{0,40}: When [^,]{3,}, .+")
"""The official experience shape: "Name: description", the description a "When <condition>, <strategy>"."""


def _fenced(value: Any) -> str:
    return f"Reasoning...\n```json\n{json.dumps(value)}\n```"


# --------------------------------------------------------------------------- <Experiences> block


B_PATTERN = re.compile(r"<Experiences>\s*(.*?)\s*</Experiences>", re.DOTALL | re.IGNORECASE)
"""[B]'s extraction (quadratic on unclosed tags), the reference for what is extracted."""


def test_experiences_block_is_the_references_block() -> None:
    """Whatever the critique says, the block taken is the one [B]'s regex takes (or none)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    parts = st.sampled_from(["<Experiences>", "</Experiences>", "<experiences>", "</EXPERIENCES>", "- When a, b.\n",
                             " ", "\n", "x", "<Reflection>", "</Experience>", "<Experiences", "ſ"])

    @settings(max_examples=300, deadline=None)
    @given(st.lists(parts, max_size=12).map("".join))
    def check(text: str) -> None:
        m = B_PATTERN.search(text)
        expected = m.group(1).strip() if m else ""
        try:
            got = extract_experiences(text)
        except MalformedOutput:
            got = ""
        assert got == expected

    check()


def test_experiences_block_is_linear_and_bounded() -> None:
    """At the whole window a reply can have (1 MB here, more than 16k tokens): unclosed tags
    everywhere, or a block over the cap, are one quick MalformedOutput each."""
    with pytest.raises(MalformedOutput, match="no <Experiences>"):
        extract_experiences("<Experiences>" * 80_000)  # [B]'s lazy regex is quadratic on this
    with pytest.raises(MalformedOutput, match="no <Experiences>"):
        extract_experiences("<Experiences>\n" + "- When a, b.\n" * 80_000)
    with pytest.raises(MalformedOutput, match="longer than"):
        extract_experiences("<Experiences>" + "x" * (MAX_EXPERIENCES_BLOCK_CHARS + 1) + "</Experiences>")
    with pytest.raises(MalformedOutput, match="empty"):
        extract_experiences("<Reflection><Experiences>\n  \n</Experiences></Reflection>")
    text = "<Experiences>\n - When a, b.\n</Experiences>" + "</Experiences>" * 80_000
    assert extract_experiences(text) == "- When a, b."


# --------------------------------------------------------------------------- operations


def test_web_operations_as_the_reference_applies_them() -> None:
    known = {"G0", "G1", "G2"}
    text = _fenced([
        {"operation": "ADD", "id": None, "content": "Source check: When a fact matters, confirm it on the page."},
        {"operation": "UPDATE", "id": "G1", "content": "Query breadth: When searching, start broad."},
        {"operation": "update", "id": "exp_456", "content": "Recency: When time matters, check dates."},  # not in the pool
        {"operation": "DELETE", "id": "G2", "content": None},  # content null, as the prompt asks
        {"operation": "NONE", "id": None, "content": "Covered: already there."},
        {"operation": "DELETE", "id": "G9", "content": "x"},
        {"operation": "MERGE", "id": "G0", "content": "x"},
        {"operation": "ADD", "id": None, "content": ""},
        {"operation": "ADD", "id": None, "content": "x" * 2000},
        "not an object",
    ])
    parsed = parse_web_operations(text, known)
    assert [(o.option, o.target) for o in parsed.operations] == [
        ("add", None), ("modify", "G1"), ("add", None), ("delete", "G2"), ("keep", None)]
    assert parsed.operations[2].experience == "Recency: When time matters, check dates."  # [B]: UPDATE of an unknown id adds
    assert len(parsed.rejected) == 5
    assert any("DELETE of unknown id 'G9'" in r for r in parsed.rejected)
    assert any("unknown operation 'MERGE'" in r for r in parsed.rejected)
    # at most `limit` decisions (a group update is asked for one per principle)
    many = _fenced([{"operation": "ADD", "id": None, "content": f"N{i}: When a, b."} for i in range(30)])
    capped = parse_web_operations(many, known, limit=10)
    assert len(capped.operations) == 10 and capped.rejected == ["operation 10: more than 10 operations"]
    with pytest.raises(MalformedOutput):
        parse_web_operations("no JSON here", known)


def test_web_operations_never_raise_on_any_json() -> None:
    """Any JSON value is a list of valid operations plus reasons, or MalformedOutput."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=15) | st.sampled_from(
        ["ADD", "UPDATE", "DELETE", "NONE", "G0", "G7", "[G1]", 2])
    values = st.recursive(scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(
        st.sampled_from(["operation", "id", "content", "option", "x"]), c, max_size=4), max_leaves=15)

    @settings(max_examples=300, deadline=None)
    @given(values)
    def check(value: Any) -> None:
        try:
            parsed = parse_web_operations(_fenced(value), {"G0", "G1"})
        except MalformedOutput:
            return
        for op in parsed.operations:
            assert op.option in ("add", "modify", "delete", "keep")
            assert op.target is None or op.target in {"G0", "G1"}
            assert op.option in ("delete", "keep") or (op.experience and "\n" not in op.experience)

    check()


def test_batch_listing_and_web_plan() -> None:
    texts = ["Start: When searching, start broad.", "Dates: When time matters, check dates.", "Third: When x, y."]
    ops = [Operation("modify", "Start: When searching, begin broad and narrow.", target="G0"),
           Operation("add", "Pages: When a snippet is vague, open the page."),
           Operation("delete", target="G1")]
    listing = format_pool_and_operations(texts, ops)
    g0, g1, g2, loose = listing.split("\n\n")
    assert g0.startswith("Experience G0:\nContent: Start: When searching, start broad.\nProposed operations:\n")
    assert json.loads(g0.splitlines()[-1]) == {"operation": "UPDATE", "id": "G0", "content": ops[0].experience}
    assert json.loads(g1.splitlines()[-1]) == {"operation": "DELETE", "id": "G1", "content": None}
    assert g2.endswith("No proposed operations.")
    assert loose.startswith("Operations that concern no existing experience:\n") and '"ADD"' in loose
    assert format_pool_and_operations(texts, []) == "No operations were proposed."
    # DELETE overrides UPDATE whatever the order; first UPDATE of an id wins; duplicate ADDs dropped
    plan = [Operation("modify", "G1 changed", target="G1"), Operation("delete", target="G1"),
            Operation("modify", "First: When a, b.", target="G0"), Operation("modify", "Second: When c, d.", target="G0"),
            Operation("add", "Pages: When vague, open."), Operation("add", "pages: when vague, open.")]
    out = apply_web_plan(texts, plan)
    assert out.texts == ["First: When a, b.", "Third: When x, y.", "Pages: When vague, open."]
    assert out.rejected[0] == "plan 0: UPDATE of G1 overridden by its DELETE"
    assert any(r.startswith("plan 3:") for r in out.rejected) and any(r.startswith("plan 5:") for r in out.rejected)


# --------------------------------------------------------------------------- the web stages (scripted mock)


class WebScript:
    """A mockllm callable for the web prompt set: rollouts answer by a fixed rule (problem i,
    epoch e: right unless (i + e) % 3 == 0; "7^{100}" always right, an all-equal group),
    stage calls by ``stages[stage](user_text, attempt)`` or the test double's replies."""

    def __init__(self, fail_rollouts: bool = False, **stages: Callable[[str, int], str]) -> None:
        self.stages = stages
        self.fail_rollouts = fail_rollouts
        self.calls: list[tuple[str, str, str]] = []  # (stage or "rollout", system text, first user text)

    def __call__(self, input: list[Any], tools: Any, tool_choice: Any, config: Any) -> Any:
        from inspect_ai.log._samples import sample_active

        first = next(m.text for m in input if m.role == "user")
        system = next((m.text for m in input if m.role == "system"), "")
        m = P.STAGE_RE.search(first)
        stage = m.group(1) if m else "rollout"
        self.calls.append((stage, system, first))
        if stage == "rollout":
            if self.fail_rollouts:
                raise RuntimeError("injected API error")
            active = sample_active()
            problem = first.split("**CURRENT PROBLEM:**")[-1]  # after the experiences, which quote problems
            key = next(k for k in ANSWERS if k in problem)
            right = key == "7^{100}" or (list(ANSWERS).index(key) + active.epoch) % 3 != 0
            return output(f"Working... \\boxed{{{ANSWERS[key] if right else '-1'}}}")
        attempt = sum(1 for x in input if x.role == "assistant")
        if stage in self.stages:
            return output(self.stages[stage](first, attempt))
        return output(double_reply(first) or "")

    def of(self, stage: str) -> list[tuple[str, str]]:
        return [(s, u) for st, s, u in self.calls if st == stage]


def standin_search(template: str) -> Any:
    """Stand-in agent: the task prompt, one search call with its result, then a generation."""
    from inspect_ai.model import ChatMessageAssistant, ChatMessageTool
    from inspect_ai.solver import chain, generate, prompt_template, solver
    from inspect_ai.tool import ToolCall

    from solvers.base import BuiltSolver

    @solver
    def searched() -> Any:
        async def solve(state: Any, generate_: Any) -> Any:
            call = ToolCall(id="c1", function="search", arguments={"query": "walrus prize 2024"})
            state.messages.append(ChatMessageAssistant(content="Searching.", tool_calls=[call]))
            state.messages.append(ChatMessageTool(content="1. Award page (http://x.example/award) 3 March 2024",
                                                  function="search", tool_call_id="c1"))
            return state

        return solve

    return BuiltSolver(solver=chain(prompt_template(template), searched(), generate()))


def _web_config(tmp_path: Path, **kw: Any) -> opt.TrainConfig:
    base = dict(task="dapo100", model="mockllm/model", data=str(FIXTURE), task_args={"n": 4}, epochs=1, group_size=3,
                batch_size=2, prompt_set=P.WEB_PROMPT_SET, out=str(tmp_path / "lib.json"), retry_on_error=0)
    base.update(kw)
    return opt.TrainConfig(**base)


def _train(cfg: opt.TrainConfig, script: WebScript) -> ExperienceLibrary:
    from inspect_ai._util._async import run_coroutine

    model = get_model("mockllm/model", custom_outputs=script, memoize=False)
    return run_coroutine(opt.Trainer(cfg, model).train())


def test_web_stages_see_tool_calls_attempts_and_the_pool(tmp_path: Path) -> None:
    script = WebScript()
    with registered_solver("standin_search", "tests.test_tfgrpo_web:standin_search"):
        lib = _train(_web_config(tmp_path, solver="standin_search"), script)
    # summary: system instructions + task, reference answer, the trajectory with tool calls and results
    summaries = script.of("summary")
    assert summaries and all(system == P.WEB_SUMMARY_SYSTEM for system, _ in summaries)
    _, user = summaries[0]
    assert re.search(r"^Task: .+\nCorrect answer: (400|24|1|10|48|15)\n", user.split("\n", 1)[1])
    assert '[tool call] search({"query": "walrus prize 2024"})' in user  # the call and its parameters
    assert "[tool: search]\n1. Award page (http://x.example/award) 3 March 2024" in user  # and its whole result
    # critique: labelled attempts and the answer; its <Experiences> block goes to the group update
    critiques = script.of("critique")
    assert critiques and all(system == P.WEB_CRITIQUE_SYSTEM for system, _ in critiques)
    assert "Attempt 1 (Answer " in critiques[0][1] and "<correct_answer>" in critiques[0][1]
    updates = [u for _, u in script.of("update")]
    assert "<existing_experiences>\nNone\n</existing_experiences>" in updates[0]
    assert "<new_experiences>\n- When a question starts like" in updates[0]
    assert any("[G0]. Page check: When a question starts like" in u for u in updates[1:])  # step 2 sees step 1's pool
    # batch: the pool with each experience's operations, the ADDs apart
    batches = [u for _, u in script.of("batch")]
    assert len(batches) == 2 and "Operations that concern no existing experience:\n{\"operation\": \"ADD\"" in batches[0]
    assert "Experience G0:\nContent: Page check: When" in batches[1]
    # step 2's rollouts got the web injection template: experiences first, then the problem
    second_step = [u for st, _, u in script.calls if st == "rollout" and "ACCUMULATED" in u]
    assert second_step and all(u.startswith("**Task:**") and u.index("[G0]. ") < u.index("**CURRENT PROBLEM:**")
                               for u in second_step)
    assert lib.experiences and all(NAME_DESCRIPTION.match(e.text) for e in lib.experiences)
    assert set(lib.usage) == {"rollout", "summary", "critique", "update", "batch"}
    prov = lib.provenance
    assert prov and prov.prompt_set == P.WEB_PROMPT_SET and prov.prompt_set_sha256 == P.WEB.sha256


def test_web_stages_without_ground_truth(tmp_path: Path) -> None:
    script = WebScript()
    _train(_web_config(tmp_path, ground_truth=False, task_args={"n": 2}), script)
    assert all("Correct answer: [not given]\n" in u for _, u in script.of("summary"))
    critique = script.of("critique")[0][1]
    assert "<correct_answer>\n[not given]\n</correct_answer>" in critique
    assert "Attempt 1:\n" in critique and "(Answer " not in critique  # unlabelled, as [M] (not [B] web)


def test_malformed_critique_and_update_are_reasked_then_skipped(tmp_path: Path) -> None:
    """No <Experiences> block is re-asked with the reason; a group update that never gives
    usable JSON is skipped with its reason, and the library is only changed by what parsed."""

    def critique(prompt: str, attempt: int) -> str:
        return "I reflected but forgot the block." if attempt == 0 else double_reply(prompt) or ""

    def update(prompt: str, attempt: int) -> str:
        return "```json\n[{\"operation\": \"DELETE\", \"id\": \"G7\"}\n```"  # bad JSON, every time

    script = WebScript(critique=critique, update=update)
    lib = _train(_web_config(tmp_path, task_args={"n": 2}, retries=1), script)
    (step,) = lib.steps
    assert step.groups_kept >= 1
    assert len(script.of("critique")) == 2 * step.groups_kept  # each group: one malformed answer, one good
    retry = script.calls  # the re-ask names the reason (the follow-up user message is not the first one)
    assert not any("critique/" in r for r in step.skipped)  # recovered on its retry
    assert len(script.of("update")) == 2 * step.groups_kept  # --retries 1: two attempts, then skipped
    assert any("update/" in r and "gave up after 2 attempts" in r for r in step.skipped)
    assert lib.experiences == [] and not script.of("batch")  # nothing usable proposed: no batch call


def test_step_whose_rollouts_mostly_failed_stops_the_run(tmp_path: Path) -> None:
    cfg = _web_config(tmp_path, task_args={"n": 2})
    with pytest.raises(opt.RolloutsFailed, match=r"step 1: 6 of 6 rollouts failed \(6x error: RuntimeError\('injected API error'\)\)"):
        _train(cfg, WebScript(fail_rollouts=True))
    assert not (tmp_path / "lib.run" / "step_0" / "rollouts.json").exists()  # --resume reruns them
    assert not (tmp_path / "lib.json").exists()


def test_failure_and_no_grade_thresholds() -> None:
    def rollouts(failed: int, ungraded: int, total: int = 6) -> list[opt.Rollout]:
        out = []
        for i in range(total):
            out.append(opt.Rollout(sample_id="a", epoch=i, reward=0.0, problem="p", target="t", trajectory="",
                                   error="error: boom" if i < failed else None,
                                   ungraded=failed <= i < failed + ungraded))
        return out

    opt.check_failures(rollouts(3, 0), 0, None)  # half: the step goes on (and warns)
    opt.check_failures(rollouts(0, 3), 0, None)
    with pytest.raises(opt.RolloutsFailed, match="4 of 6 rollouts failed"):
        opt.check_failures(rollouts(4, 0), 0, None)
    with pytest.raises(opt.RolloutsFailed, match="no grade for 4 of 6 rollouts"):
        opt.check_failures(rollouts(0, 4), 0, None)


# --------------------------------------------------------------------------- released libraries (agent YAML)


def _released(tmp_path: Path, name: str) -> Path:
    """A copy of youtu-agent's released config, read from the mirror at test time (not kept in git)."""
    path = f"configs/agents/practice/{name}_practice_agent.yaml"
    if not YOUTU_AGENT.is_dir():
        pytest.skip("youtu-agent mirror absent")
    proc = subprocess.run(["git", "-C", str(YOUTU_AGENT), "show", f"main:{path}"], capture_output=True)
    if proc.returncode:
        pytest.skip(f"{path} not in the mirror")
    out = tmp_path / f"{name}_practice_agent.yaml"
    out.write_bytes(proc.stdout)
    return out


@pytest.mark.parametrize("name, count", [("math", 27), ("web", 46)])
def test_released_agent_configs_load(tmp_path: Path, name: str, count: int) -> None:
    lib = ExperienceLibrary.load(_released(tmp_path, name))
    assert len(lib.experiences) == count and [e.id for e in lib.experiences] == [f"G{i}" for i in range(count)]
    assert lib.imported and lib.imported.format == "agent-yaml" and lib.imported.model == "deepseek-chat"
    assert all(":" in e.text and "\n" not in e.text for e in lib.experiences)  # "Name: description"
    assert "[G" not in (lib.imported.instructions or "")


AGENT_YAML = """\
# self-made fixture in the shape of youtu-agent's configs/agents/practice/*_practice_agent.yaml
type: simple
model:
  model_provider: {type: chat.completions, model: some-model}
agent:
  name: utu-base
  instructions: "You are a helpful assistant.\\n\\nWhen solving problems, you MUST first carefully read and\\
    \\ understand the helpful instructions and experiences:\\n[G0]. Source check: When a fact matters, open\\
    \\ the page.\\n[G3]. Two lines: first line\\nsecond line\\n[G4]. Braces {x}: kept as written."
"""


def test_agent_yaml_shape_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(AGENT_YAML)
    lib = ExperienceLibrary.load(path)
    assert [(e.id, e.text) for e in lib.experiences] == [
        ("G0", "Source check: When a fact matters, open the page."),
        ("G3", "Two lines: first line\nsecond line"),  # ids as written; a continued line stays in its experience
        ("G4", "Braces {x}: kept as written."),
    ]
    assert lib.imported and lib.imported.instructions == "You are a helpful assistant." and lib.imported.model == "some-model"
    for content, where in [
        ("agent: {name: x}", "no agent.instructions"),
        ("agent: {instructions: 'You are a helpful assistant.'}", "holds no experiences"),
        ("agent: {instructions: \"When solving problems, you MUST first carefully read and understand the helpful "
         "instructions and experiences:\\nsome text\"}", "is not '[G0]. ...'"),
        ("agent: [unclosed", "not a YAML file"),
        ("- 1\n- 2", "no agent.instructions"),
    ]:
        path.write_text(content)
        with pytest.raises(ValueError) as info:
            ExperienceLibrary.load(path)
        assert where in str(info.value) and "\n" not in str(info.value)


# --------------------------------------------------------------------------- injection and settings


def test_web_template_placement_and_the_recorded_setting(tmp_path: Path) -> None:
    from inspect_ai import eval as inspect_eval

    from harness.experience import Provenance
    from tasks.afm import afm100

    web = ExperienceLibrary.from_texts(["Source check: When a fact matters, open the page {x}."],
                                       provenance=Provenance(model="m", task="afm100", prompt_set=P.WEB_PROMPT_SET))
    web_path = web.save(tmp_path / "web.json")
    yaml_path = tmp_path / "agent.yaml"
    yaml_path.write_text(AGENT_YAML)
    tasks = [
        afm100(data=str(AFM), n=1, solver="tfgrpo", experiences=str(web_path)),  # base_solver: the setting's agent
        afm100(data=str(AFM), n=1, solver="tfgrpo", experiences=str(web_path), base_solver="direct", injection="math"),
        afm100(data=str(AFM), n=1, solver="tfgrpo", experiences=str(yaml_path), base_solver="direct"),
    ]
    meta = [t.metadata or {} for t in tasks]
    assert meta[0]["setting"] == "search" and meta[0]["base_solver"] == "search"  # not "tfgrpo (no web)"
    assert meta[1]["setting"] == "direct (no web)"
    judge = get_model("mockllm/model", custom_outputs=lambda *a: output("GRADE: CORRECT"), memoize=False)
    model = get_model("mockllm/model", custom_outputs=lambda *a: output("An answer."), memoize=False)
    logs = inspect_eval(tasks[1:], model=model, model_roles={"grader": judge}, epochs=1, display="none",
                        log_dir=str(tmp_path / "logs"))
    by_file = {log.eval.metadata["experiences"]: log for log in logs}
    forced = by_file[str(web_path.resolve())]
    assert forced.eval.metadata["experience_injection"] == "math"
    assert forced.samples[0].messages[0].text.startswith("Please solve the problem:\n")
    released = by_file[str(yaml_path.resolve())]
    assert released.eval.metadata["experience_placement"] == "system"  # as [M] evaluates its released configs
    assert released.eval.metadata["experiences_imported"] == "agent-yaml"
    system, user = released.samples[0].messages[:2]
    assert system.role == "system" and system.text.endswith("[G3]. Two lines: first line\nsecond line\n[G4]. Braces {x}: kept as written.")
    assert not user.text.startswith("**Task:**")


# --------------------------------------------------------------------------- the CLI: judge, defaults, refusals


def _args(*argv: str) -> Any:
    from harness.cli import build_parser

    return build_parser().parse_args(["tfgrpo", "train", "--out", "x.json", *argv])


def test_judge_and_role_specs() -> None:
    from harness.tfgrpo.cli import create_roles, domain_of, role_arg, role_specs

    web = _args("--task", "afm100", "--model", "openai/deepseek-chat", "-M", "api_key=sk-1")
    assert role_specs(web, domain_of("afm100")) == {
        "grader": {"model": "openai/deepseek-chat", "config": {"temperature": 0.0}, "model_args": {"api_key": "sk-1"}}}
    policy_judge = create_roles(role_specs(_args("--task", "afm100", "--model", "testdouble/p"), domain_of("afm100")))
    assert str(policy_judge["grader"]) == "testdouble/p" and policy_judge["grader"].config.temperature == 0.0
    assert role_specs(_args("--task", "dapo100", "--model", "m/x"), domain_of("dapo100")) == {}  # math: no judge
    given = _args("--task", "afm100", "--model", "m/x", "--judge", "{model: testdouble/j, temperature: 0.5, model_args: {seed: 3}}",
                  "--model-role", "page_reader=openai/gpt-4o-mini")
    specs = role_specs(given, domain_of("afm100"))
    assert specs["grader"] == {"model": "testdouble/j", "config": {"temperature": 0.5}, "model_args": {"seed": 3}}
    assert specs["page_reader"] == {"model": "openai/gpt-4o-mini", "config": {}, "model_args": {}}
    assert role_arg("grader", specs["grader"]) == 'grader={"model": "testdouble/j", "temperature": 0.5, "model_args": {"seed": 3}}'
    for argv, message in [
        (["--judge", "a/b", "--model-role", "grader=c/d"], "not both"),
        (["--judge", "a/b,c/d"], "a panel"),
        (["--judge", "{model: a/b, temprature: 0}"], "temprature"),
        (["--model-role", "page_reader"], "ROLE=MODEL"),
    ]:
        with pytest.raises(ValueError, match=message):
            role_specs(_args("--task", "afm100", "--model", "m/x", *argv), domain_of("afm100"))


def test_help_shows_the_web_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    with pytest.raises(SystemExit):
        main(["tfgrpo", "train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for part in ("web tasks 3, the paper's G", "web tasks 50", "web tasks search", "--judge MODEL",
                 "policy model at temperature 0", "--prompt-set"):
        assert part in text, part


def test_judge_that_cannot_be_created_or_reached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """No key: one line before anything starts (exit 2, no run folder). A judge that errors on
    every call: the first step stops the run (exit 1) with the reason and the resume command."""
    from harness.cli import main

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("SERPER_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    base = ["tfgrpo", "train", "--task", "afm100", "--data", str(AFM), "-T", "n=1", "--model", "testdouble/oracle",
            "--group-size", "2", "--no-progress", "--out", "lib.json", "-S", "serper_url=http://127.0.0.1:9/"]
    assert main([*base, "--judge", "openai/gpt-4o"]) == 2
    err = capsys.readouterr().err
    assert "cannot create the judge (model role grader) openai/gpt-4o" in err and "OPENAI_API_KEY" in err
    assert len(err.strip().splitlines()) == 1 and not list(tmp_path.iterdir())
    # no search key: every search would fail, the "web" rollouts would be closed-book; refused at the start
    assert main(base) == 2
    assert "SERPER_API_KEY is not set, so every search of the rollouts would fail" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
    monkeypatch.setenv("SERPER_API_KEY", "not-a-key")  # searches fail (nothing listens there): observations
    unreachable = "{model: openai-api/nowhere/judge, model_args: {base_url: 'http://127.0.0.1:9/v1', api_key: x}}"
    assert main([*base, "--judge", unreachable, "--max-retries", "0", "--retry-on-error", "0"]) == 1
    err = capsys.readouterr().err
    assert "step 1: 2 of 2 rollouts failed (2x error: RetryError(<Future state=finished raised APIConnectionError>))" in err
    assert "resume with: cd " in err
    assert not (tmp_path / "lib.run" / "step_0" / "rollouts.json").exists() and not (tmp_path / "lib.json").exists()
    # a judge that answers without a grade: its zeros are not wrong answers, the run stops too
    silent = write_jsonl(tmp_path / "silent.jsonl", [{"content": "The answer looks fine to me."}])
    assert main([*base, "--run-dir", "silent.run", "--judge", f"{{model: testdouble/j, model_args: {{script: {silent}}}}}"]) == 1
    assert "the judge's reply held no grade for 2 of 2 rollouts" in capsys.readouterr().err


# --------------------------------------------------------------------------- the proof: afm100 end to end, offline


def _judge_script(tmp: Path) -> str:
    """TEST DOUBLE judge (script mode): CORRECT iff the student answer is the row's gold answer."""
    lines = []
    for row in map(json.loads, AFM.read_text().splitlines()):
        for answer in row["extra_info"]["answer"]:
            lines.append({"content": "EXPLANATION: matches the gold answer.\nGRADE: CORRECT", "match": f"STUDENT ANSWER: {answer}"})
    lines.append({"content": "EXPLANATION: does not match the gold answer.\nGRADE: INCORRECT"})
    return str(write_jsonl(tmp / "judge.jsonl", lines))


def test_afm100_training_end_to_end_then_evaluation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """``harness tfgrpo train --task afm100`` with the web defaults (search agent, G=3, web
    prompt set) against the local site and Serper stand-in, then the printed ``inspect eval``
    command, run from another folder, renders the web injection template."""
    from inspect_ai.log import list_eval_logs, read_eval_log

    from harness.cli import main
    from local_site import ANSWER, SERPER_KEY, serve_site
    from tests.test_tfgrpo_cli import _inspect, _printed

    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir(), elsewhere.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("SERPER_API_KEY", SERPER_KEY)
    judge = f"{{model: testdouble/judge, model_args: {{script: {_judge_script(tmp_path)}}}}}"
    with serve_site() as (root, hits):
        rc = main(["tfgrpo", "train", "--task", "afm100", "--data", str(AFM), "-T", "n=2", "--model", "testdouble/oracle",
                   "-M", "p_correct=0.5", "--judge", judge, "--epochs", "2", "--no-progress", "--out", "web.json",
                   "-S", f"serper_url={root}", "-S", f"reader_url={root}jina/", "-S", "allow_private_hosts=true",
                   "-S", "timeout=10"])
        printed = capsys.readouterr().out
        assert rc == 0, printed
        lib = ExperienceLibrary.load(work / "web.json")
        assert lib.provenance and lib.provenance.test_double
        assert (lib.provenance.prompt_set, lib.provenance.solver, lib.provenance.group_size) == (P.WEB_PROMPT_SET, "search", 3)
        assert lib.provenance.prompt_set_sha256 == P.WEB.sha256
        assert lib.provenance.model_roles["grader"]["model"] == "testdouble/judge"
        # the agent searched (Serper stand-in) and read pages through the reader stand-in
        assert any(h.startswith("search:") for h in hits) and any(h.startswith("/jina/") for h in hits)
        assert [s.mean_tool_calls for s in lib.steps] == [2.0, 2.0] and all(s.failed_rollouts == 0 for s in lib.steps)
        assert 0 < (lib.steps[0].mean_reward or 0) < 1  # the judge's verdicts vary: groups to learn from
        assert lib.experiences and all(NAME_DESCRIPTION.match(e.text) and "[TEST DOUBLE]" in e.text for e in lib.experiences)
        assert set(lib.usage) == {"rollout", "summary", "critique", "update", "batch"}
        # step 2's rollouts saw step 1's library in the web template
        second = read_eval_log(lib.steps[1].rollout_log or "")
        assert second.eval.model_roles and second.eval.model_roles["grader"].model == "testdouble/judge"
        first_user = next(m.text for m in second.samples[0].messages if m.role == "user")
        assert first_user.startswith("**Task:**") and "**ACCUMULATED EXPERIENCES:**\n[G0]. " in first_user
        # the printed evaluate command, run as printed (plus local data) from another folder
        (command,) = _printed(printed, "evaluate: ")
        assert "harness/webwalkerqa" in command and "-T base_solver=search" in command and "--model-role" in command
        data = write_jsonl(tmp_path / "ww.jsonl", [{
            "question": "Who won the Golden Walrus Prize in 2024?", "answer": ANSWER.split(" went to ")[1].split(" on ")[0],
            "root_url": root, "info": {"type": "single_source", "difficulty_level": "easy", "domain": "org", "lang": "en"}}])
        monkeypatch.chdir(elsewhere)
        monkeypatch.setenv("PWD", str(elsewhere))
        _inspect(command, "-T", f"data={data}", "--epochs", "1", "--log-dir", str(tmp_path / "eval-logs"))
    (info,) = list_eval_logs(str(tmp_path / "eval-logs"))
    log = read_eval_log(info)
    assert log.status == "success"
    meta = log.eval.metadata or {}
    assert (meta["setting"], meta["experience_injection"], meta["experiences_prompt_set"]) == ("search", "web", P.WEB_PROMPT_SET)
    user = next(m.text for m in log.samples[0].messages if m.role == "user")
    assert user.startswith("**Task:**") and user.endswith("**CURRENT PROBLEM:**\nWho won the Golden Walrus Prize in 2024?")
    assert user.index("**ACCUMULATED EXPERIENCES:**\n" + ExperienceLibrary.load(work / "web.json").render()) > 0
    assert shlex.split(command)[0] == "inspect"


def test_roles_in_the_run_folder_and_resuming_older_runs(tmp_path: Path) -> None:
    """A judge's key never reaches config.json (a hash in the identity: a changed key is still
    a changed setting); a run started before roles were recorded resumes when it had none."""
    roles = {"grader": {"model": "mockllm/model", "config": {}, "model_args": {"api_key": "sk-judge"}}}
    model = get_model("mockllm/model", custom_outputs=WebScript(), memoize=False)
    trainer = opt.Trainer(_web_config(tmp_path, model_roles=roles), model)
    trainer.validate()
    trainer.open_run()
    config_file = tmp_path / "lib.run" / "config.json"
    assert "sk-judge" not in config_file.read_text()
    assert trainer.provenance(["a"]).model_roles["grader"]["model_args"] == {"api_key": "<redacted>"}
    # an older run: no model_roles in its identity, a step started
    older = _web_config(tmp_path)
    saved = json.loads(config_file.read_text())
    saved["identity"] = {k: v for k, v in older.identity().items() if k != "model_roles"}
    config_file.write_text(json.dumps(saved))
    (tmp_path / "lib.run" / "step_0").mkdir()
    ExperienceLibrary().save(tmp_path / "lib.run" / "step_0" / "library.json")
    opt.Trainer(older, model, resume=True).open_run()
    with pytest.raises(ValueError, match="model_roles"):
        opt.Trainer(_web_config(tmp_path, model_roles=roles), model, resume=True).open_run()

"""``harness tfgrpo``: learn an experience library (``train``) or write one directly
(``direct-experiences``, the paper's ablation baseline).

Evaluate a library on any task with
``inspect eval harness/aime2024 --model M -T solver=tfgrpo -T experiences=LIB.json [-T base_solver=react]``
(``train`` prints that command for its task when it ends).

Ctrl-C stops a run cleanly (exit 130) and prints the exact command that resumes it.

Web tasks (afm100, webwalkerqa) get the paper's web defaults: the web prompt set, the
``search`` agent for the rollouts, G=3, batches of 50, and the policy model at temperature
0 as the judge (``--judge`` / ``--model-role`` bind others).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.tfgrpo import ROLLOUT_MAX_TOKENS

EXIT_INTERRUPTED = 130

_TRAIN_PARSER: argparse.ArgumentParser | None = None
"""The ``train`` subparser (to rebuild a run's exact command line for ``--resume``)."""


def _at_least(low: int | float, kind: type = int) -> Any:
    """argparse type: a number >= ``low`` (argparse then reports a one-line usage error)."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {'number' if kind is float else 'whole number'}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low} (got {text})")
        return value

    return parse


def _kv(items: list[str] | None, flag: str) -> dict[str, Any]:
    import yaml

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag} expects key=value (got {item!r})")
        out[key.strip()] = yaml.safe_load(value)
    return out


@dataclass(frozen=True)
class Domain:
    """Training defaults of a kind of task (each can be overridden by its flag)."""

    prompt_set: str
    """``math`` or ``web`` (:data:`harness.tfgrpo.prompts.PROMPT_SET_ALIASES`)."""
    solver: str
    group_size: int
    batch_size: int | None
    """None = the whole training set."""
    policy_judge: bool
    """Bind the ``grader`` role to the policy model at temperature 0 unless --judge says otherwise."""


DOMAINS: dict[str, Domain] = {
    # [B] math: one batch of the whole set (DAPO-100), G=5, no judge (math_verify)
    "math": Domain(prompt_set="math", solver="direct", group_size=5, batch_size=None, policy_judge=False),
    # the paper: G=3 on AFM-100 (its code's README says 5); batch 50 as [M] configs/practice/web_search.yaml
    # (the paper gives none); [B]'s judge is the policy LLM at temperature 0
    "web": Domain(prompt_set="web", solver="search", group_size=3, batch_size=50, policy_judge=True),
}
TASK_DOMAINS = {"afm100": "web", "webwalkerqa": "web"}
"""Task -> domain; any other task is ``math`` (the generic math prompt set serves countdown, apigen)."""

JUDGE_ROLE = "grader"
"""The model role the web judge (scorers/web_judge.py) grades with."""


def domain_of(task: str) -> Domain:
    return DOMAINS[TASK_DOMAINS.get(task, "math")]


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", required=True, help="task name from harness/_registry.py (dapo100, countdown, apigen, afm100, ...)")
    p.add_argument("--model", required=True, help="inspect model, e.g. openai/deepseek-chat or testdouble/oracle")
    p.add_argument("-M", "--model-arg", action="append", metavar="KEY=VALUE", help="model argument (repeatable), e.g. -M latency=1")
    p.add_argument("--data", help="local data file for the task (-T data=), e.g. a DAPO-Math-17k sample")
    p.add_argument("-T", "--task-arg", action="append", metavar="KEY=VALUE", help="further task argument (repeatable), e.g. -T n=100")
    p.add_argument("--out", required=True, help="experience library JSON to write")
    p.add_argument("--seed", type=int, default=42, help="shuffling / example seed (default 42, as [B])")
    p.add_argument("--retries", type=_at_least(0), default=3, help="re-asks of a stage call whose output is malformed (default 3)")
    p.add_argument("--stage-temperature", type=_at_least(0.0, float), default=0.0, help="temperature of the experience stages (default 0, as [B])")
    p.add_argument("--stage-max-tokens", type=_at_least(1), default=16384, help="max tokens of a stage answer (default 16384, as [B])")
    p.add_argument("--model-cost-config", help="YAML/JSON {model: {input: $/Mtok, output: $/Mtok, ...}} (inspect's ModelCost)")
    p.add_argument("--prompt-set", help="stage prompts: math or web (default: web for afm100 / webwalkerqa, else math)")


def register(sub: argparse._SubParsersAction) -> None:
    top = sub.add_parser("tfgrpo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cmds = top.add_subparsers(dest="tfgrpo_command", metavar="SUBCOMMAND")

    t = cmds.add_parser("train", help="learn an experience library from grouped rollouts",
                        description="Learn an experience library. Paper defaults: 3 epochs, temperature 0.7; math "
                                    "tasks G=5, batch = whole training set, closed-book rollouts; web tasks (afm100, "
                                    "webwalkerqa) G=3, batch 50, the search agent, the web prompt set, judged by the "
                                    "policy model at temperature 0.")
    _common(t)
    t.add_argument("--epochs", type=_at_least(1), default=3, help="passes over the training set (default 3)")
    t.add_argument("--group-size", type=_at_least(1),
                   help="rollouts per query, G (default 5; web tasks 3, the paper's G; 1 = the no-group ablation)")
    t.add_argument("--batch-size", type=_at_least(1),
                   help="queries per step (default: the whole training set; web tasks 50, as youtu-agent's web_search.yaml)")
    t.add_argument("--solver", help="base solver of the rollouts: direct, react, search, ... (default direct; web tasks search, "
                                    "the paper's web agent)")
    t.add_argument("--judge", metavar="MODEL",
                   help="judge of the rollouts (model role grader), as --model-role takes it: a model name or "
                        "'{model: NAME, temperature: 0, model_args: {...}}' (default for web tasks: the --model "
                        "with its -M args at temperature 0, as the paper's code)")
    t.add_argument("--model-role", action="append", metavar="ROLE=MODEL",
                   help="bind a model role in the rollouts (repeatable), as inspect eval --model-role: e.g. "
                        "page_reader=openai/gpt-4o-mini (unbound roles use the solver's default)")
    t.add_argument("-S", "--solver-arg", action="append", metavar="KEY=VALUE", help="base solver option (repeatable), e.g. -S max_turns=20")
    t.add_argument("--placement", choices=["user", "system"], default="user", help="where the library goes in rollout prompts (default user)")
    t.add_argument("--temperature", type=_at_least(0.0, float), default=0.7, help="rollout temperature (default 0.7)")
    t.add_argument("--max-tokens", type=_at_least(1), default=ROLLOUT_MAX_TOKENS,
                   help=f"rollout max tokens (default {ROLLOUT_MAX_TOKENS}, as [B]; recorded in the library)")
    t.add_argument("--no-ground-truth", action="store_true", help="ablation: stages see neither grades nor answers; no group filter")
    t.add_argument("--max-operations", type=_at_least(1), default=1,
                   help="operations per group advantage (default 1, as [B]; math prompt set only: the web critique "
                        "gives 2-3 principles, as [B])")
    t.add_argument("--max-connections", type=_at_least(1), help="concurrent model calls (default: the provider's)")
    t.add_argument("--timeout", type=_at_least(1), help="seconds before a model request is abandoned and retried (inspect's timeout)")
    t.add_argument("--max-retries", type=_at_least(0), help="retries of a failed model request (inspect's max_retries)")
    t.add_argument(
        "--retry-on-error", type=_at_least(0), default=3,
        help="re-runs of a rollout sample that errors (e.g. a malformed response) before it scores 0 (default 3)",
    )
    t.add_argument("--run-dir", help="checkpoint folder (default: <out without .json>.run next to --out)")
    t.add_argument("--resume", action="store_true", help="continue the run in --run-dir, redoing only unfinished work")
    t.add_argument("--plot", help="learning-curve PNG (default: <out without .json>.png)")
    t.add_argument("--no-progress", action="store_true", help="plain progress lines instead of the live display")
    t.set_defaults(func=run_train)
    global _TRAIN_PARSER
    _TRAIN_PARSER = t

    d = cmds.add_parser("direct-experiences", help="ablation: the LLM writes N experiences with no rollouts",
                        description="The paper's 'directly generated experiences' baseline: one call writes as many "
                                    "experiences as a learned library has (--like) or --count.")
    _common(d)
    d.add_argument("--count", type=_at_least(1), help="number of experiences to write")
    d.add_argument("--like", help="a learned library: write as many experiences as it holds")
    d.add_argument("--examples", type=_at_least(1), default=5, help="training problems shown as examples of the domain (default 5)")
    d.set_defaults(func=run_direct)
    top.set_defaults(func=lambda args: (top.print_help(), 0)[1])


def apply_cost_config(path: str | None) -> None:
    """Prices for inspect's cost accounting (also for models not in its database)."""
    if not path:
        return
    import yaml
    from inspect_ai.model import ModelCost
    from inspect_ai.model._model_data.model_data import ModelInfo
    from inspect_ai.model._model_info import set_model_cost, set_model_info

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of model name -> prices")
    for name, cost in data.items():
        price = ModelCost(**cost)
        try:
            set_model_cost(name, price)
        except ValueError:
            set_model_info(name, ModelInfo(cost=price))


def _model(args: argparse.Namespace) -> Any:
    from inspect_ai.model import get_model

    import harness._registry  # noqa: F401  (registers testdouble/)

    return get_model(args.model, **_kv(args.model_arg, "-M"))


def role_specs(args: argparse.Namespace, domain: Domain) -> dict[str, dict[str, Any]]:
    """``--model-role`` / ``--judge`` as role specs (``{"model", "config", "model_args"}``),
    read as ``inspect eval --model-role`` reads them; for web tasks without a judge, the
    policy model (with its ``-M`` args) at temperature 0, as [B] judges."""
    from inspect_ai._cli.util import parse_cli_args
    from inspect_ai.model import GenerateConfig
    from pydantic import ValidationError

    items = list(args.model_role or [])
    for item in items:
        if "=" not in item or not item.split("=", 1)[0].strip():
            raise ValueError(f"--model-role expects ROLE=MODEL (got {item!r})")
    raw = parse_cli_args(tuple(items), force_str=False) if items else {}
    if args.judge is not None:
        if JUDGE_ROLE in raw:
            raise ValueError(f"give the judge once: --judge MODEL or --model-role {JUDGE_ROLE}=MODEL, not both")
        raw[JUDGE_ROLE] = parse_cli_args((f"{JUDGE_ROLE}={args.judge}",), force_str=False)[JUDGE_ROLE]
    specs: dict[str, dict[str, Any]] = {}
    for role, value in raw.items():
        flag = "--judge" if role == JUDGE_ROLE and args.judge is not None else f"--model-role {role}="
        if isinstance(value, str) and value.strip():
            specs[role] = {"model": value.strip(), "config": {}, "model_args": {}}
            continue
        if not isinstance(value, dict) or not isinstance(value.get("model"), str):
            raise ValueError(f"{flag}: expected a model name or {{model: NAME, ...}} (a panel of several models "
                             f"cannot judge rollouts), got {str(value)[:80]!r}")
        config = {k: v for k, v in value.items() if k not in ("model", "model_args")}
        model_args = value.get("model_args") or {}
        if not isinstance(model_args, dict):
            raise ValueError(f"{flag}: model_args must be a mapping")
        try:
            GenerateConfig(**config)
        except ValidationError as ex:
            raise ValueError(f"{flag}: {' '.join(str(ex).split())[:200]}") from None
        specs[role] = {"model": value["model"], "config": config, "model_args": model_args}
    if domain.policy_judge and JUDGE_ROLE not in specs:
        specs[JUDGE_ROLE] = {"model": args.model, "config": {"temperature": 0.0}, "model_args": _kv(args.model_arg, "-M")}
    return specs


def create_roles(specs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The role models, created now: a judge that cannot be created (no key, unknown provider)
    stops the run in one line before anything is written or any rollout is made."""
    from harness.roles import _one_line, api_key_env
    from harness.tfgrpo.optimizer import role_model

    roles = {}
    for role, spec in specs.items():
        try:
            roles[role] = role_model(spec)
        except Exception as ex:
            reason = _one_line(getattr(ex, "message", None) or ex)[:300].rstrip(". ")
            which = "the judge (model role grader)" if role == JUDGE_ROLE else f"model role {role}"
            raise ValueError(
                f"cannot create {which} {spec['model']}: {reason}. Pass another with "
                f"{'--judge MODEL' if role == JUDGE_ROLE else f'--model-role {role}=MODEL'}, "
                f"or set {api_key_env(str(spec['model']))}."
            ) from None
    return roles


def role_arg(role: str, spec: dict[str, Any]) -> str:
    """A role spec as ``inspect eval --model-role`` takes it."""
    if not spec.get("config") and not spec.get("model_args"):
        return f"{role}={spec['model']}"
    value = {"model": spec["model"], **spec.get("config", {})}
    if spec.get("model_args"):
        value["model_args"] = spec["model_args"]
    return f"{role}={json.dumps(value)}"


def _data_path(data: str | None) -> str | None:
    """``--data`` as an absolute path when it names a file (the run's identity and provenance
    then do not depend on the folder a resume is started from); else as given."""
    if data is None:
        return None
    from harness.datasets import user_path

    p = user_path(data)
    return str(p.resolve()) if p.is_file() else data


def command_line(parser: argparse.ArgumentParser, args: argparse.Namespace, *extra: str) -> str:
    """The command that reproduces ``args`` (every option that differs from its default), run
    from the current folder, so relative paths mean what they meant."""
    parts = ["harness", *parser.prog.split()[1:]]
    for action in parser._actions:
        if not action.option_strings or action.dest in ("help", "resume"):
            continue
        value = getattr(args, action.dest, None)
        if value is None or (value == action.default and not action.required):
            continue
        flag = action.option_strings[0]
        if action.nargs == 0:  # store_true
            parts.append(flag)
        elif isinstance(value, list):  # repeatable (-M, -T, -S)
            for item in value:
                parts += [flag, str(item)]
        else:
            parts += [flag, str(value)]
    return f"cd {shlex.quote(os.getcwd())} && {shlex.join([*parts, *extra])}"


@dataclass(frozen=True)
class EvalTarget:
    """A held-out task that a library learned on a training task is evaluated on (the paper's tables)."""

    task: str
    carry: tuple[str, ...] = ()
    """Training task arguments that mean the same for this task."""
    fixed: dict[str, Any] = field(default_factory=dict)
    """Task arguments the evaluation needs (a carried argument overrides them)."""


HELD_OUT: dict[str, tuple[EvalTarget, ...]] = {
    "dapo100": (EvalTarget("aime2024"), EvalTarget("aime2025")),
    "afm100": (EvalTarget("webwalkerqa", carry=("setting", "judge_parsing"), fixed={"setting": "search"}),),
}
"""Training task -> where the paper evaluates what was learned on it. Any other task is
evaluated on itself (with the training data and task arguments)."""


def _value(value: Any) -> str:
    """A -T / -M value as inspect reads it back (YAML)."""
    return value if isinstance(value, str) else json.dumps(value)


def evaluate_commands(cfg: Any, library: str) -> list[str]:
    """``inspect eval`` command lines that evaluate the library just trained, as pasteable
    from any folder: the task by its registered name, the absolute library path, the model
    and its arguments, the base solver and its options."""
    lib = str(Path(library).expanduser().resolve())
    targets = HELD_OUT.get(cfg.task)
    commands = []
    for target in targets or (EvalTarget(cfg.task),):
        parts = ["inspect", "eval", f"harness/{target.task}", "--model", cfg.model]
        for k, v in cfg.model_args.items():
            parts += ["-M", f"{k}={_value(v)}"]
        for role, spec in cfg.model_roles.items():  # the judge (and readers) the library was learned with
            parts += ["--model-role", role_arg(role, spec)]
        task_args: dict[str, Any] = dict(target.fixed)
        if targets is None:  # the training task itself: same data and arguments
            if cfg.data is not None:
                task_args["data"] = cfg.data
            task_args.update(cfg.task_args)
        else:
            task_args.update({k: v for k, v in cfg.task_args.items() if k in target.carry})
        task_args.update({"solver": "tfgrpo", "experiences": lib, "base_solver": cfg.solver})
        if cfg.placement != "user":
            task_args["placement"] = cfg.placement
        task_args.update(cfg.solver_args)
        for k, v in task_args.items():
            parts += ["-T", f"{k}={_value(v)}"]
        commands.append(shlex.join(parts))
    return commands


def _prompt_set(name: str | None, domain: Domain) -> str:
    """``--prompt-set`` (math, web or a set's full name) as the set's name; default the domain's."""
    from harness.tfgrpo.prompts import get_prompt_set

    return get_prompt_set(name or domain.prompt_set).name


def run_train(args: argparse.Namespace) -> int:
    assert _TRAIN_PARSER is not None
    resume = command_line(_TRAIN_PARSER, args, "--resume")
    try:
        return _train(args, resume)
    except KeyboardInterrupt:  # Ctrl-C, at any point (nothing answered before it is lost)
        print(f"interrupted, resume with: {resume}", file=sys.stderr)
        return EXIT_INTERRUPTED


def _train(args: argparse.Namespace, resume: str) -> int:
    from inspect_ai.util._display import init_display_type
    from inspect_ai._util._async import run_coroutine

    apply_cost_config(args.model_cost_config)
    # the model first: creating it runs inspect's hook start-up, which would print a "hooks
    # enabled: 0" banner if the (still disabled) training hooks below were registered already
    model = _model(args)

    from harness.tfgrpo.optimizer import RolloutsIncomplete, TrainConfig, Trainer
    from harness.tfgrpo.progress import (
        TrainProgress,
        failed_rollout_warnings,
        learning_curve,
        step_table,
        usage_table,
    )

    task_args = _kv(args.task_arg, "-T")
    if "data" in task_args:
        if args.data is not None:
            raise ValueError("give the training data once: --data PATH or -T data=PATH, not both")
        args.data = str(task_args.pop("data"))
    domain = domain_of(args.task)
    specs = role_specs(args, domain)
    roles = create_roles(specs)
    cfg = TrainConfig(
        task=args.task,
        model=args.model,
        model_args=_kv(args.model_arg, "-M"),
        data=_data_path(args.data),
        task_args=task_args,
        epochs=args.epochs,
        group_size=args.group_size or domain.group_size,
        batch_size=args.batch_size or domain.batch_size,
        solver=args.solver or domain.solver,
        solver_args=_kv(args.solver_arg, "-S"),
        prompt_set=_prompt_set(args.prompt_set, domain),
        model_roles=specs,
        placement=args.placement,
        temperature=args.temperature,
        stage_temperature=args.stage_temperature,
        stage_max_tokens=args.stage_max_tokens,
        max_tokens=args.max_tokens,
        ground_truth=not args.no_ground_truth,
        max_operations=args.max_operations,
        retries=args.retries,
        seed=args.seed,
        max_connections=args.max_connections,
        timeout=args.timeout,
        max_retries=args.max_retries,
        retry_on_error=args.retry_on_error,
        out=args.out,
        run_dir=args.run_dir,
    )
    init_display_type("none")
    try:
        with TrainProgress(live=not args.no_progress and sys.stdout.isatty()) as progress:
            trainer = Trainer(cfg, model, progress=progress, resume=args.resume, roles=roles)
            library = run_coroutine(trainer.train())
    except RolloutsIncomplete as ex:
        print(f"harness tfgrpo train: {ex}. Fix the cause, then resume with: {resume}", file=sys.stderr)
        return 1
    plot = args.plot or str(Path(args.out).with_suffix(".png"))
    double = "TEST DOUBLE (not a real model): " if library.provenance and library.provenance.test_double else ""
    learning_curve(library.steps, plot, f"{double}TF-GRPO {cfg.task} / {cfg.model} / {cfg.solver}, G={cfg.group_size}")
    if library.provenance and library.provenance.test_double:
        print("TEST DOUBLE run (not a real model): the numbers below only exercise the plumbing.")
    print(step_table(library.steps))
    print()
    print(usage_table(library.usage))
    for warning in failed_rollout_warnings(library.steps):
        print(warning, file=sys.stderr)
    skipped = [r for s in library.steps for r in s.skipped]
    if skipped:
        print(f"\n{len(skipped)} rollouts, LLM outputs or operations skipped (reasons in the library's steps[].skipped):")
        for r in skipped[:10]:
            print(f"  - {r}")
    print(f"\nlibrary: {args.out} ({len(library.experiences)} experiences)\nplot: {plot}\ncheckpoints: {cfg.resolved_run_dir()}")
    for command in evaluate_commands(cfg, args.out):
        print(f"evaluate: {command}")
    if cfg.task not in HELD_OUT:
        print(f"  (the training task itself: pass held-out data to {cfg.task}, or this scores the training samples)")
    return 0


def run_direct(args: argparse.Namespace) -> int:
    from inspect_ai.util._display import init_display_type
    from inspect_ai._util._async import run_coroutine

    from harness.experience import ExperienceLibrary
    from harness.tfgrpo.optimizer import direct_experiences
    from harness.tfgrpo.progress import usage_table

    if (args.count is None) == (args.like is None):
        raise ValueError("give exactly one of --count N or --like LIBRARY.json")
    count = args.count if args.count is not None else len(ExperienceLibrary.load(args.like).experiences)
    if count < 1:
        raise ValueError("the number of experiences must be >= 1")
    apply_cost_config(args.model_cost_config)
    model = _model(args)
    init_display_type("none")
    library = run_coroutine(
        direct_experiences(
            model,
            task=args.task,
            data=args.data,
            task_args=_kv(args.task_arg, "-T"),
            count=count,
            examples=args.examples,
            seed=args.seed,
            retries=args.retries,
            out=args.out,
            stage_temperature=args.stage_temperature,
            stage_max_tokens=args.stage_max_tokens,
            model_args=_kv(args.model_arg, "-M"),
            prompt_set=_prompt_set(args.prompt_set, domain_of(args.task)),
        )
    )
    print(usage_table(library.usage))
    for reason in library.steps[0].skipped if library.steps else []:
        print(f"  skipped: {reason}")
    print(f"\nlibrary: {args.out} ({len(library.experiences)} of {count} experiences)")
    print(json.dumps(library.by_id(), indent=1, ensure_ascii=False)[:2000])
    return 0

"""``harness tfgrpo``: learn an experience library (``train``) or write one directly
(``direct-experiences``, the paper's ablation baseline).

Evaluate a library on any task with
``inspect eval tasks/aime.py -T solver=tfgrpo -T experiences=LIB.json [-T base_solver=react]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _kv(items: list[str] | None, flag: str) -> dict[str, Any]:
    import yaml

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag} expects key=value (got {item!r})")
        out[key.strip()] = yaml.safe_load(value)
    return out


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", required=True, help="task name from harness/_registry.py (dapo100, countdown, apigen, afm100, ...)")
    p.add_argument("--model", required=True, help="inspect model, e.g. openai/deepseek-chat or testdouble/oracle")
    p.add_argument("-M", "--model-arg", action="append", metavar="KEY=VALUE", help="model argument (repeatable), e.g. -M latency=1")
    p.add_argument("--data", help="local data file for the task (-T data=), e.g. a DAPO-Math-17k sample")
    p.add_argument("-T", "--task-arg", action="append", metavar="KEY=VALUE", help="further task argument (repeatable), e.g. -T n=100")
    p.add_argument("--out", required=True, help="experience library JSON to write")
    p.add_argument("--seed", type=int, default=42, help="shuffling / example seed (default 42, as [B])")
    p.add_argument("--retries", type=int, default=3, help="re-asks of a stage call whose output is malformed (default 3)")
    p.add_argument("--stage-temperature", type=float, default=0.0, help="temperature of the experience stages (default 0, as [B])")
    p.add_argument("--stage-max-tokens", type=int, default=16384, help="max tokens of a stage answer (default 16384)")
    p.add_argument("--model-cost-config", help="YAML/JSON {model: {input: $/Mtok, output: $/Mtok, ...}} (inspect's ModelCost)")


def register(sub: argparse._SubParsersAction) -> None:
    top = sub.add_parser("tfgrpo", help="Training-Free GRPO: train an experience library, or write one directly",
                         description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cmds = top.add_subparsers(dest="tfgrpo_command", metavar="SUBCOMMAND")

    t = cmds.add_parser("train", help="learn an experience library from grouped rollouts",
                        description="Learn an experience library (paper defaults: 3 epochs, G=5, temperature 0.7, "
                                    "batch = whole training set).")
    _common(t)
    t.add_argument("--epochs", type=int, default=3, help="passes over the training set (default 3)")
    t.add_argument("--group-size", type=int, default=5, help="rollouts per query, G (default 5; 1 = the no-group ablation)")
    t.add_argument("--batch-size", type=int, help="queries per step (default: the whole training set)")
    t.add_argument("--solver", default="direct", help="base solver of the rollouts: direct or react (default direct)")
    t.add_argument("-S", "--solver-arg", action="append", metavar="KEY=VALUE", help="base solver option (repeatable), e.g. -S max_turns=20")
    t.add_argument("--placement", choices=["user", "system"], default="user", help="where the library goes in rollout prompts (default user)")
    t.add_argument("--temperature", type=float, default=0.7, help="rollout temperature (default 0.7)")
    t.add_argument("--max-tokens", type=int, help="rollout max tokens (default: the task's / provider's)")
    t.add_argument("--no-ground-truth", action="store_true", help="ablation: stages see neither grades nor answers; no group filter")
    t.add_argument("--max-operations", type=int, default=1, help="operations per group advantage (default 1, as [B])")
    t.add_argument("--max-connections", type=int, help="concurrent model calls (default: the provider's)")
    t.add_argument("--run-dir", help="checkpoint folder (default: <out without .json>.run next to --out)")
    t.add_argument("--resume", action="store_true", help="continue the run in --run-dir, redoing only unfinished work")
    t.add_argument("--plot", help="learning-curve PNG (default: <out without .json>.png)")
    t.add_argument("--no-progress", action="store_true", help="plain progress lines instead of the live display")
    t.set_defaults(func=run_train)

    d = cmds.add_parser("direct-experiences", help="ablation: the LLM writes N experiences with no rollouts",
                        description="The paper's 'directly generated experiences' baseline: one call writes as many "
                                    "experiences as a learned library has (--like) or --count.")
    _common(d)
    d.add_argument("--count", type=int, help="number of experiences to write")
    d.add_argument("--like", help="a learned library: write as many experiences as it holds")
    d.add_argument("--examples", type=int, default=5, help="training problems shown as examples of the domain (default 5)")
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


def run_train(args: argparse.Namespace) -> int:
    from inspect_ai.util._display import init_display_type
    from inspect_ai._util._async import run_coroutine

    from harness.tfgrpo.optimizer import TrainConfig, Trainer
    from harness.tfgrpo.progress import TrainProgress, learning_curve, step_table, usage_table

    apply_cost_config(args.model_cost_config)
    cfg = TrainConfig(
        task=args.task,
        model=args.model,
        model_args=_kv(args.model_arg, "-M"),
        data=args.data,
        task_args=_kv(args.task_arg, "-T"),
        epochs=args.epochs,
        group_size=args.group_size,
        batch_size=args.batch_size,
        solver=args.solver,
        solver_args=_kv(args.solver_arg, "-S"),
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
        out=args.out,
        run_dir=args.run_dir,
    )
    if cfg.epochs < 1 or cfg.group_size < 1 or (cfg.batch_size is not None and cfg.batch_size < 1):
        raise ValueError("--epochs, --group-size and --batch-size must be >= 1")
    model = _model(args)
    init_display_type("none")
    with TrainProgress(live=not args.no_progress and sys.stdout.isatty()) as progress:
        trainer = Trainer(cfg, model, progress=progress, resume=args.resume)
        library = run_coroutine(trainer.train())
    plot = args.plot or str(Path(args.out).with_suffix(".png"))
    double = "TEST DOUBLE (not a real model): " if library.provenance and library.provenance.test_double else ""
    learning_curve(library.steps, plot, f"{double}TF-GRPO {cfg.task} / {cfg.model} / {cfg.solver}, G={cfg.group_size}")
    if library.provenance and library.provenance.test_double:
        print("TEST DOUBLE run (not a real model): the numbers below only exercise the plumbing.")
    print(step_table(library.steps))
    print()
    print(usage_table(library.usage))
    skipped = [r for s in library.steps for r in s.skipped]
    if skipped:
        print(f"\n{len(skipped)} LLM outputs or operations skipped (reasons in the library's steps[].skipped):")
        for r in skipped[:10]:
            print(f"  - {r}")
    print(f"\nlibrary: {args.out} ({len(library.experiences)} experiences)\nplot: {plot}\ncheckpoints: {cfg.resolved_run_dir()}")
    print(f"evaluate: inspect eval tasks/aime.py -T solver=tfgrpo -T experiences={args.out} -T base_solver={cfg.solver}")
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
        )
    )
    print(usage_table(library.usage))
    for reason in library.steps[0].skipped if library.steps else []:
        print(f"  skipped: {reason}")
    print(f"\nlibrary: {args.out} ({len(library.experiences)} of {count} experiences)")
    print(json.dumps(library.by_id(), indent=1, ensure_ascii=False)[:2000])
    return 0

"""Live progress of a Training-Free GRPO run and the final per-step table / PNG."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any

from inspect_ai.hooks import Hooks, SampleEnd, hooks

from harness.experience import StageUsage, StepStats

_ACTIVE: "TrainProgress | None" = None


@hooks(name="tfgrpo_progress", description="Counts finished rollouts for `harness tfgrpo train`.")
class _RolloutHook(Hooks):
    def enabled(self) -> bool:
        return _ACTIVE is not None

    async def on_sample_end(self, data: SampleEnd) -> None:
        if _ACTIVE is not None:
            from harness.tfgrpo.optimizer import count_tool_calls, sample_reward

            reward, _ = sample_reward(data.sample)
            _ACTIVE.rollout_done(reward, count_tool_calls(data.sample))


class TrainProgress:
    """Counters for the current step, shown as a live status line (or printed as plain lines)."""

    def __init__(self, live: bool = True, title: str = "Training-Free GRPO") -> None:
        self.title = title
        self.live_enabled = live
        self._last_draw = 0.0
        self._last_len = 0
        self.rows: list[StepStats] = []
        self._reset(0, 0, 0)

    def _reset(self, step: int, total: int, rollouts: int) -> None:
        self.step, self.total, self.rollouts_total = step, total, rollouts
        self.rollouts_done = 0
        self.rewards: list[float] = []
        self.tool_calls = 0
        self.groups = self.kept = self.summaries = self.advantages = self.proposed_ops = 0
        self.applied = 0
        self.pass_g: float | None = None
        self.tokens = 0
        self.cost: float | None = None
        self.what = "starting"
        self.started = time.monotonic()

    def __enter__(self) -> "TrainProgress":
        global _ACTIVE
        _ACTIVE = self
        return self

    def __exit__(self, *exc: Any) -> None:
        global _ACTIVE
        _ACTIVE = None
        if self.live_enabled and self._last_len:
            sys.stderr.write("\n")
            sys.stderr.flush()

    def _refresh(self, force: bool = False) -> None:
        """Rewrite the one-line status (stderr, carriage return, at most 4 times a second).

        Not a rich ``Live``: inspect runs its own display during the rollout evals and rich
        allows only one live display at a time.
        """
        if not self.live_enabled:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < 0.25:
            return
        self._last_draw = now
        line = self.status_line()
        width = shutil.get_terminal_size((120, 20)).columns - 1
        line = line[:width]
        sys.stderr.write("\r" + line + " " * max(0, self._last_len - len(line)))
        sys.stderr.flush()
        self._last_len = len(line)

    def _say(self, text: str) -> None:
        if not self.live_enabled:
            print(f"[tfgrpo] step {self.step + 1}/{self.total}: {text}", flush=True)

    # ---- events
    def note(self, text: str) -> None:
        """A one-off message (stderr, on its own line even under the live status line)."""
        if self.live_enabled and self._last_len:
            sys.stderr.write("\r" + " " * self._last_len + "\r")
            self._last_len = 0
        print(f"[tfgrpo] {text}", file=sys.stderr, flush=True)
        self._refresh(force=True)

    def start_step(self, step: int, total: int, rollouts: int) -> None:
        self._reset(step, total, rollouts)
        self._say(f"{rollouts} rollouts")
        self._refresh()

    def phase(self, text: str, **kw: Any) -> None:
        self.what = text
        self.groups = kw.get("groups", self.groups)
        self.kept = kw.get("kept", self.kept)
        self._say(text + (f" ({self.kept}/{self.groups} groups kept)" if "kept" in kw else ""))
        self._refresh(force=True)

    def rollout_done(self, reward: float, tool_calls: int) -> None:
        self.rollouts_done += 1
        self.rewards.append(reward)
        self.tool_calls += tool_calls
        self._refresh()

    def rollouts_loaded(self, rollouts: list[Any]) -> None:
        self.rollouts_done = len(rollouts)
        self.rewards = [r.reward for r in rollouts]
        self.tool_calls = sum(r.tool_calls for r in rollouts)
        by: dict[str, bool] = {}
        for r in rollouts:
            by[r.sample_id] = by.get(r.sample_id, False) or r.correct
        self.pass_g = sum(by.values()) / len(by) if by else None
        self._refresh()

    def usage(self, stage: str, usage: StageUsage) -> None:
        self.tokens += usage.total_tokens
        if usage.cost is not None:
            self.cost = (self.cost or 0.0) + usage.cost
        self._refresh()

    def summary_done(self) -> None:
        self.summaries += 1
        self._refresh()

    def advantage_done(self) -> None:
        self.advantages += 1
        self._refresh()

    def proposed(self, n: int) -> None:
        self.proposed_ops = n
        self._refresh()

    def step_done(self, stats: StepStats, resumed: bool = False, total: int | None = None) -> None:
        self.rows.append(stats)
        self.step = stats.step
        self.total = total or self.total
        if self.live_enabled:
            self._refresh(force=True)
            sys.stderr.write(
                "\r" + " " * self._last_len + "\r"
                + f"step {stats.step + 1}/{self.total}{' (checkpoint)' if resumed else ''}: "
                f"mean reward {_fmt(stats.mean_reward)}, Pass@G {_fmt(stats.pass_at_g)}, "
                f"kept {stats.groups_kept}/{stats.groups}, ops {stats.operations_applied}/{stats.operations_proposed}, "
                f"library {stats.library_size_after}{_failed(stats)}\n"
            )
            sys.stderr.flush()
            self._last_len = 0
            return
        if resumed:
            self._say("already done (checkpoint)")
        else:
            self._say(
                f"done: mean reward {_fmt(stats.mean_reward)}, Pass@G {_fmt(stats.pass_at_g)}, "
                f"{stats.operations_applied} operations applied, library {stats.library_size_after}{_failed(stats)}"
            )
        self._refresh()

    # ---- rendering
    def status_line(self) -> str:
        mean = sum(self.rewards) / len(self.rewards) if self.rewards else None
        cost = f"${self.cost:.4f}" if self.cost is not None else "$ n/a"
        return (
            f"TF-GRPO step {self.step + 1}/{self.total} [{self.what}] "
            f"rollouts {self.rollouts_done}/{self.rollouts_total} | kept {self.kept}/{self.groups} | "
            f"summaries {self.summaries} | advantages {self.advantages} | ops {self.proposed_ops} | "
            f"reward {_fmt(mean)} | Pass@G {_fmt(self.pass_g)} | "
            f"tool calls {self.tool_calls / max(1, self.rollouts_done):.2f} | tokens {self.tokens:,} | {cost}"
        )


def _failed(stats: StepStats) -> str:
    return f", {stats.failed_rollouts} FAILED rollouts" if stats.failed_rollouts else ""


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def step_table(steps: list[StepStats]) -> str:
    from tabulate import tabulate

    from harness.experience import sum_usage

    rows = []
    for s in steps:
        total = sum_usage(s.usage)
        rows.append(
            [
                s.step + 1,
                s.epoch + 1,
                s.queries,
                s.rollouts,
                s.failed_rollouts,
                _fmt(s.mean_reward),
                _fmt(s.pass_at_g),
                f"{s.mean_tool_calls:.2f}" if s.mean_tool_calls is not None else "-",
                f"{s.groups_kept}/{s.groups}",
                f"{s.operations_applied}/{s.operations_proposed}",
                f"{s.library_size_before}->{s.library_size_after}",
                len(s.skipped),
                f"{total.total_tokens:,}",
                f"{total.cost:.4f}" if total.cost is not None else "n/a",
                f"{s.wall_seconds:.1f}" if s.wall_seconds is not None else "-",
            ]
        )
    headers = ["step", "epoch", "queries", "rollouts", "failed", "mean reward", "Pass@G", "tool calls", "groups kept",
               "ops applied", "library", "skipped", "tokens", "$", "wall s"]
    return tabulate(rows, headers=headers, tablefmt="github")


def failed_rollout_warnings(steps: list[StepStats]) -> list[str]:
    """One warning line per step with failed rollouts (they are left out of the step's
    groups, mean reward and Pass@G)."""
    return [
        f"warning: step {s.step + 1}: {s.failed_rollouts} of {s.rollouts} rollouts failed (errored after their "
        "retries, or unscored); they are left out of its groups, mean reward and Pass@G (reasons in steps[].skipped)"
        for s in steps
        if s.failed_rollouts
    ]


def usage_table(usage: dict[str, StageUsage]) -> str:
    from tabulate import tabulate

    from harness.experience import sum_usage

    rows = [[k, u.calls, f"{u.input_tokens:,}", f"{u.output_tokens:,}", f"{u.cost:.4f}" if u.cost is not None else "n/a"] for k, u in usage.items()]
    total = sum_usage(usage)
    rows.append(["total", total.calls, f"{total.input_tokens:,}", f"{total.output_tokens:,}", f"{total.cost:.4f}" if total.cost is not None else "n/a"])
    return tabulate(rows, headers=["stage", "calls", "input tokens", "output tokens", "$"], tablefmt="github")


def learning_curve(steps: list[StepStats], path: str | Path, title: str) -> Path:
    """PNG with mean reward, Pass@G and mean tool calls per step (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [s.step + 1 for s in steps]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    series = [
        ("mean reward", [s.mean_reward for s in steps]),
        ("Pass@G", [s.pass_at_g for s in steps]),
        ("mean tool calls", [s.mean_tool_calls for s in steps]),
    ]
    for ax, (name, ys) in zip(axes, series):
        ax.plot(xs, [float("nan") if y is None else y for y in ys], marker="o")
        ax.set_title(name)
        ax.set_xlabel("step")
        ax.set_xticks(xs)
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, dpi=100)
    plt.close(fig)
    return p

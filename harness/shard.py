"""``harness eval TASK --workers N [inspect eval args...]``: one eval run by N inspect processes.

One inspect process tops out at a few dozen sample-epochs/s (inspect's own CPU per
sample-epoch: logging, events, HTTP), whatever ``--max-connections`` is. ``--workers N``
runs N ``inspect eval`` processes, each on its own share of the samples:

- the samples the run selects (after the task's args and ``--limit`` / ``--sample-id`` /
  ``--sample-shuffle``, exactly as inspect would select them) are dealt out round-robin:
  the i-th goes to shard i mod N. A shard runs all epochs of its samples. Each shard is
  ``inspect eval`` with the user's arguments plus ``--sample-id`` (its ids),
  ``--max-connections`` (its share of the total) and ``--metadata harness_shard=...``
  (group id, shard index and count, the whole run's sample count and ids digest);
- the plan (shards, their ids and commands) is written to
  ``<log dir>/.harness-shards/<group>/plan.json`` before any shard starts;
- one combined progress line (sample-epochs done / total, rate, errors); Ctrl-C
  interrupts every shard (each writes its log as ``cancelled``) and exits 130;
- reports (``leaderboard``, ``compare``, ``reproduce``, ``transfer``, ``cost``) merge the
  shard logs of a group into one run (:func:`harness.reports.runs.merge_shards`);
- ``harness eval --retry <log dir | group id>`` finishes an interrupted or crashed run:
  ``inspect eval-retry`` on each unfinished shard's log (only its missing samples run),
  or the shard's original command when it left no log.

``--workers 1`` (the default) is plain ``inspect eval`` with the same arguments. One inspect
process idles between waves of responses, so about two workers per core reach the machine's
bound (measured on 2 cores: 4 workers 0.97 of it, 2 workers 0.71-0.94; docs/performance.md).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

from pydantic import BaseModel, Field

from harness.logs import PLAN_DIR, SHARD_KEY, ShardInfo, sample_ids_digest

SPLIT_OPTIONS = ("--max-connections", "--max-samples", "--max-subprocesses", "--max-sandboxes")
"""Concurrency limits given as run totals and split between the shards."""

REPLACED_OPTIONS = ("--limit", "--sample-id", "--log-dir", "--display", *SPLIT_OPTIONS)
"""Options of the user's command each shard gets in its own form."""

UNSUPPORTED = {
    "run_config": "--run-config",
    "detach": "--detach",
    "json_output": "--json",
}
"""inspect eval options a sharded run cannot honour (each names itself in the error)."""

IN_PROCESS_PROVIDERS = ("hf", "vllm", "sglang", "transformer_lens", "llama-cpp-python")
"""Providers that load (or start) the model inside the eval process: once per shard."""

SAMPLE_ID_ARG_MAX = 100_000
"""Longest ``--sample-id`` value passed (bytes): Linux caps one argument at 128 KiB."""

SAMPLE_ID_MATCH_MAX = 2_000_000
"""Most (dataset ids x shard ids) pattern matches a shard may make: inspect matches every
id against every ``--sample-id`` pattern (about a microsecond each). Beyond either limit
a contiguous selection is sharded by ``--limit`` ranges (see :func:`shard_selection`)."""

REFRESH_S = 0.5
"""Seconds between progress updates on a terminal."""

LINE_EVERY_S = 10.0

RATE_WINDOW_S = 10.0
"""Seconds between progress lines when stderr is not a terminal (CI logs)."""


class Shard(BaseModel):
    index: int
    sample_ids: list[str | int]
    max_connections: int
    argv: list[str]
    """The shard's ``inspect eval`` command, as run (from the plan's ``cwd``)."""


class ShardPlan(BaseModel):
    """What ``harness eval --workers N`` ran: enough to retry any shard later."""

    group: str
    created: str
    cwd: str
    log_dir: str
    task: str
    args: list[str]
    """The user's ``inspect eval`` arguments, as typed."""
    epochs: int
    models: int = 1
    samples: int
    max_connections: int
    """Total over all shards."""
    shards: list[Shard] = Field(default_factory=list)

    @property
    def sample_epochs(self) -> int:
        return self.samples * self.epochs * self.models

    def shard_sample_epochs(self, index: int) -> int:
        return len(self.shards[index].sample_ids) * self.epochs * self.models

    @property
    def folder(self) -> Path:
        return Path(self.log_dir) / PLAN_DIR / self.group

    def write(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "plan.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.model_dump_json(indent=1), encoding="utf-8")
        tmp.replace(path)
        return path


# ---------------------------------------------------------------- planning (pure)


def assign(ids: Sequence[Any], workers: int) -> list[list[Any]]:
    """Round-robin: the i-th selected sample goes to shard i mod ``workers`` (deterministic,
    disjoint, complete; neighbouring samples, often of similar difficulty, are spread)."""
    return [list(ids[i::workers]) for i in range(workers)]


def split_total(total: int, parts: int) -> list[int]:
    """``total`` as ``parts`` near-equal positive integers summing to ``total``."""
    if parts < 1 or total < parts:
        raise ValueError(f"cannot split {total} between {parts} shards")
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


_GLOB_MAGIC = re.compile(r"([*?\[])")


def id_pattern(sample_id: Any) -> str:
    """``sample_id`` as one entry of inspect's ``--sample-id`` list: fnmatch specials made
    literal, and characters the list syntax would eat (commas, edge whitespace) as ``?``
    (:func:`sample_id_arg` checks the result selects exactly the intended ids)."""
    text = _GLOB_MAGIC.sub(r"[\1]", str(sample_id)).replace(",", "?")
    stripped = text.strip()
    if stripped != text:
        lead = len(text) - len(text.lstrip())
        trail = len(text) - len(text.rstrip())
        text = "?" * lead + stripped + "?" * trail
    return text


def sample_id_arg(ids: Sequence[Any], all_ids: Sequence[Any]) -> str:
    """The ``--sample-id`` value selecting exactly ``ids`` from a dataset with ``all_ids``;
    ValueError when inspect's id filter cannot tell them apart. Checked in linear time: a
    literal pattern matches the ids with its normalised form; only escaped ones (rare) are
    matched against every id with inspect's own matcher."""
    from inspect_ai._eval.task.util import sample_id_filter
    from inspect_ai._util.samples import parse_sample_id
    from inspect_ai.dataset._util import normalise_sample_id

    patterns = [id_pattern(i) for i in ids]
    arg = ",".join(patterns)
    wanted = {str(i) for i in ids}
    try:
        parsed = parse_sample_id(arg) or []
        by_norm: dict[str, list[Any]] = {}
        for i in all_ids:
            by_norm.setdefault(normalise_sample_id(i), []).append(i)
        literal = [p for p in parsed if not _GLOB_MAGIC.search(p)]
        hits = [i for p in literal for i in by_norm.get(normalise_sample_id(p), [])]
        escaped = [p for p in parsed if _GLOB_MAGIC.search(p)]
        if escaped:
            matcher = sample_id_filter(escaped)
            hits += [i for i in all_ids if matcher.matches(i)]
        selected = {str(i) for i in hits}
        wrong = [i for i in all_ids if (str(i) in selected) != (str(i) in wanted)]
    except ValueError:  # inspect cannot normalise the id at all (e.g. '²': isdigit, yet not an int)
        wrong = list(ids)
    if wrong:
        raise ValueError(
            f"sample id {wrong[0]!r} cannot be selected on its own through inspect's --sample-id "
            "(ids differing only in characters that list syntax cannot carry); run with --workers 1"
        )
    return arg


def shard_selection(ids: Sequence[Any], all_ids: Sequence[Any], workers: int) -> list[tuple[list[Any], list[str]]]:
    """Each shard's samples and the inspect arguments selecting them: ``--sample-id`` with
    the round-robin deal (:func:`assign`); or, when an id list would not fit on a command
    line and the selection is a contiguous run of the dataset's order, ``--limit`` ranges
    (contiguous, near-equal shares)."""
    deal = assign(ids, workers)
    position = {str(i): p for p, i in enumerate(all_ids)}
    start = position[str(ids[0])]
    contiguous = [position[str(i)] for i in ids] == list(range(start, start + len(ids)))
    if not contiguous or len(all_ids) * len(deal[0]) <= SAMPLE_ID_MATCH_MAX:
        args = [sample_id_arg(part, all_ids) for part in deal]
        if max(len(a.encode()) for a in args) <= SAMPLE_ID_ARG_MAX:
            return [(part, ["--sample-id", a]) for part, a in zip(deal, args)]
        if not contiguous:
            raise ValueError(f"{len(ids)} sample ids picked by --sample-id do not fit on {workers} shard command "
                             "lines; use more --workers, or --limit (a range) to select them")
    out, at = [], start
    for size in split_total(len(ids), workers):
        out.append((list(all_ids[at:at + size]), ["--limit", f"{at + 1}-{at + size}"]))
        at += size
    return out


def strip_options(args: Sequence[str], options: Sequence[str]) -> list[str]:
    """``args`` without ``--opt value`` / ``--opt=value`` for each option in ``options``
    (all of them take a value)."""
    out: list[str] = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a in options:
            skip = True
        elif not any(a.startswith(o + "=") for o in options):
            out.append(a)
    return out


# ---------------------------------------------------------------- reading the user's command


def inspect_params(args: Sequence[str]) -> dict[str, Any]:
    """The user's ``inspect eval`` arguments parsed by inspect's own command (same
    options, defaults and environment variables as ``inspect eval``)."""
    import click
    from inspect_ai._cli.eval import eval_command
    from inspect_ai._util.dotenv import init_dotenv

    init_dotenv()
    try:
        ctx = eval_command.make_context("inspect eval", list(args))
    except click.exceptions.Exit:
        raise SystemExit(0) from None
    except click.ClickException as ex:
        raise ValueError(f"inspect eval arguments: {ex.format_message()}") from None
    return dict(ctx.params)


def selected_samples(params: dict[str, Any]) -> tuple[str, list[Any], list[Any], int]:
    """(task name, selected sample ids in order, all dataset ids, epochs) of the one task
    the user's arguments name, loaded and sliced the way inspect eval would."""
    from inspect_ai._cli.util import parse_cli_config
    from inspect_ai._eval.loader import load_tasks
    from inspect_ai._eval.task.util import resolve_task_sample_ids, slice_dataset
    from inspect_ai._util.error import PrerequisiteError
    from inspect_ai._util.samples import parse_sample_id, parse_samples_limit

    specs = list(params.get("tasks") or [])
    if len(specs) != 1:
        raise ValueError(
            f"--workers shards one task; got {len(specs) or 'no'} task arguments "
            "(name one, e.g. tasks/aime.py@aime2024 or harness/aime2024)"
        )
    task_args = parse_cli_config(params.get("t"), params.get("task_config"))
    try:
        tasks = load_tasks(specs, task_args)
    except (PrerequisiteError, ValueError):
        raise
    except Exception as ex:  # inspect's loader raising on a spec it cannot read
        raise ValueError(f"cannot load task {specs[0]} ({type(ex).__name__}: {str(ex)[:200]})") from None
    if not tasks:
        raise ValueError(f"{specs[0]}: no task found (neither a task file from {os.getcwd()} nor a registered task)")
    if len(tasks) != 1:
        names = ", ".join(t.name for t in tasks)
        raise ValueError(f"{specs[0]} names {len(tasks)} tasks ({names}); pick one with FILE@TASK")
    task = tasks[0]
    if getattr(task, "sample_source", None) is not None:
        raise ValueError(f"task {task.name} produces samples while it runs; it cannot be sharded (use --workers 1)")
    shuffle = params.get("sample_shuffle")
    if shuffle not in (None, 0) and not task.dataset.shuffled:
        # an unseeded shuffle gets a seed here (make_plan passes it on: every shard shuffles alike)
        task.dataset.shuffle(shuffle)
    all_ids = [s.id for s in task.dataset]
    sample_id = resolve_task_sample_ids(task.name, parse_sample_id(params.get("sample_id")), [task.name])
    sliced = slice_dataset(task.dataset, parse_samples_limit(params.get("limit")), sample_id)
    ids = [s.id for s in sliced]
    if any(i is None for i in ids):
        raise ValueError(f"task {task.name} has samples without ids; it cannot be sharded (use --workers 1)")
    if len({str(i) for i in ids}) != len(ids):
        raise ValueError(f"task {task.name} has duplicate sample ids; it cannot be sharded (use --workers 1)")
    epochs = params.get("epochs") or task.epochs or 1
    return task.name, ids, all_ids, int(epochs)


def make_plan(args: Sequence[str], workers: int, *, note: Callable[[str], None]) -> ShardPlan:
    """Load the task, select and deal out its samples, split the connections."""
    from inspect_ai._util.constants import DEFAULT_MAX_CONNECTIONS
    from inspect_ai._util.samples import parse_sample_id, parse_samples_limit

    params = inspect_params(args)
    pin_shuffle = params.get("sample_shuffle") == -1
    if pin_shuffle:
        params["sample_shuffle"] = secrets.randbelow(2**31 - 1) + 1
    for key, flag in UNSUPPORTED.items():
        if params.get(key):
            raise ValueError(f"{flag} is not supported with --workers (use --workers 1)")
    log_dir = str(params.get("log_dir") or "./logs")
    if "://" in log_dir:
        raise ValueError(f"--workers needs a local log dir (got {log_dir}); sync the logs afterwards")
    log_dir = str(Path(log_dir).expanduser().resolve())
    task_name, ids, all_ids, epochs = selected_samples(params)
    if not ids:
        raise ValueError(f"task {task_name}: no samples selected")
    total = params.get("max_connections")
    if not total:
        total = DEFAULT_MAX_CONNECTIONS
        note(f"no --max-connections: sharing inspect's default of {total} connections between the shards "
             "(pass --max-connections to set the total)")
    n = min(workers, len(ids), total)
    if n < workers:
        why = f"{len(ids)} samples" if len(ids) < workers else f"--max-connections {total}"
        note(f"{n} shards, not {workers}: {why}")
    connections = split_total(total, n)
    totals = {o: params.get(o[2:].replace("-", "_")) for o in SPLIT_OPTIONS[1:]}
    if not totals["--max-subprocesses"]:
        # inspect's per-process default is the core count: keep that the machine-wide total
        totals["--max-subprocesses"] = max(n, os.cpu_count() or 1)
    splits = {o: split_total(max(v, n), n) for o, v in totals.items() if v}

    group = secrets.token_hex(4)
    model = params.get("model") or os.environ.get("INSPECT_EVAL_MODEL") or ""
    local = sorted({m.split("/")[0] for m in str(model).split(",")} & set(IN_PROCESS_PROVIDERS))
    if local:
        note(f"{', '.join(local)}/ models load in each shard's process: {n} copies (a server shared by the shards "
             "avoids that, e.g. openai-api/... against vLLM)")
    base = strip_options(args, REPLACED_OPTIONS)
    limit = parse_samples_limit(params.get("limit"))
    plan = ShardPlan(
        group=group,
        created=datetime.now(timezone.utc).isoformat(),
        cwd=os.getcwd(),
        log_dir=log_dir,
        task=task_name,
        args=list(args),
        epochs=epochs,
        models=max(1, len([m for m in str(model).split(",") if m.strip()])),
        samples=len(ids),
        max_connections=total,
    )
    digest = sample_ids_digest(ids)
    shuffle = ["--sample-shuffle", str(params["sample_shuffle"])] if pin_shuffle else []
    for i, (shard_ids, select) in enumerate(shard_selection(ids, all_ids, n)):
        info = ShardInfo(
            group=group, index=i, count=n, samples=len(ids), sample_ids=digest,
            limit=list(limit) if isinstance(limit, tuple) else limit,
            sample_id=parse_sample_id(params.get("sample_id")),
        )
        argv = [
            sys.executable, "-m", "inspect_ai", "eval", *base, *shuffle, *select,
            "--max-connections", str(connections[i]),
            *[x for o, parts in splits.items() for x in (o, str(parts[i]))],
            "--log-dir", log_dir,
            "--metadata", f"{SHARD_KEY}={info.model_dump_json()}",
            "--display", "none",
        ]
        plan.shards.append(Shard(index=i, sample_ids=shard_ids, max_connections=connections[i], argv=argv))
    return plan


# ---------------------------------------------------------------- the shards' logs


class ShardState(BaseModel):
    index: int
    log: str | None = None
    """The shard's most advanced log (None: it wrote none)."""
    status: str = "missing"
    """inspect's log status (``success``, ``cancelled``, ``error``, ``started`` when the
    process died without finishing the log) or ``missing``."""
    completed: int = 0
    """Sample-epochs the log holds without error."""

    @property
    def done(self) -> bool:
        return self.status == "success"


def shard_states(plan: ShardPlan) -> list[ShardState]:
    """Each shard's best log in the plan's log dir: finished over unfinished, then the
    one holding most samples, then the newest."""
    from inspect_ai.log import read_eval_log

    from harness.logs import shard_info
    from harness.reports.runs import list_logs

    states = [ShardState(index=s.index) for s in plan.shards]
    since = datetime.fromisoformat(plan.created).timestamp() - 5
    logs = [p for p in list_logs([plan.log_dir])
            if Path(p).parent == Path(plan.log_dir) and os.path.getmtime(p) >= since]
    candidates: dict[int, list[tuple[tuple, ShardState]]] = {}
    for path in logs:
        try:
            log = read_eval_log(path, header_only=True)
            info = shard_info(log.eval.metadata)
        except Exception:  # unreadable or foreign: not this group's
            continue
        if info is None or info.group != plan.group or not 0 <= info.index < len(states):
            continue
        completed = _completed(path, log)
        state = ShardState(index=info.index, log=path, status=str(log.status), completed=completed)
        rank = (log.status == "success", completed, os.path.getmtime(path))
        candidates.setdefault(info.index, []).append((rank, state))
    for index, found in candidates.items():
        states[index] = max(found, key=lambda c: c[0])[1]
    return states


def _completed(path: str, log: Any) -> int:
    if log.results is not None and log.status == "success":
        return int(log.results.completed_samples or 0)
    from inspect_ai.log import read_eval_log_sample_summaries

    try:  # an unfinished log: count what it holds (what eval-retry will keep)
        return sum(1 for s in read_eval_log_sample_summaries(path) if s.error is None)
    except Exception:
        return 0


def find_plans(target: str, log_dir: str | None) -> list[ShardPlan]:
    """Plans named by ``--retry``: a log dir (every group in it), a plan file, or a group id
    (looked up in ``log_dir``, default ``$INSPECT_LOG_DIR`` or ./logs)."""
    p = Path(target).expanduser()
    if p.is_file():
        files = [p]
    elif p.is_dir():
        files = sorted((p / PLAN_DIR).glob("*/plan.json"))
        if not files:
            raise ValueError(f"{target}: no sharded runs in this log dir (no {PLAN_DIR}/*/plan.json)")
    else:
        root = Path(log_dir or os.environ.get("INSPECT_LOG_DIR") or "./logs").expanduser()
        files = sorted((root / PLAN_DIR).glob(f"{target}*/plan.json"))
        if not files:
            raise ValueError(f"no sharded run {target!r} under {root} (pass its log dir: harness eval --retry LOG_DIR)")
    return [ShardPlan.model_validate_json(f.read_text(encoding="utf-8")) for f in files]


# ---------------------------------------------------------------- running shards


class Runner:
    """Starts shard processes, draws the combined progress line, forwards Ctrl-C."""

    def __init__(self, plan: ShardPlan, jobs: list[tuple[int, list[str], int]], *, estimated: bool = False,
                 stream: Any = None) -> None:
        self.plan = plan
        self.jobs = jobs
        """(shard index, argv, sample-epochs it has to run)"""
        self.stream = stream or sys.stderr
        self.procs: dict[int, subprocess.Popen] = {}
        self.interrupts = 0
        self.terminated = False
        """Interrupted by SIGTERM (exit 143) rather than Ctrl-C (130)."""
        self.total = sum(n for _, _, n in jobs)
        self.of = f"~{self.total}" if estimated else str(self.total)
        """Retries show an estimate: eval-retry may recover more than the old log shows."""
        self._progress_dir = Path(tempfile.mkdtemp(prefix=f"harness-shards-{plan.group}-"))
        self._counts: dict[int, tuple[int, int, int]] = {}  # index -> (bytes read, done, errors)
        self._errors_before_interrupt: int | None = None
        self._history: deque[tuple[float, int]] = deque()
        """(time, sample-epochs done) over the last :data:`RATE_WINDOW_S`: the rate shown."""

    def run(self) -> dict[int, int]:
        """Run every job to its end; returns shard index -> exit code."""
        old = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        self.start = time.monotonic()
        try:
            for index, argv, _ in self.jobs:
                if self.interrupts:
                    break  # Ctrl-C while starting: start no more
                self.procs[index] = self._spawn(index, argv)
            last_line = 0.0
            tty = self.stream.isatty()
            while any(p.poll() is None for p in self.procs.values()):
                time.sleep(0.1)
                now = time.monotonic()
                if tty and now - last_line >= REFRESH_S:
                    self._draw("\r")
                    last_line = now
                elif not tty and now - last_line >= LINE_EVERY_S:
                    self._draw("")
                    last_line = now
            self._draw("\r" if tty else "", final=True)
            return {i: p.returncode for i, p in self.procs.items()}
        finally:
            for s, h in old.items():
                signal.signal(s, h)
            for p in self.procs.values():  # never leave a shard behind
                if p.poll() is None:
                    p.kill()
                    p.wait()
            shutil.rmtree(self._progress_dir, ignore_errors=True)

    def _spawn(self, index: int, argv: list[str]) -> subprocess.Popen:
        from harness.shard_hook import PROGRESS_ENV  # imports inspect_ai.hooks: not at the top (--help)

        out = self.plan.folder / f"shard-{index}.out"
        env = {**os.environ, PROGRESS_ENV: str(self._progress_dir / f"{index}.progress")}
        with open(out, "ab") as f:
            f.write(f"$ {' '.join(argv)}\n".encode())
            f.flush()
            return subprocess.Popen(
                argv, cwd=self.plan.cwd if Path(self.plan.cwd).is_dir() else None, env=env,
                stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                # its own session: a terminal Ctrl-C reaches only us, and we forward it once
                start_new_session=True, preexec_fn=_die_with_parent,
            )

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.interrupts += 1
        live = [p for p in self.procs.values() if p.poll() is None]
        if self.interrupts == 1:
            # errors counted so far (no file reads in a signal handler); later ones are the interrupt's
            self._errors_before_interrupt = sum(c[2] for c in self._counts.values())
            self._print(f"\ninterrupting {len(live)} shard(s): each writes its log as cancelled "
                        "(Ctrl-C again to kill them)")
            for p in live:
                p.send_signal(signal.SIGINT)
        else:
            for p in live:
                p.kill()
        if signum == signal.SIGTERM:
            self.terminated = True

    def progress(self) -> tuple[int, int]:
        """(sample-epochs done, of which ended in error), read from the shards' progress files."""
        from harness.shard_hook import ERROR

        done = errors = 0
        for index in self.procs:
            path = self._progress_dir / f"{index}.progress"
            read, d, e = self._counts.get(index, (0, 0, 0))
            try:
                with open(path, "rb") as f:
                    f.seek(read)
                    chunk = f.read()
            except FileNotFoundError:
                chunk = b""
            read, d, e = read + len(chunk), d + len(chunk), e + chunk.count(ERROR)
            self._counts[index] = (read, d, e)
            done, errors = done + d, errors + e
        return done, errors

    def line(self, final: bool = False) -> str:
        done, errors = self.progress()
        now = time.monotonic()
        elapsed = now - self.start
        running = sum(1 for p in self.procs.values() if p.poll() is None)
        self._history.append((now, done))
        while len(self._history) > 2 and now - self._history[1][0] > RATE_WINDOW_S:
            self._history.popleft()
        t0, d0 = self._history[0]
        rate = (done - d0) / (now - t0) if now > t0 else 0.0
        pct = min(100.0, 100.0 * done / self.total) if self.total else 100.0
        if final:
            pace = f", {done / elapsed:.1f}/s overall" if elapsed > 0 else ""
            return (f"{done}/{self.of} sample-epochs ({pct:.0f}%) in {_clock(elapsed)}{pace}, "
                    f"{self._errors_text(errors)}")
        eta = f", eta {_clock((self.total - done) / rate)}" if rate > 0 and done < self.total else ""
        if not done:
            eta = ", starting the shards" if running else ""
        return (f"{done}/{self.of} sample-epochs ({pct:.0f}%), {rate:.1f}/s, {self._errors_text(errors)}, "
                f"{running}/{len(self.procs)} shards running, {_clock(elapsed)}{eta}")

    def _errors_text(self, errors: int) -> str:
        if self._errors_before_interrupt is None:
            return f"{errors} error(s)"
        cut = errors - self._errors_before_interrupt
        return f"{self._errors_before_interrupt} error(s), {cut} cut short by the interrupt"

    def _draw(self, prefix: str, final: bool = False) -> None:
        text = self.line(final)
        self.stream.write(f"{prefix}{text:<100}" + ("\n" if final or not prefix else ""))
        self.stream.flush()

    def _print(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _die_with_parent() -> None:
    """In the shard (before exec): get SIGINT if ``harness eval`` dies (even by SIGKILL), so
    no shard runs on unattended; it then writes its log as cancelled, ready for --retry."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGINT)  # PR_SET_PDEATHSIG


def _load_prctl() -> Any:
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()


# ---------------------------------------------------------------- the command


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage=USAGE,
        # every argument is passed through as typed (inspect's options come before or
        # after the task); --workers / --retry / --help are picked out by run()
        prefix_chars="\0",
        add_help=False,
    )
    p.add_argument("args", nargs="*", help="the task and any `inspect eval` options")
    p.set_defaults(func=run, print_help=p.print_help)


USAGE = ("harness eval TASK [--workers N] [inspect eval options...]\n"
         "       harness eval --retry LOG_DIR|GROUP [--log-dir DIR] [--max-connections N]")


def own_options(args: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """``--workers`` / ``--retry`` wherever they appear; the rest is inspect's."""
    p = argparse.ArgumentParser(prog="harness eval", allow_abbrev=False, add_help=False)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--retry")
    mine, rest = p.parse_known_args(list(args))
    if mine.workers < 1:
        raise ValueError("--workers must be at least 1")
    return mine, rest


def run(args: argparse.Namespace) -> int:
    if not args.args or args.args[0] in ("-h", "--help"):
        args.print_help()
        return 0
    mine, rest = own_options(args.args)
    if mine.retry:
        return retry(mine.retry, rest)
    if not rest:
        raise ValueError("name a task: harness eval TASK [--workers N] [inspect eval options]")
    if mine.workers == 1:
        argv = [sys.executable, "-m", "inspect_ai", "eval", *rest]
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, argv)  # plain inspect eval: same display, signals, exit code
    plan = make_plan(rest, mine.workers, note=_note)
    plan.write()
    _note(f"{plan.task}: {plan.samples} samples x {plan.epochs} epochs"
          + (f" x {plan.models} models" if plan.models > 1 else "")
          + f" on {len(plan.shards)} shards, {plan.max_connections} connections in all "
          f"(group {plan.group}, plan in {_rel(plan.folder)})")
    jobs = [(s.index, s.argv, plan.shard_sample_epochs(s.index)) for s in plan.shards]
    return finish(plan, Runner(plan, jobs))


def retry(target: str, rest: list[str]) -> int:
    """Finish the unfinished shards of the sharded run(s) ``target`` names."""
    p = argparse.ArgumentParser(prog="harness eval --retry", allow_abbrev=False)
    p.add_argument("--log-dir")
    p.add_argument("--max-connections", type=int)
    opts = p.parse_args(rest)
    code = 0
    for plan in find_plans(target, opts.log_dir):
        states = shard_states(plan)
        todo = [s for s in states if not s.done]
        if not todo:
            _note(f"group {plan.group} ({plan.task}) is complete: {len(states)}/{len(states)} shards succeeded")
            continue
        total = opts.max_connections or plan.max_connections
        connections = split_total(max(total, len(todo)), len(todo))
        jobs = []
        for state, conns in zip(todo, connections):
            shard = plan.shards[state.index]
            remaining = max(0, plan.shard_sample_epochs(state.index) - state.completed)
            if state.log is not None:
                argv = [sys.executable, "-m", "inspect_ai", "eval-retry", state.log, "--log-dir", plan.log_dir,
                        "--max-connections", str(conns), "--display", "none"]
            else:  # died before writing a log: run the shard as planned
                argv = strip_options(shard.argv, ("--max-connections",))
                argv[4:4] = ["--max-connections", str(conns)]
                remaining = plan.shard_sample_epochs(state.index)
            jobs.append((state.index, argv, remaining))
        _note(f"group {plan.group} ({plan.task}): retrying "
              + ", ".join(f"shard {s.index + 1} ({s.status}, {s.completed} sample-epochs kept)" for s in todo))
        code = max(code, finish(plan, Runner(plan, jobs, estimated=True)))
    return code


def finish(plan: ShardPlan, runner: Runner) -> int:
    """Run the jobs, then say what the logs hold: the merged result, or what to retry."""
    codes = runner.run()
    states = shard_states(plan)
    failed = [s for s in states if not s.done]
    for s in failed:
        code = codes.get(s.index)
        how = (f"exit {code}" if code is None or code >= 0 else f"killed by {signal.Signals(-code).name}")
        # its own words when it failed by itself (not when killed or interrupted)
        tail = _tail(plan.folder / f"shard-{s.index}.out") if (code or 0) > 0 or s.status == "error" else ""
        planned = plan.shard_sample_epochs(s.index)
        _note(f"shard {s.index + 1}/{len(states)}: {s.status} ({how}), {s.completed}/{planned} sample-epochs logged"
              + (f"\n    {tail}" if tail else ""))
    if not failed:
        _summary(plan, states)
        return 0
    _note(f"finish it with: harness eval --retry {plan.group} --log-dir {_rel(Path(plan.log_dir))}")
    if runner.interrupts:
        return 143 if runner.terminated else 130
    return 1


def _summary(plan: ShardPlan, states: list[ShardState]) -> None:
    from harness.reports.runs import read_runs

    runs, skipped = read_runs([s.log for s in states if s.log], tool_calls=False, workers=1)
    for s in skipped:
        _note(f"skipped {s.path}: {s.reason}")
    for r in runs:
        cells = ", ".join(f"{m.label} {_value(m.value, m.percent)}" for m in r.metrics[:6])
        _note(f"{r.task} {r.model}: {cells} ({r.completed}/{r.planned} sample-epochs, {len(states)} shard logs "
              f"in {_rel(Path(plan.log_dir))}, reported as one run)")


def _value(v: float, percent: bool) -> str:
    return f"{100 * v:.1f}%" if percent else f"{v:.3g}"


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return "\n    ".join(line[:200] for line in text[-lines:])


def _rel(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _note(text: str) -> None:
    print(f"harness eval: {text}", file=sys.stderr, flush=True)

"""Loading benchmark data: a local file given with ``-T data=PATH``, or the Hugging Face hub.

Every task goes through :func:`load_dataset`, so every task accepts the same kinds of
local files (JSONL, JSON array, parquet, in the upstream schema) and fails the same way
when the hub cannot be reached: one line naming ``-T data=``.
"""

from __future__ import annotations

import gzip
import json
import os
import socket
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import urlparse

from inspect_ai._util.error import PrerequisiteError
from inspect_ai.dataset import Dataset, MemoryDataset, Sample, hf_dataset

RecordToSample = Callable[[dict[str, Any]], "Sample | list[Sample]"]
"""Maps one upstream record to a sample, or to [] to skip it (e.g. a duplicate)."""

HUB_PROBE_TIMEOUT = 3.0
"""Seconds to wait for the hub's host before declaring it unreachable."""


class DataUnavailable(PrerequisiteError):
    """The data for a task could not be found or read (message is meant for the user)."""


def user_path(path: str | Path) -> Path:
    """A path the user typed, resolved against the directory they typed it in.

    inspect builds a task with the working directory set to the task file's folder, so a
    relative ``-T data=aime.jsonl`` is looked for first in the shell's directory (``$PWD``),
    then in the current one.
    """
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    candidates = [Path(os.environ["PWD"]) / p] if os.environ.get("PWD") else []
    candidates.append(Path.cwd() / p)
    return next((c for c in candidates if c.exists()), candidates[0])


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Read the rows of a JSONL, JSON (array, or object holding one list) or parquet file;
    JSON and JSONL may be gzip-compressed."""
    return [record for _, record in read_located_records(path)]


def read_located_records(path: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """:func:`read_records` with where each row is in the file (``line 6`` for JSON lines,
    ``record 6`` otherwise), so later errors can point the user at it.

    A broken JSON line is reported at its line and column in the file (not within the line).
    """
    p = user_path(path)
    if not p.is_file():
        raise DataUnavailable(f"Data file not found: {p} (given with -T data=).")
    suffix = p.suffixes[-2] if p.suffix == ".gz" and len(p.suffixes) > 1 else p.suffix
    try:
        if suffix in (".parquet", ".pq"):
            import pandas as pd

            rows = pd.read_parquet(p).to_dict(orient="records")
            return _located(p, [(f"record {i}", r) for i, r in enumerate(rows, start=1)])
        raw = p.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        text = raw.decode("utf-8-sig")
        if suffix == ".jsonl" or (suffix != ".json" and not text.lstrip().startswith(("[", "{"))):
            return _located(p, parse_jsonl(text))
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as ex:
            if ex.msg != "Extra data":
                raise
            return _located(p, parse_jsonl(text))  # a .json file that is really JSON lines
    except json.JSONDecodeError as ex:
        raise DataUnavailable(f"{p} line {ex.lineno} column {ex.colno}: invalid JSON ({ex.msg}).") from None
    except (OSError, ValueError) as ex:
        raise DataUnavailable(f"Could not read data file {p}: {ex}") from ex
    if isinstance(loaded, dict):
        lists = [v for v in loaded.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise DataUnavailable(f"{p}: expected a JSON array of records (or an object holding one list).")
        loaded = lists[0]
    if not isinstance(loaded, list):
        raise DataUnavailable(f"{p}: expected a list of JSON objects (one per record).")
    return _located(p, [(f"record {i}", r) for i, r in enumerate(loaded, start=1)])


def parse_jsonl(text: str) -> list[tuple[str, Any]]:
    """``("line N", value)`` for each non-blank line of JSON-lines text.

    Lines are split on ``\\n`` only (JSON strings may hold U+2028 and other characters that
    ``str.splitlines`` would break on). A broken line raises :class:`json.JSONDecodeError`
    positioned in the whole text, so its ``lineno``/``colno`` are the file's.
    """
    rows: list[tuple[str, Any]] = []
    start = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            try:
                rows.append((f"line {number}", json.loads(line)))
            except json.JSONDecodeError as ex:
                raise json.JSONDecodeError(ex.msg, text, start + ex.pos) from None
        start += len(line) + 1
    return rows


def _located(p: Path, rows: list[tuple[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    for where, row in rows:
        if not isinstance(row, dict):
            raise DataUnavailable(
                f"{p} {where}: expected a list of JSON objects (one per record), this one is a {type(row).__name__}."
            )
    return rows


def _hub_reachable() -> bool:
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    parsed = urlparse(endpoint)
    host = parsed.hostname or "huggingface.co"
    port = parsed.port or (80 if parsed.scheme == "http" else 443)
    try:
        with socket.create_connection((host, port), timeout=HUB_PROBE_TIMEOUT):
            return True
    except OSError:
        return False


def load_dataset(
    *,
    data: str | None,
    hf_path: str,
    split: str,
    record_to_sample: RecordToSample,
    name: str | None = None,
    revision: str | None = None,
) -> list[Sample]:
    """Samples from ``data`` (a local file) if given, else from the hub dataset ``hf_path``.

    With the hub unreachable (and ``HF_HUB_OFFLINE`` unset) this fails at once with a
    :class:`DataUnavailable` naming ``-T data=``, instead of retrying for half a minute
    and ending in a traceback. With ``HF_HUB_OFFLINE=1`` a cached copy is used.
    """
    if data is not None:
        records = read_located_records(data)
        return _convert(records, record_to_sample, source=str(data), hf_path=hf_path)

    fix = (
        f"Pass a local copy with -T data=PATH (JSONL, JSON or parquet in the {hf_path} schema)."
    )
    if not os.environ.get("HF_HUB_OFFLINE") and not _hub_reachable():
        raise DataUnavailable(
            f"Cannot reach the Hugging Face hub to download {hf_path}. {fix}"
        )
    try:
        dataset: Dataset = hf_dataset(
            hf_path,
            split=split,
            name=name,
            revision=revision,
            sample_fields=record_to_sample,
        )
    except Exception as ex:  # the hub raises many types; all mean "not available here"
        raise DataUnavailable(
            f"Could not load {hf_path} (split {split}) from the hub: {type(ex).__name__}: "
            f"{str(ex)[:200]}. {fix}"
        ) from ex
    return list(dataset)


def _convert(
    records: Iterable[tuple[str, dict[str, Any]]],
    record_to_sample: RecordToSample,
    *,
    source: str,
    hf_path: str,
) -> list[Sample]:
    samples: list[Sample] = []
    for where, record in records:
        try:
            converted = record_to_sample(record)
            samples.extend(converted if isinstance(converted, list) else [converted])
        except (KeyError, TypeError, ValueError) as ex:
            raise DataUnavailable(
                f"{source} {where}: does not follow the {hf_path} schema ({type(ex).__name__}: {ex})."
            ) from ex
    if not samples:
        raise DataUnavailable(f"{source}: no records.")
    return samples


def memory_dataset(samples: list[Sample], name: str) -> MemoryDataset:
    """Wrap samples as an inspect dataset, refusing duplicate ids (they would merge scores)."""
    seen: set[str | int] = set()
    for s in samples:
        if s.id in seen:
            raise DataUnavailable(f"{name}: duplicate sample id {s.id!r} in the data.")
        if s.id is not None:
            seen.add(s.id)
    return MemoryDataset(samples, name=name)

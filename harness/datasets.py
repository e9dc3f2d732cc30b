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
    p = user_path(path)
    if not p.is_file():
        raise DataUnavailable(f"Data file not found: {p} (given with -T data=).")
    suffix = p.suffixes[-2] if p.suffix == ".gz" and len(p.suffixes) > 1 else p.suffix
    try:
        if suffix in (".parquet", ".pq"):
            import pandas as pd

            return pd.read_parquet(p).to_dict(orient="records")
        raw = p.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        text = raw.decode("utf-8")
        if suffix == ".jsonl" or (suffix != ".json" and not text.lstrip().startswith(("[", "{"))):
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError:
            # a .json file that is really JSON lines
            return [json.loads(line) for line in text.splitlines() if line.strip()]
    except (OSError, ValueError) as ex:
        raise DataUnavailable(f"Could not read data file {p}: {ex}") from ex
    if isinstance(loaded, dict):
        lists = [v for v in loaded.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise DataUnavailable(f"{p}: expected a JSON array of records (or an object holding one list).")
        loaded = lists[0]
    if not isinstance(loaded, list) or not all(isinstance(r, dict) for r in loaded):
        raise DataUnavailable(f"{p}: expected a list of JSON objects (one per record).")
    return loaded


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
        records = read_records(data)
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
    records: Iterable[dict[str, Any]],
    record_to_sample: RecordToSample,
    *,
    source: str,
    hf_path: str,
) -> list[Sample]:
    samples: list[Sample] = []
    for i, record in enumerate(records):
        try:
            converted = record_to_sample(record)
            samples.extend(converted if isinstance(converted, list) else [converted])
        except (KeyError, TypeError, ValueError) as ex:
            raise DataUnavailable(
                f"{source}: record {i} does not follow the {hf_path} schema ({type(ex).__name__}: {ex})."
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

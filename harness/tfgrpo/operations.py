"""Parsing the LLM's library operations (hostile input) and applying them.

Everything here is bounded: at most ``MAX_JSON_CHARS`` of JSON are parsed, nesting is
limited by Python's parser (RecursionError is caught), experiences are one line of at
most ``MAX_EXPERIENCE_CHARS`` characters. A bad entry is dropped with a reason; the
library is only ever changed through :func:`apply_plan`, which validates every id first.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

MAX_JSON_CHARS = 100_000
MAX_EXPERIENCE_CHARS = 1_000
MAX_ENTRIES = 200

Option = Literal["add", "modify", "delete", "merge", "keep"]
GROUP_OPTIONS: tuple[str, ...] = ("add", "modify", "delete", "keep")
PLAN_OPTIONS: tuple[str, ...] = ("add", "modify", "delete", "merge", "keep")

_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)(?:```|\Z)", re.S)
_ID = re.compile(r"^\[?\s*([A-Za-z]?)(\d{1,6})\s*\]?\.?$")
_LEADING_ID = re.compile(r"^\[\s*[A-Za-z]?\d{1,6}\s*\]\.?\s*")


class MalformedOutput(ValueError):
    """The output holds no usable JSON list (the call should be retried)."""


@dataclass(frozen=True)
class Operation:
    option: str
    experience: str | None = None
    target: str | None = None
    """``modified_from`` / ``deleted_id``."""
    sources: tuple[str, ...] = ()
    """``merged_from``."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"option": self.option}
        if self.option == "modify":
            out["modified_from"] = self.target
        if self.option == "delete":
            out["deleted_id"] = self.target
        if self.option == "merge":
            out["merged_from"] = list(self.sources)
        if self.experience is not None:
            out["experience"] = self.experience
        return out


@dataclass
class Parsed:
    operations: list[Operation] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    """One reason per dropped entry."""


def extract_json(text: str) -> Any:
    """The JSON value of the last fenced block (or the whole text if it is bare JSON)."""
    if not isinstance(text, str):
        raise MalformedOutput("output is not text")
    blocks = [b.strip() for b in _FENCE.findall(text) if b.strip()]
    candidate = blocks[-1] if blocks else text.strip()
    if not candidate:
        raise MalformedOutput("empty output")
    if not candidate.startswith(("[", "{")):
        raise MalformedOutput("no fenced JSON block")
    if len(candidate) > MAX_JSON_CHARS:
        raise MalformedOutput(f"JSON block longer than {MAX_JSON_CHARS} characters")
    try:
        return json.loads(candidate)
    except (ValueError, RecursionError) as ex:
        raise MalformedOutput(f"bad JSON ({str(ex)[:80]})") from None


def extract_list(text: str) -> list[Any]:
    value = extract_json(text)
    if isinstance(value, dict):
        lists = [v for v in value.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise MalformedOutput("JSON is an object, not a list of operations")
        value = lists[0]
    if not isinstance(value, list):
        raise MalformedOutput("JSON is not a list")
    if len(value) > MAX_ENTRIES:
        raise MalformedOutput(f"more than {MAX_ENTRIES} entries")
    return value


def normalize_id(raw: Any) -> str | None:
    """``G3``, ``g3``, ``[G3]``, ``3`` -> ``G3``; anything else -> None."""
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int):
        return f"G{raw}" if raw >= 0 else None
    if not isinstance(raw, str):
        return None
    m = _ID.match(raw.strip())
    if not m or m.group(1).upper() not in ("", "G"):
        return None
    return f"G{int(m.group(2))}"


def clean_text(raw: Any) -> tuple[str | None, str | None]:
    """(one-line text, None) or (None, reason)."""
    if not isinstance(raw, str):
        return None, "experience is not a string"
    text = " ".join(raw.split())
    text = _LEADING_ID.sub("", text).strip()
    if not text:
        return None, "empty experience"
    if len(text) > MAX_EXPERIENCE_CHARS:
        return None, f"experience longer than {MAX_EXPERIENCE_CHARS} characters"
    return text, None


def _first(entry: dict[str, Any], *keys: str) -> Any:
    for k in keys:
        if k in entry:
            return entry[k]
    return None


def parse_operations(text: str, known_ids: set[str], allowed: tuple[str, ...]) -> Parsed:
    """Operations from an LLM answer. Raises :class:`MalformedOutput` if there is no JSON list."""
    parsed = Parsed()
    for i, entry in enumerate(extract_list(text)):
        op, reason = _parse_entry(entry, known_ids, allowed)
        if op is None:
            parsed.rejected.append(f"operation {i}: {reason}")
        else:
            parsed.operations.append(op)
    return parsed


def _parse_entry(entry: Any, known: set[str], allowed: tuple[str, ...]) -> tuple[Operation | None, str]:
    if not isinstance(entry, dict):
        return None, "not an object"
    option = _first(entry, "option", "operation", "op")
    option = option.strip().lower() if isinstance(option, str) else None
    option = {"update": "modify", "none": "keep", "remove": "delete"}.get(option or "", option)
    if option not in allowed:
        return None, f"unknown option {str(entry.get('option'))[:30]!r}"
    if option == "keep":
        return Operation("keep"), ""
    if option == "add":
        text, why = clean_text(_first(entry, "experience", "content"))
        return (Operation("add", text), "") if text else (None, why or "")
    if option in ("modify", "delete"):
        raw_id = _first(entry, "modified_from", "deleted_id", "id", "target")
        target = normalize_id(raw_id)
        if target is None or target not in known:
            return None, f"{option} of unknown id {str(raw_id)[:30]!r}"
        if option == "delete":
            return Operation("delete", target=target), ""
        text, why = clean_text(_first(entry, "experience", "content"))
        return (Operation("modify", text, target=target), "") if text else (None, why or "")
    # merge
    raw = _first(entry, "merged_from", "ids", "sources")
    if not isinstance(raw, list) or not raw:
        return None, "merge without a merged_from list"
    sources = [normalize_id(r) for r in raw[:MAX_ENTRIES]]
    valid = tuple(dict.fromkeys(s for s in sources if s is not None and s in known))
    if not valid:
        return None, "merge of unknown ids only"
    text, why = clean_text(_first(entry, "experience", "content"))
    return (Operation("merge", text, sources=valid), "") if text else (None, why or "")


@dataclass
class Applied:
    texts: list[str]
    applied: int = 0
    rejected: list[str] = field(default_factory=list)


def apply_plan(texts: list[str], operations: list[Operation]) -> Applied:
    """Apply a consolidation plan to the library ``texts`` (``G<i>`` = texts[i]).

    Each existing experience is changed at most once (the first operation touching it
    wins; later ones are rejected). Survivors keep their order, then merged and added
    experiences follow in plan order; exact duplicates (ignoring case and spaces) are
    rejected. The caller renumbers (``G0..``).
    """
    current: dict[str, str | None] = {f"G{i}": t for i, t in enumerate(texts)}
    new: list[str] = []
    seen = {t.casefold() for t in texts}
    touched: set[str] = set()
    result = Applied(texts=[])

    def fresh(text: str) -> bool:
        key = text.casefold()
        if key in seen:
            return False
        seen.add(key)
        return True

    for i, op in enumerate(operations):
        if op.option == "keep":
            continue
        ids = (op.target,) if op.option in ("modify", "delete") else op.sources
        if any(x not in current for x in ids):
            result.rejected.append(f"plan {i}: {op.option} of unknown id")
            continue
        clash = [x for x in ids if x in touched]
        if clash:
            result.rejected.append(f"plan {i}: {op.option} of {', '.join(clash)}, already changed by this plan")
            continue
        if op.option in ("add", "modify", "merge") and op.experience and not fresh(op.experience):
            if op.option == "add":
                result.rejected.append(f"plan {i}: add duplicates an existing experience")
                continue
        if op.option == "add":
            new.append(op.experience or "")
        elif op.option == "modify":
            current[op.target or ""] = op.experience
        elif op.option == "delete":
            current[op.target or ""] = None
        elif op.option == "merge":
            for x in op.sources:
                current[x] = None
            new.append(op.experience or "")
        touched.update(ids)
        result.applied += 1
    result.texts = [t for t in current.values() if t is not None] + new
    return result


# --------------------------------------------------------------------------- the web pipeline

MAX_EXPERIENCES_BLOCK_CHARS = 20_000
"""Longest ``<Experiences>`` block taken from a critique (2-3 principles need far less)."""
MAX_GROUP_OPERATIONS = 10
"""Most operations one group update may propose (it is asked for one per new experience: 2-3)."""

WEB_OPERATIONS = {"add": "ADD", "modify": "UPDATE", "delete": "DELETE", "keep": "NONE"}
"""Harness option -> the web prompts' operation name."""

_OPEN_EXPERIENCES = re.compile(r"<experiences>", re.I)
_CLOSE_EXPERIENCES = re.compile(r"</experiences>", re.I)


def extract_experiences(text: str) -> str:
    """The content of the first ``<Experiences>...</Experiences>`` block of a critique.

    The same block [B]'s lazy regex finds (the first opening tag followed by a closing
    one, case-insensitive, trimmed), found with two literal searches: linear in the text,
    however many unclosed tags it holds. Raises :class:`MalformedOutput` when there is no
    block, it is empty, or it is longer than :data:`MAX_EXPERIENCES_BLOCK_CHARS`.
    """
    if not isinstance(text, str):
        raise MalformedOutput("output is not text")
    opening = _OPEN_EXPERIENCES.search(text)
    closing = _CLOSE_EXPERIENCES.search(text, opening.end()) if opening else None
    if opening is None or closing is None:
        raise MalformedOutput("no <Experiences>...</Experiences> block")
    block = text[opening.end() : closing.start()].strip()
    if not block:
        raise MalformedOutput("empty <Experiences> block")
    if len(block) > MAX_EXPERIENCES_BLOCK_CHARS:
        raise MalformedOutput(f"<Experiences> block longer than {MAX_EXPERIENCES_BLOCK_CHARS} characters")
    return block


def parse_web_operations(text: str, known_ids: set[str], limit: int = MAX_ENTRIES) -> Parsed:
    """ADD / UPDATE / DELETE / NONE decisions (``{"operation", "id", "content"}``) of the web
    group and batch updates, as :class:`Operation` (add / modify / delete / keep).

    As [B] applies them: an UPDATE of an id that is not in the pool (or of none) becomes an
    ADD of its content; content is required for ADD and UPDATE only. A DELETE needs a pool
    id and nothing else: [B] skips any entry with empty content before looking at its
    operation, so a DELETE written as its own prompt asks (``"content": null``) was never
    applied; here it is (documented deviation). A DELETE of an unknown id, an unknown
    operation or unusable content is rejected with a reason. More than ``limit`` entries:
    the rest are rejected. Raises :class:`MalformedOutput` if there is no JSON list.
    """
    parsed = Parsed()
    for i, entry in enumerate(extract_list(text)):
        if len(parsed.operations) >= limit:
            parsed.rejected.append(f"operation {i}: more than {limit} operations")
            break
        op, reason = _parse_web_entry(entry, known_ids)
        if op is None:
            parsed.rejected.append(f"operation {i}: {reason}")
        else:
            parsed.operations.append(op)
    return parsed


def _parse_web_entry(entry: Any, known: set[str]) -> tuple[Operation | None, str]:
    if not isinstance(entry, dict):
        return None, "not an object"
    raw = _first(entry, "operation", "option", "op")
    name = raw.strip().upper() if isinstance(raw, str) else ""
    option = {"ADD": "add", "UPDATE": "modify", "MODIFY": "modify", "DELETE": "delete", "NONE": "keep"}.get(name)
    if option is None:
        return None, f"unknown operation {str(raw)[:30]!r}"
    if option == "keep":
        return Operation("keep"), ""
    raw_id = _first(entry, "id", "modified_from", "deleted_id")
    target = normalize_id(raw_id)
    if option == "delete":
        if target is None or target not in known:
            return None, f"DELETE of unknown id {str(raw_id)[:30]!r}"
        return Operation("delete", target=target), ""
    text, why = clean_text(_first(entry, "content", "experience"))
    if text is None:
        return None, f"{name}: {why}"
    if option == "modify" and target in known:
        return Operation("modify", text, target=target), ""
    return Operation("add", text), ""  # ADD, or UPDATE of an id not in the pool ([B]: added)


def web_operation_json(op: Operation) -> dict[str, Any]:
    """An operation as the web prompts write it: ``{"operation", "id", "content"}``."""
    return {"operation": WEB_OPERATIONS[op.option], "id": op.target, "content": op.experience}


def format_pool_and_operations(texts: list[str], operations: list[Operation]) -> str:
    """The batch update's input, laid out as [B] does: every experience of the pool with the
    operations proposed for it (one JSON object a line), then the operations that concern no
    existing experience (ADDs)."""
    if not operations:
        return "No operations were proposed."
    parts = []
    for i, text in enumerate(texts):
        related = [op for op in operations if op.target == f"G{i}"]
        lines = [f"Experience G{i}:", f"Content: {text}"]
        if related:
            lines.append("Proposed operations:")
            lines.extend(json.dumps(web_operation_json(op), ensure_ascii=False) for op in related)
        else:
            lines.append("No proposed operations.")
        parts.append("\n".join(lines))
    loose = [op for op in operations if op.target is None]
    if loose:
        parts.append("\n".join(["Operations that concern no existing experience:",
                                *(json.dumps(web_operation_json(op), ensure_ascii=False) for op in loose)]))
    return "\n\n".join(parts)


def apply_web_plan(texts: list[str], operations: list[Operation]) -> Applied:
    """Apply a web batch-update plan: a DELETE of an experience overrides every UPDATE of it
    (the batch rule, enforced even when the model did not merge them), then
    :func:`apply_plan` (each experience changed at most once, first UPDATE wins; ADDs, and
    UPDATEs of ids outside the pool, appended in plan order; exact duplicates dropped).

    [B] applies the plan entry by entry instead, so there the last UPDATE of an id wins and an
    UPDATE after a DELETE of the same id re-adds it as a new experience.
    """
    deleted = {op.target for op in operations if op.option == "delete"}
    kept: list[Operation] = []
    overridden: list[str] = []
    for i, op in enumerate(operations):
        if op.option == "modify" and op.target in deleted:
            overridden.append(f"plan {i}: UPDATE of {op.target} overridden by its DELETE")
            op = Operation("keep")  # a no-op in its place keeps apply_plan's "plan <i>" numbering
        kept.append(op)
    result = apply_plan(texts, kept)
    result.rejected = overridden + result.rejected
    return result

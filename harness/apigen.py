"""APIGen / xLAM function calling: parsing model answers into calls, and the call matcher.

Pure logic, standard library only, so a benchmark script can import and time
:func:`match_calls` and :func:`parse_calls` without inspect. The scorer lives in
``scorers/apigen.py``; the task in ``tasks/apigen.py``.

**Tool schema** (the ``tools`` field of Salesforce/xlam-function-calling-60k, a JSON
string): a list of ``{name, description, parameters}`` where ``parameters`` is a flat
``{param: {description, type, default}}``; types are Python-like strings (``str``,
``int``, ``float``, ``bool``, ``List[int]``, ``Dict``, ...) with an ``", optional"`` suffix
for optional parameters; defaults are usually strings (``"0"``, ``""``).

**Parsing** a model's text answer (:func:`parse_calls`). The answer must hold a JSON list
of ``{"name": ..., "arguments": {...}}`` objects. Also accepted: one such object, xLAM's
``{"tool_calls": [...]}``, ``"parameters"`` for ``"arguments"``, arguments given as a JSON
string, and the list wrapped in ``<answer>``, ``<tool_call>`` (one block per call or a list)
or a code fence. Places tried, first hit wins: the last ``<answer>`` block, the
``<tool_call>`` blocks, the last code fence, the whole text, then a bounded scan
for the JSON value that ends last in the text. Only JSON is read (no Python literals, no
eval). Every parse is bounded: the last ``MAX_OUTPUT_CHARS`` characters are searched, a
JSON value may have at most ``MAX_JSON_CHARS`` characters, ``MAX_DEPTH`` levels,
``MAX_NODES`` values and ``MAX_CALLS`` calls, and the fallback scan decodes at most
``MAX_SCAN_TRIES`` balanced spans. A failure raises :class:`CallParseError` whose
``detail`` says why (``empty``, ``no_calls``, ``invalid_json``, ``bad_shape``,
``too_large``, ``too_deep``, ``too_many_calls``).

**Matching** (:func:`match_calls`): predicted and gold calls are compared as multisets of
``(name, canonical arguments)``: order does not matter, duplicates count (two identical
gold calls need two identical predicted calls). How arguments are made canonical depends
on the mode:

- ``exact`` (the paper's rule: same tools, same parameters, same values): names verbatim,
  the same set of argument names (an omitted optional parameter is not its default),
  values equal as JSON values: strings verbatim, lists in order, objects key by key,
  numbers by value (``5`` equals ``5.0``: JSON has one number type) but ``"5"`` is not
  ``5`` and ``true`` is not ``1``. No use of the declared types.
- ``lenient`` (type-aware): each argument is first coerced to its parameter's declared
  type: ``int`` accepts ``"5"``, ``5.0``; ``float`` accepts ``"2.5"``, ``2``; ``bool``
  accepts ``"true"/"false"/"yes"/"no"/"1"/"0"`` (any case) and ``0/1``; ``str`` accepts
  numbers and booleans (``10`` -> ``"10"``); ``List[...]``/``tuple``/``set`` accept a
  JSON list in a string or a comma-separated string (``"1, 2"`` -> ``[1, 2]``) and a lone
  scalar, with items coerced to the item type; ``Dict`` accepts a JSON object in a
  string. Strings (also inside lists and objects) are compared case-folded, trimmed,
  with runs of whitespace collapsed and no spaces around commas. A parameter whose value
  equals its declared default (coerced the same way) is treated as omitted, on both
  sides, so "omitted" equals "given its default"; ``null`` for an optional parameter is
  omitted too. Parameters the tool does not declare are kept and compared with the
  generic rules. Lists stay ordered in both modes.

Both modes return a :class:`MatchResult` whose ``reason`` is ``correct``,
``wrong_count`` (a different number of calls), ``wrong_name`` (same number, different
tools) or ``wrong_arguments`` (same tools, some arguments differ).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal, Mapping, Sequence

MatchMode = Literal["exact", "lenient"]
MATCH_MODES: tuple[str, ...] = ("exact", "lenient")

MAX_OUTPUT_CHARS = 200_000
"""Only the last this many characters of a completion are searched for calls."""

MAX_JSON_CHARS = 32_000
"""Largest JSON value (in characters) read as an answer."""

MAX_DEPTH = 20
"""Deepest nesting accepted in an answer (a call list is 3 levels before its values)."""

MAX_NODES = 20_000
"""Most JSON values (containers and scalars) accepted in one answer."""

MAX_CALLS = 64
"""Most calls accepted in one answer."""

MAX_SCAN_TRIES = 64
"""Balanced spans the fallback scan decodes at most (latest-ending first)."""

_MAX_INT_DIGITS = 30
"""Strings of more digits are never coerced to int (keeps int() cheap and bounded)."""


class CallParseError(ValueError):
    """The answer could not be read as function calls; ``detail`` is a short reason code."""

    def __init__(self, detail: str, message: str = "") -> None:
        super().__init__(message or detail)
        self.detail = detail


@dataclass(frozen=True)
class Call:
    """One function call: a tool name and its arguments (a JSON object)."""

    name: str
    arguments: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments}


# ------------------------------------------------------------------ JSON, bounded


def _reject_constant(token: str) -> Any:
    raise ValueError(f"non-standard JSON constant {token}")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def check_bounds(value: Any) -> None:
    """Raise CallParseError if ``value`` nests deeper than MAX_DEPTH or has too many nodes."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    nodes = 0
    while stack:
        v, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise CallParseError("too_large", f"more than {MAX_NODES} JSON values")
        if isinstance(v, (list, dict)):
            if depth > MAX_DEPTH:
                raise CallParseError("too_deep", f"nested deeper than {MAX_DEPTH} levels")
            children = v.values() if isinstance(v, dict) else v
            stack.extend((c, depth + 1) for c in children)


def loads_bounded(text: str) -> Any:
    """``json.loads`` with size, depth and node bounds; errors are CallParseError."""
    if len(text) > MAX_JSON_CHARS:
        raise CallParseError("too_large", f"JSON longer than {MAX_JSON_CHARS} characters")
    try:
        value = _DECODER.decode(text)
    except RecursionError as ex:
        raise CallParseError("too_deep", "JSON nested too deeply") from ex
    except ValueError as ex:  # JSONDecodeError, huge ints, NaN/Infinity
        raise CallParseError("invalid_json", str(ex)[:200]) from ex
    check_bounds(value)
    return value


# ------------------------------------------------------------------ answer shape


def _call_from_obj(obj: Any) -> Call:
    if not isinstance(obj, dict):
        raise CallParseError("bad_shape", "a call must be a JSON object")
    if "function" in obj and isinstance(obj["function"], dict) and "name" not in obj:
        obj = obj["function"]  # OpenAI style {"type": "function", "function": {...}}
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        raise CallParseError("bad_shape", "a call needs a string 'name'")
    args: Any = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):
        args = loads_bounded(args) if args.strip() else {}
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise CallParseError("bad_shape", f"arguments of '{name[:80]}' are not a JSON object")
    return Call(name=name, arguments=args)


def calls_from_json(value: Any) -> list[Call]:
    """Calls from a decoded answer: a list of calls, one call, or ``{"tool_calls": [...]}``."""
    if isinstance(value, dict) and "tool_calls" in value and "name" not in value:
        value = value["tool_calls"]
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise CallParseError("bad_shape", "expected a JSON list of calls")
    if len(value) > MAX_CALLS:
        raise CallParseError("too_many_calls", f"more than {MAX_CALLS} calls")
    return [_call_from_obj(item) for item in value]


def _looks_like_calls(value: Any) -> bool:
    if isinstance(value, dict):
        return "name" in value or "tool_calls" in value or isinstance(value.get("function"), dict)
    return isinstance(value, list) and all(
        isinstance(v, dict) and ("name" in v or isinstance(v.get("function"), dict)) for v in value
    )


# ------------------------------------------------------------------ finding the answer

_ERROR_RANK = {"empty": 0, "too_large": 5, "too_deep": 4, "too_many_calls": 4, "bad_shape": 3, "invalid_json": 2, "no_calls": 1}


def _strip_fence(text: str) -> str:
    s = text.strip()
    if s.startswith("```"):
        s = s[3:]
        end = s.rfind("```")
        if end >= 0:
            s = s[:end]
        first_line, nl, rest = s.partition("\n")
        if nl and re.fullmatch(r"[A-Za-z0-9_+-]{0,20}", first_line.strip()):
            s = rest
    return s.strip()


def _last_tag(text: str, tag: str) -> str | None:
    close = text.rfind(f"</{tag}>")
    if close < 0:
        return None
    opening = text.rfind(f"<{tag}>", 0, close)
    if opening < 0:
        return None
    return text[opening + len(tag) + 2 : close]


def _tool_call_blocks(text: str) -> list[str]:
    """Contents of ``<tool_call>...</tool_call>`` blocks (linear time; at most MAX_CALLS+1)."""
    pieces = text.split("<tool_call>")[1:]
    blocks = []
    for piece in pieces[-(MAX_CALLS + 1) :]:
        content, sep, _ = piece.partition("</tool_call>")
        if sep:
            blocks.append(content)
    return blocks


def _last_fence(text: str) -> str | None:
    """Content of the last closed code fence (language tag dropped)."""
    parts = text.split("```")
    # fenced contents sit at odd indices; the last one is closed if a part follows it
    i = len(parts) - 2 if len(parts) % 2 == 1 else len(parts) - 3
    if i < 1:
        return None
    return _strip_fence("```" + parts[i] + "```")


def _bracket_pairs(window: str, strings: bool = True) -> list[tuple[int, int]]:
    """(start, end) of every balanced [...] / {...} outside JSON strings, in one linear pass.

    A raw newline ends a string (JSON strings cannot hold one), so a stray quote in prose
    only masks the rest of its line; ``strings=False`` ignores quotes altogether (the
    second try, for a stray quote on the answer's own line).
    """
    pairs: list[tuple[int, int]] = []
    stack: list[tuple[int, str]] = []
    in_string = escaped = False
    closers = {"]": "[", "}": "{"}
    for i, ch in enumerate(window):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"' or ch == "\n":
                in_string = False
        elif ch == '"' and strings:
            in_string = True
        elif ch == "[" or ch == "{":
            stack.append((i, ch))
        elif ch in closers:
            if stack and stack[-1][1] == closers[ch]:
                pairs.append((stack.pop()[0], i))
            else:
                stack.clear()  # unbalanced: nothing open so far can close properly
    return pairs


def _scan(text: str) -> list[Call] | None:
    """Calls from the call-shaped JSON value that ends last in ``text`` (outermost first).

    Bounded: one linear pass over the last MAX_JSON_CHARS characters, then at most
    MAX_SCAN_TRIES decodes of balanced spans (twice: with and without string tracking).
    """
    window = text[-MAX_JSON_CHARS:]
    tried: set[tuple[int, int]] = set()
    for strings in (True, False):
        pairs = [p for p in _bracket_pairs(window, strings) if p not in tried]
        pairs.sort(key=lambda p: (-p[1], p[0]))
        for start, end in pairs[:MAX_SCAN_TRIES]:
            tried.add((start, end))
            try:
                value = loads_bounded(window[start : end + 1])
            except CallParseError as err:
                if err.detail in ("too_deep", "too_large"):
                    raise
                continue
            if _looks_like_calls(value):
                return calls_from_json(value)
    return None


def _from_blocks(blocks: list[str]) -> list[Call]:
    if len(blocks) > MAX_CALLS:
        raise CallParseError("too_many_calls", f"more than {MAX_CALLS} <tool_call> blocks")
    calls: list[Call] = []
    for block in blocks:
        calls.extend(calls_from_json(loads_bounded(_strip_fence(block))))
    if len(calls) > MAX_CALLS:
        raise CallParseError("too_many_calls", f"more than {MAX_CALLS} calls")
    return calls


def _from_marked(content: str) -> list[Call]:
    """Calls from text the model marked as its answer (a tag or a fence)."""
    content = _strip_fence(content)
    if not content:
        raise CallParseError("empty", "empty answer block")
    return calls_from_json(loads_bounded(content))


def parse_calls(text: str) -> list[Call]:
    """Read function calls from a model's text answer (see the module docstring)."""
    if not isinstance(text, str) or not text.strip():
        raise CallParseError("empty", "empty answer")
    text = text[-MAX_OUTPUT_CHARS:]
    attempts: list[tuple[str, Any]] = []
    answer = _last_tag(text, "answer")
    if answer is not None:
        attempts.append(("answer", answer))
    blocks = _tool_call_blocks(text)
    if blocks:
        attempts.append(("blocks", blocks))
    fence = _last_fence(text)
    if fence is not None:
        attempts.append(("fence", fence))
    whole = _strip_fence(text)
    if whole[:1] in ("[", "{"):
        attempts.append(("whole", whole))

    worst: CallParseError | None = None
    for kind, content in attempts:
        try:
            if kind == "blocks":
                return _from_blocks(content)
            if kind == "whole":
                value = loads_bounded(content)
                if not _looks_like_calls(value):
                    raise CallParseError("bad_shape", "the JSON answer is not a list of calls")
                return calls_from_json(value)
            return _from_marked(content)
        except CallParseError as err:
            if err.detail == "too_large":
                raise  # never fall back to reading a fragment of an oversized answer
            if worst is None or _ERROR_RANK.get(err.detail, 0) > _ERROR_RANK.get(worst.detail, 0):
                worst = err
    found = _scan(text)
    if found is not None:
        return found
    if worst is not None:
        raise worst
    raise CallParseError("no_calls", "no JSON list of calls found")


# ------------------------------------------------------------------ tool schema


@dataclass(frozen=True)
class TypeSpec:
    """A declared parameter type: kind is str/int/float/bool/list/dict/any."""

    kind: str = "any"
    item: "TypeSpec | None" = None
    optional: bool = False


@dataclass(frozen=True)
class ParamSpec:
    type: TypeSpec
    has_default: bool
    default: Any = None


@dataclass
class ToolSpec:
    name: str
    params: dict[str, ParamSpec] = field(default_factory=dict)


_KINDS = {
    "str": "str", "string": "str", "text": "str",
    "int": "int", "integer": "int", "long": "int",
    "float": "float", "number": "float", "double": "float", "decimal": "float",
    "bool": "bool", "boolean": "bool",
    "list": "list", "array": "list", "sequence": "list", "tuple": "list", "set": "list", "iterable": "list",
    "dict": "dict", "object": "dict", "mapping": "dict",
}  # fmt: skip
_OPTIONAL_SUFFIX = re.compile(r",\s*optional\s*$", re.IGNORECASE)
_GENERIC = re.compile(r"^(?:typing\.)?(\w+)\s*(?:\[(.*)\])?$", re.DOTALL)


def parse_type(declared: Any, _depth: int = 0) -> TypeSpec:
    """``"List[int], optional"`` -> TypeSpec("list", TypeSpec("int"), optional=True)."""
    if not isinstance(declared, str) or _depth > 5:
        return TypeSpec()
    s = declared.strip()
    optional = bool(_OPTIONAL_SUFFIX.search(s))
    s = _OPTIONAL_SUFFIX.sub("", s).strip()
    m = _GENERIC.match(s)
    if m and m.group(1).lower() == "optional" and m.group(2):
        optional = True
        m = _GENERIC.match(m.group(2).strip())
    if not m:
        return TypeSpec(optional=optional)
    kind = _KINDS.get(m.group(1).lower(), "any")
    item = None
    if kind == "list" and m.group(2):
        inner = m.group(2)
        # Tuple[int, int] / List[int]: one item type only when it is unambiguous
        parts = {p.strip() for p in inner.split(",")} if "[" not in inner else {inner.strip()}
        if len(parts) == 1:
            item = parse_type(parts.pop(), _depth + 1)
    return TypeSpec(kind=kind, item=item, optional=optional)


def parse_tools(tools: Any) -> dict[str, ToolSpec]:
    """Tool specs by name from an xLAM ``tools`` value (JSON string or decoded list).

    Malformed entries are skipped (their calls are then matched without type information).
    Also reads JSON-Schema-like parameters (``{"type": "object", "properties": ...}``).
    """
    if isinstance(tools, str):
        try:
            tools = json.loads(tools)
        except ValueError:
            return {}
    specs: dict[str, ToolSpec] = {}
    if not isinstance(tools, list):
        return specs
    for tool in tools:
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            continue
        params = tool.get("parameters") or {}
        required: set[str] | None = None
        if isinstance(params, dict) and isinstance(params.get("properties"), dict):
            required = set(params.get("required") or [])
            params = params["properties"]
        spec = ToolSpec(name=tool["name"])
        if isinstance(params, dict):
            for pname, pinfo in params.items():
                if not isinstance(pinfo, dict):
                    continue
                t = parse_type(pinfo.get("type"))
                if required is not None and pname not in required:
                    t = TypeSpec(t.kind, t.item, optional=True)
                if pinfo.get("required") is False:
                    t = TypeSpec(t.kind, t.item, optional=True)
                spec.params[str(pname)] = ParamSpec(
                    type=t, has_default="default" in pinfo, default=pinfo.get("default")
                )
        specs[spec.name] = spec
    return specs


# ------------------------------------------------------------------ canonical forms


def _number(x: int | float) -> int | float:
    """One representation per numeric value: integral floats become ints."""
    if isinstance(x, float) and math.isfinite(x) and x.is_integer() and abs(x) < 2**63:
        return int(x)
    return x


def canonical_exact(value: Any) -> Any:
    """JSON value equality (numbers by value, bool distinct from numbers)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, dict):
        return {str(k): canonical_exact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical_exact(v) for v in value]
    return str(value)


_WS = re.compile(r"\s+")
_COMMA_WS = re.compile(r"\s*,\s*")


def normalize_string(s: str) -> str:
    """Case-folded, trimmed, whitespace collapsed, no spaces around commas."""
    return _COMMA_WS.sub(",", _WS.sub(" ", s.strip().casefold()))


def _generic(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, str):
        return normalize_string(value)
    if isinstance(value, dict):
        return {str(k): _generic(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_generic(v) for v in value]
    return normalize_string(str(value))


_INT_STR = re.compile(rf"[+-]?\d{{1,{_MAX_INT_DIGITS}}}")
_FLOAT_STR = re.compile(r"[+-]?(?:\d{1,40}(?:\.\d{0,40})?|\.\d{1,40})(?:[eE][+-]?\d{1,3})?")
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


def _to_number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        s = value.strip()
        if _INT_STR.fullmatch(s):
            return int(s)
        if _FLOAT_STR.fullmatch(s):
            return float(s)
    return None


def _maybe_json(value: str, opener: str) -> Any:
    s = value.strip()
    if s.startswith(opener):
        try:
            return loads_bounded(s)
        except CallParseError:
            return None
    return None


def canonical_lenient(value: Any, t: TypeSpec | None) -> Any:
    """Coerce ``value`` to the declared type ``t`` where unambiguous, then normalise."""
    kind = t.kind if t is not None else "any"
    if kind == "int":
        n = _to_number(value)
        if n is not None:
            n = _number(n)
            if isinstance(n, int):
                return n
    elif kind == "float":
        n = _to_number(value)
        if n is not None:
            return _number(float(n)) if abs(n) < 1e308 else _number(n)
    elif kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            s = value.strip().casefold()
            if s in _TRUE:
                return True
            if s in _FALSE:
                return False
    elif kind == "str":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return normalize_string(json.dumps(_number(value)))
    elif kind == "list":
        items: Any = value
        if isinstance(value, str):
            decoded = _maybe_json(value, "[")
            if isinstance(decoded, list):
                items = decoded
            elif value.strip() == "":
                items = []
            else:
                items = value.split(",")
        elif not isinstance(value, (list, tuple, dict)) and value is not None:
            items = [value]
        if isinstance(items, (list, tuple)):
            return [canonical_lenient(v, t.item if t else None) for v in items]
    elif kind == "dict":
        if isinstance(value, str):
            decoded = _maybe_json(value, "{")
            if isinstance(decoded, dict):
                return _generic(decoded)
    return _generic(value)


_OMITTED = object()


def _canonical_arguments(call: Call, tools: Mapping[str, ToolSpec], mode: MatchMode) -> dict[str, Any]:
    if mode == "exact":
        return {str(k): canonical_exact(v) for k, v in call.arguments.items()}
    spec = tools.get(call.name.strip())
    out: dict[str, Any] = {}
    for key, value in call.arguments.items():
        pname = str(key)
        param = spec.params.get(pname) if spec else None
        t = param.type if param else None
        if value is None and (param is None or param.type.optional or param.has_default):
            continue  # null for an optional parameter: omitted
        canon = canonical_lenient(value, t)
        if param is not None and _equals_default(canon, param):
            continue
        out[pname] = canon
    return out


def _equals_default(canon: Any, param: ParamSpec) -> bool:
    if not param.has_default or param.default is None:
        return False
    if param.default == "" and not param.type.optional:
        return False  # "" on a required parameter means "no default" in xLAM
    return canonical_lenient(param.default, param.type) == canon


def call_key(call: Call, tools: Mapping[str, ToolSpec], mode: MatchMode) -> str:
    """A hashable canonical form of one call (equal keys = matching calls)."""
    name = call.name if mode == "exact" else call.name.strip()
    args = _canonical_arguments(call, tools, mode)
    return json.dumps([name, args], sort_keys=True, ensure_ascii=False)


# ------------------------------------------------------------------ matching


@dataclass(frozen=True)
class MatchResult:
    correct: bool
    reason: str
    """correct, wrong_count, wrong_name or wrong_arguments."""
    missing: tuple[str, ...] = ()
    """Canonical gold calls with no predicted partner (at most 8)."""
    unexpected: tuple[str, ...] = ()
    """Canonical predicted calls with no gold partner (at most 8)."""


def _as_calls(calls: Iterable[Call | Mapping[str, Any]]) -> list[Call]:
    return [c if isinstance(c, Call) else _call_from_obj(dict(c)) for c in calls]


def match_calls(
    predicted: Sequence[Call | Mapping[str, Any]],
    gold: Sequence[Call | Mapping[str, Any]],
    tools: Any = None,
    mode: MatchMode = "exact",
) -> MatchResult:
    """Compare predicted with gold calls as multisets (see the module docstring).

    ``tools`` is the xLAM tools value (JSON string or list) or the result of
    :func:`parse_tools`; it is only used in ``lenient`` mode.
    """
    if mode not in MATCH_MODES:
        raise ValueError(f"match mode must be one of {', '.join(MATCH_MODES)}, not {mode!r}")
    specs: Mapping[str, ToolSpec]
    if isinstance(tools, Mapping) and all(isinstance(v, ToolSpec) for v in tools.values()):
        specs = tools
    else:
        specs = parse_tools(tools) if (tools is not None and mode == "lenient") else {}
    pred_calls, gold_calls = _as_calls(predicted), _as_calls(gold)
    pred_keys = Counter(call_key(c, specs, mode) for c in pred_calls)
    gold_keys = Counter(call_key(c, specs, mode) for c in gold_calls)
    if pred_keys == gold_keys:
        return MatchResult(True, "correct")
    missing = tuple(list((gold_keys - pred_keys).elements())[:8])
    unexpected = tuple(list((pred_keys - gold_keys).elements())[:8])
    if len(pred_calls) != len(gold_calls):
        reason = "wrong_count"
    else:
        norm = (lambda s: s) if mode == "exact" else str.strip
        same_names = Counter(norm(c.name) for c in pred_calls) == Counter(norm(c.name) for c in gold_calls)
        reason = "wrong_arguments" if same_names else "wrong_name"
    return MatchResult(False, reason, missing, unexpected)

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

**Tools declared to the model** (:func:`declare_tools`): each xLAM tool as a function
definition with a JSON Schema of its parameters, under a provider-safe name (bounded and
defensive; see the function).

**Matching** (:func:`match_calls`): in ``exact`` and ``lenient`` mode predicted and gold
calls are compared as multisets of ``(name, canonical arguments)``: order does not matter,
duplicates count (two identical gold calls need two identical predicted calls). How
arguments are made canonical depends on the mode:

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
  string. Strings (also inside lists and objects) are compared trimmed, with runs of
  whitespace collapsed and no spaces around commas, but with their case kept: a value
  can be an identifier (``"AAPL"`` is not ``"aapl"``). A parameter whose value
  equals its declared default (coerced the same way) is treated as omitted, on both
  sides, so "omitted" equals "given its default"; ``null`` for an optional parameter is
  omitted too. Parameters the tool does not declare are kept and compared with the
  generic rules. Lists stay ordered in both modes.

- ``bfcl``: the Berkeley Function Calling Leaderboard's AST checker (see the ``bfcl mode``
  section below): strict Python types with int -> float promotion, strings compared
  without spaces and ``,./-_*^`` and lower-cased, optional parameters, lists of
  acceptable values, greedy order-free matching of parallel calls.

Every mode returns a :class:`MatchResult` whose ``reason`` is ``correct``,
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

MatchMode = Literal["exact", "lenient", "bfcl"]
MATCH_MODES: tuple[str, ...] = ("exact", "lenient", "bfcl")

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


# ------------------------------------------------------------------ tools declared to the model

MAX_TOOLS = 128
"""Most tools declared for one sample (xLAM rows have 1-8)."""

MAX_PARAMS = 64
"""Most parameters declared per tool."""

MAX_DESCRIPTION_CHARS = 2_000
"""Tool and parameter descriptions are cut to this length."""

MAX_TOOL_NAME_CHARS = 64
"""Longest tool name providers accept (OpenAI, Gemini)."""

_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")
_JSON_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "list": "array", "dict": "object"}
_JSON_KINDS = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict}


@dataclass(frozen=True)
class ToolSchema:
    """One xLAM tool as a function definition (JSON Schema parameters)."""

    name: str
    """The name declared to the model: the xLAM name, made safe for every provider."""
    original: str
    """The name in the dataset (what gold calls use)."""
    description: str
    parameters: dict[str, Any]
    """``{"type": "object", "properties": {...}, "required": [...]}``."""


@dataclass(frozen=True)
class DeclaredTools:
    tools: tuple[ToolSchema, ...] = ()
    warnings: tuple[str, ...] = ()
    """What was skipped or changed in a malformed or unusual spec (one line each)."""

    def original_name(self, declared: str) -> str:
        """The dataset's name for a declared name (names the model made up pass through)."""
        for tool in self.tools:
            if tool.name == declared:
                return tool.original
        return declared

    def declared_name(self, original: str) -> str:
        for tool in self.tools:
            if tool.original == original:
                return tool.name
        return original


def _safe_name(name: str, used: set[str]) -> str:
    """``[A-Za-z_][A-Za-z0-9_-]{0,63}``, unique among ``used``."""
    base = _UNSAFE_NAME_CHARS.sub("_", name)[:MAX_TOOL_NAME_CHARS] or "tool"
    if not (base[0].isalpha() or base[0] == "_"):
        base = ("t_" + base)[:MAX_TOOL_NAME_CHARS]
    candidate, k = base, 2
    while candidate in used:
        suffix = f"_{k}"
        candidate, k = base[: MAX_TOOL_NAME_CHARS - len(suffix)] + suffix, k + 1
    return candidate


def _type_schema(t: TypeSpec, declared: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {}
    if t.kind in _JSON_TYPES:
        schema["type"] = _JSON_TYPES[t.kind]
        if t.kind == "list":
            schema["items"] = _type_schema(t.item, None) if t.item is not None else {}
    elif isinstance(declared, str):
        # Union[int, str] (and the like): anyOf the members that have a JSON type
        m = _GENERIC.match(_OPTIONAL_SUFFIX.sub("", declared.strip()))
        if m and m.group(1).lower() == "union" and m.group(2) and "[" not in m.group(2):
            members = [parse_type(part) for part in m.group(2).split(",")[:8]]
            known = [_type_schema(x, None) for x in members if x.kind in _JSON_TYPES]
            if len(known) == len(members) and known:
                schema["anyOf"] = known
    return schema


def _describe(value: Any) -> str:
    return value[:MAX_DESCRIPTION_CHARS] if isinstance(value, str) else ""


def _param_schema(pname: str, pinfo: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """(JSON Schema of one parameter, required?) from an xLAM ``{description, type, default}``.

    Every parameter gets a description (its name when the spec has none): inspect refuses
    to send a tool whose parameters lack one."""
    raw_type = pinfo.get("type")
    t = parse_type(raw_type) if isinstance(raw_type, str) else TypeSpec()
    if isinstance(raw_type, str) and raw_type.strip() in _JSON_KINDS:  # already JSON Schema
        t = TypeSpec(kind=_KINDS.get(raw_type.strip(), "any"), optional=t.optional)
        items = pinfo.get("items")
        if t.kind == "list" and isinstance(items, dict) and isinstance(items.get("type"), str):
            t = TypeSpec("list", parse_type(items["type"]), t.optional)
    schema = _type_schema(t, raw_type)
    schema["description"] = _describe(pinfo.get("description")).strip() or pname[:MAX_DESCRIPTION_CHARS]
    if "default" in pinfo and pinfo["default"] not in (None, ""):
        default = canonical_lenient(pinfo["default"], t) if t.kind != "any" else pinfo["default"]
        expected = _JSON_KINDS.get(str(schema.get("type")))
        if expected is not None and isinstance(default, expected) and not (isinstance(default, bool) and t.kind != "bool"):
            try:
                check_bounds(default)
                schema["default"] = default
            except CallParseError:
                pass
    required = not (t.optional or pinfo.get("required") is False)
    return schema, required


def declare_tools(tools: Any) -> DeclaredTools:
    """Function definitions for an xLAM ``tools`` value (JSON string or decoded list).

    Each tool becomes ``{name, description, parameters}`` with a JSON Schema object of its
    parameters: the declared type (``int`` -> ``integer``, ``List[str]`` -> an array of
    strings, ``Union[int, str]`` -> ``anyOf``; a type with no JSON equivalent is left
    open), the description, the default when it has the declared type, and ``required``
    for every parameter not marked optional. Names are made safe for every provider
    (``[A-Za-z_][A-Za-z0-9_-]{0,63}``; :meth:`DeclaredTools.original_name` maps back).
    Defensive: entries that are not ``{name: str, ...}`` objects, duplicate names,
    non-object parameters are skipped with a warning; at most ``MAX_TOOLS`` tools,
    ``MAX_PARAMS`` parameters each, descriptions cut to ``MAX_DESCRIPTION_CHARS``.
    """
    warnings: list[str] = []
    if isinstance(tools, str):
        try:
            tools = loads_bounded(tools)
        except CallParseError as err:
            return DeclaredTools((), (f"tools are not readable JSON ({err.detail})",))
    if not isinstance(tools, list):
        return DeclaredTools((), ("tools are not a JSON list",))
    if len(tools) > MAX_TOOLS:
        warnings.append(f"{len(tools)} tools: only the first {MAX_TOOLS} declared")
    kept: list[tuple[str, str, dict[str, Any]]] = []  # (original name, description, parameters)
    originals: set[str] = set()
    for i, tool in enumerate(tools[:MAX_TOOLS]):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str) or not tool["name"].strip():
            warnings.append(f"tool {i}: not an object with a name; skipped")
            continue
        original = tool["name"]
        if original in originals:
            warnings.append(f"tool {original[:80]!r}: declared twice; the first kept")
            continue
        params = tool.get("parameters")
        if isinstance(params, dict) and isinstance(params.get("properties"), dict):  # JSON Schema already
            required_list = params.get("required")
            required_names = {r for r in required_list if isinstance(r, str)} if isinstance(required_list, list) else set()
            params = {
                k: ({**v, "required": k in required_names} if isinstance(v, dict) else v)
                for k, v in params["properties"].items()
            }
        if params is None:
            params = {}
        if not isinstance(params, dict):
            warnings.append(f"tool {original[:80]!r}: parameters are not an object; declared without parameters")
            params = {}
        if len(params) > MAX_PARAMS:
            warnings.append(f"tool {original[:80]!r}: {len(params)} parameters, only the first {MAX_PARAMS} declared")
        properties: dict[str, Any] = {}
        required: list[str] = []
        for pname, pinfo in list(params.items())[:MAX_PARAMS]:
            if not isinstance(pinfo, dict) or not str(pname).strip():
                warnings.append(f"tool {original[:80]!r}: parameter {str(pname)[:80]!r} is not a named object; skipped")
                continue
            schema, is_required = _param_schema(str(pname), pinfo)
            properties[str(pname)] = schema
            if is_required:
                required.append(str(pname))
        originals.add(original)
        description = _describe(tool.get("description")).strip() or original[:MAX_DESCRIPTION_CHARS]
        kept.append((original, description, {"type": "object", "properties": properties, "required": required}))
    # names already safe keep them; the others get a safe name no kept name uses
    used = {o for o, _, _ in kept if _safe_name(o, set()) == o}
    declared: list[ToolSchema] = []
    for original, description, parameters in kept:
        name = original if original in used else _safe_name(original, used)
        if name != original:
            warnings.append(f"tool {original[:80]!r} declared as {name!r} (provider-safe name)")
            used.add(name)
        declared.append(ToolSchema(name, original, description, parameters))
    return DeclaredTools(tuple(declared), tuple(warnings))


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
    """Trimmed, whitespace collapsed, no spaces around commas; case kept (identifiers)."""
    return _COMMA_WS.sub(",", _WS.sub(" ", s.strip()))


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
    detail: str = ""
    """``bfcl`` mode: the check that failed, as BFCL names it (e.g. ``type_error:simple``)."""


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
    :func:`parse_tools`; ``exact`` mode does not use it.
    """
    if mode not in MATCH_MODES:
        raise ValueError(f"match mode must be one of {', '.join(MATCH_MODES)}, not {mode!r}")
    specs: Mapping[str, ToolSpec]
    if isinstance(tools, Mapping) and all(isinstance(v, ToolSpec) for v in tools.values()):
        specs = tools
    else:
        specs = parse_tools(tools) if (tools is not None and mode != "exact") else {}
    pred_calls, gold_calls = _as_calls(predicted), _as_calls(gold)
    failure: str | None = None
    if mode == "bfcl":
        failure = bfcl_failure(pred_calls, gold_calls, specs)
        if failure is None:
            return MatchResult(True, "correct")
    key_mode: MatchMode = "exact" if mode == "bfcl" else mode
    pred_keys = Counter(call_key(c, specs, key_mode) for c in pred_calls)
    gold_keys = Counter(call_key(c, specs, key_mode) for c in gold_calls)
    if mode != "bfcl" and pred_keys == gold_keys:
        return MatchResult(True, "correct")
    missing = tuple(list((gold_keys - pred_keys).elements())[:8])
    unexpected = tuple(list((pred_keys - gold_keys).elements())[:8])
    if len(pred_calls) != len(gold_calls):
        reason = "wrong_count"
    else:
        norm = str.strip if mode == "lenient" else (lambda s: s)
        same_names = Counter(norm(c.name) for c in pred_calls) == Counter(norm(c.name) for c in gold_calls)
        reason = "wrong_arguments" if same_names else "wrong_name"
    return MatchResult(False, reason, missing, unexpected, failure or "")


# ------------------------------------------------------------------ bfcl mode
#
# The Berkeley Function Calling Leaderboard's AST checker (bfcl_eval/eval_checker/ast_eval/
# ast_checker.py, Python rules), applied to xLAM rows. BFCL compares each predicted call
# with a gold answer that lists, per parameter, the acceptable values ("" = may be
# omitted). An xLAM gold call gives one value per parameter, so it is read as:
#   - a parameter the gold call gives: [value], plus "" when the parameter is optional and
#     the value equals its declared default;
#   - an optional parameter the gold call leaves out: [its declared default, ""] (or [""]
#     without a default);
#   - a required parameter the gold call leaves out is not expected at all (xLAM marks
#     optional parameters unreliably; BFCL's own data never does this).
# The checks, in BFCL's order, on the calls (same number, else wrong): for each gold call
# in turn, the first unmatched predicted call that passes (greedy, order-free, as BFCL's
# parallel checker; it can miss a matching when one call passes for two gold calls):
#   name equal; every required parameter present; no parameter outside the expected ones;
#   each value of its declared Python type (bool is not int; an int is promoted for a
#   float parameter; a value of the gold value's own type is taken as a "variable" and
#   compared as is; list items checked one level deep); strings compared after removing
#   spaces and ,./-_*^, lower-cased, ' read as "; lists element-wise (strings
#   standardised); dicts key by key, one level; anything else by ==; finally every
#   expected parameter without "" must be present.
# Declared types xLAM has that BFCL does not (anything parse_type reads as "any") are not
# type-checked, nor is a parameter whose gold value fails BFCL's checks for its declared
# type (e.g. "" or [None, False] for a List[int]: BFCL could match nothing to it); both
# are compared as given. Parameters the gold call gives but the tool does not declare are
# expected (BFCL would refuse them, but xLAM rows do contain them).

_BFCL_PUNCT = re.compile(r"[ ,./\-_*^]")
_BFCL_TYPES: dict[str, type] = {"str": str, "int": int, "float": float, "bool": bool, "list": list, "dict": dict}


def bfcl_standardize(s: str) -> str:
    """BFCL's ``standardize_string``: no spaces or ,./-_*^, lower case, ' as \"."""
    return _BFCL_PUNCT.sub("", s).lower().replace("'", '"')


def _std(v: Any) -> Any:
    return bfcl_standardize(v) if type(v) is str else v


def _first_type(acceptable: Sequence[Any]) -> type | None:
    """BFCL's ``get_possible_answer_type``: the type of the first value that is not ""."""
    for v in acceptable:
        if v != "":
            return type(v)
    return None


def _bfcl_default(param: ParamSpec) -> Any:
    if not param.has_default or param.default is None or param.default == "":
        return None
    return canonical_lenient(param.default, param.type)


def _bfcl_gold_value(value: Any, kind: str | None, item: str | None) -> Any:
    """A gold value in BFCL's shape: dict values (one level) become lists of acceptable values."""
    if kind == "dict" and isinstance(value, dict):
        return {k: [v] for k, v in value.items()}
    if kind == "list" and item == "dict" and isinstance(value, list):
        return [{k: [v] for k, v in d.items()} if isinstance(d, dict) else d for d in value]
    return value


@dataclass(frozen=True)
class _BfclParam:
    acceptable: list[Any]
    kind: str | None
    """Declared kind (str/int/float/bool/list/dict), None when not declared or not known."""
    item: str | None = None
    required: bool = False


def _bfcl_expected(gold: Call, spec: ToolSpec | None) -> dict[str, _BfclParam]:
    expected: dict[str, _BfclParam] = {}
    declared = spec.params if spec is not None else {}
    for name, value in gold.arguments.items():
        param = declared.get(name)
        kind = param.type.kind if param is not None and param.type.kind in _BFCL_TYPES else None
        item = param.type.item.kind if param is not None and param.type.item is not None else None
        if kind is not None and _bfcl_value_ok(value, _BfclParam([_bfcl_gold_value(value, kind, item)], kind, item)):
            kind = item = None  # the gold value breaks its declared type (an xLAM data error): compare as given
        acceptable = [_bfcl_gold_value(value, kind, item)]
        optional = param is not None and param.type.optional
        if param is not None and optional:
            default = _bfcl_default(param)
            if default is not None and default == canonical_lenient(value, param.type):
                acceptable.append("")
        expected[name] = _BfclParam(acceptable, kind, item, required=param is not None and not optional)
    for name, param in declared.items():
        if name in expected or not param.type.optional:
            continue
        kind = param.type.kind if param.type.kind in _BFCL_TYPES else None
        item = param.type.item.kind if param.type.item is not None else None
        default = _bfcl_default(param)
        acceptable = ([_bfcl_gold_value(default, kind, item)] if default is not None else []) + [""]
        expected[name] = _BfclParam(acceptable, kind, item)
    return expected


def _bfcl_type_ok(value: Any, acceptable: list[Any], expected: type | None, nested: type | None) -> tuple[bool, bool]:
    """BFCL's ``type_checker``: (valid, is_variable)."""
    answer_type = _first_type(acceptable)
    if expected is None:  # a type BFCL has no rule for: take the gold value's type
        expected = answer_type
        if expected is None:
            return True, False
    is_variable = answer_type is not None and answer_type is not expected
    if type(value) is expected:
        if nested is None:
            return True, is_variable
        for answer in acceptable:
            if type(answer) is list:
                item_type = _first_type(answer)
                if not all(type(v) is nested or (item_type is not None and type(v) is item_type) for v in value):
                    continue
            return True, is_variable
        return False, is_variable  # nested types wrong
    if answer_type is not None and type(value) is answer_type:
        return True, True
    return False, is_variable


def _bfcl_dict_ok(value: dict[str, Any], acceptable: list[Any]) -> bool:
    for answer in acceptable:
        if not isinstance(answer, dict):
            continue
        if all(
            key in answer and _std(v) in [_std(a) for a in (answer[key] if isinstance(answer[key], list) else [answer[key]])]
            for key, v in value.items()
        ) and all(key in value or "" in (vals if isinstance(vals, list) else [vals]) for key, vals in answer.items()):
            return True
    return False


def _bfcl_list_dicts_ok(value: list[Any], acceptable: list[Any]) -> bool:
    return any(
        isinstance(answer, list)
        and len(answer) == len(value)
        and all(isinstance(v, dict) and _bfcl_dict_ok(v, [a]) for v, a in zip(value, answer))
        for answer in acceptable
    )


def _bfcl_value_ok(value: Any, param: _BfclParam) -> str | None:
    """None when ``value`` passes BFCL's checks for this parameter, else BFCL's error type."""
    expected = _BFCL_TYPES.get(param.kind) if param.kind else None
    nested = _BFCL_TYPES.get(param.item) if (param.kind == "list" and param.item) else None
    if param.kind == "float" and type(value) is int:
        value = float(value)  # Python's int -> float promotion
    valid, is_variable = _bfcl_type_ok(value, param.acceptable, expected, nested)
    if not valid:
        return "type_error:nested" if (expected is not None and type(value) is expected) else "type_error:simple"
    if not is_variable and expected is not None:
        if expected is dict:
            return None if _bfcl_dict_ok(value, param.acceptable) else "value_error:dict"
        if expected is list and nested is dict:
            return None if _bfcl_list_dicts_ok(value, param.acceptable) else "value_error:list_dict"
        if expected is str:
            standard = [bfcl_standardize(a) for a in param.acceptable if type(a) is str]
            return None if bfcl_standardize(value) in standard else "value_error:string"
        if expected is list:
            mine = [_std(v) for v in value]
            # BFCL iterates every acceptable value, so "" reads as an empty list
            standard = [[_std(a) for a in answer] for answer in param.acceptable if isinstance(answer, (list, str))]
            return None if mine in standard else "value_error:list"
    return None if value in param.acceptable else "value_error:others"


def _bfcl_call_failure(pred: Call, gold: Call, expected: dict[str, _BfclParam]) -> str | None:
    if pred.name != gold.name:
        return "simple_function_checker:wrong_func_name"
    for name, param in expected.items():
        if param.required and name not in pred.arguments:
            return "simple_function_checker:missing_required"
    for name, value in pred.arguments.items():
        if name not in expected:
            return "simple_function_checker:unexpected_param"
        failure = _bfcl_value_ok(value, expected[name])
        if failure is not None:
            return failure
    for name, param in expected.items():
        if name not in pred.arguments and "" not in param.acceptable:
            return "simple_function_checker:missing_optional"
    return None


def bfcl_failure(predicted: Sequence[Call], gold: Sequence[Call], specs: Mapping[str, ToolSpec]) -> str | None:
    """None when BFCL's AST checker would accept ``predicted`` for ``gold``, else why not."""
    if len(predicted) != len(gold):
        return "parallel_function_checker_no_order:wrong_count"
    matched: set[int] = set()
    for g in gold:
        expected = _bfcl_expected(g, specs.get(g.name))
        last: str | None = "parallel_function_checker_no_order:cannot_find_match"
        for i, p in enumerate(predicted):
            if i in matched:
                continue
            last = _bfcl_call_failure(p, g, expected)
            if last is None:
                matched.add(i)
                break
        if last is not None:
            return last
    return None

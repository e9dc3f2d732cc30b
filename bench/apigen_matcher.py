"""Time the xLAM call parser and matcher (harness/benchmarks/apigen.py), typical and worst-case inputs.

    python bench/apigen_matcher.py [--rows harness/data/offline/apigen.jsonl] [--repeat 2000] [--random 10000]

For each row of an xLAM-schema file it times parse_calls + match_calls on the gold answer
written as the model would (JSON list with prose around it) in the three modes (exact,
lenient, bfcl) and declare_tools on its tools, then times a set of hostile answers (deep
nesting, 10^6-digit literals, 10 MB of text, marker floods) and a hostile tool spec, then
``--random`` seeded random hostile answers (wall-clock max and mean per parse + match,
the mode cycling through the three).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchjson import default_out, write_result  # noqa: E402

from harness.benchmarks.apigen import (  # noqa: E402
    MATCH_MODES,
    CallParseError,
    declare_tools,
    match_calls,
    parse_calls,
    parse_tools,
)

HOSTILE = {
    "[ x 10^6": "[" * 1_000_000,
    "{ x 10^6": "{" * 1_000_000,
    "deep closed nesting": "[" * 15_000 + "]" * 15_000,
    "10^6-digit int": '[{"name": "f", "arguments": {"n": ' + "9" * 1_000_000 + "}}]",
    "10 MB prose": "x" * 10_000_000,
    "<tool_call> x 10^5": "<tool_call>" * 100_000 + "</tool_call>",
    "``` x 3*10^5": "```" * 300_000,
    "escaped quotes": '"\\' * 20_000,
    "99**98**97": "99**98**97",
}


PIECES = [
    "[", "]", "{", "}", '"', "\\", ",", ":", "```", "<answer>", "</answer>", "<tool_call>", "</tool_call>",
    '{"name": "f", "arguments": ', '{"n": ', "NaN", "1e999999", '"name"', "null", " ", "\n", "x",
]


def random_hostile(rnd: random.Random) -> str:
    kind = rnd.randrange(4)
    if kind == 0:  # deep nesting, sometimes closed
        opener = rnd.choice(["[", '{"a":', '[{"name":"f","arguments":{"x":'])
        depth = rnd.randint(1, 200_000 // len(opener))
        return opener * depth + rnd.choice(["", "]" * depth, "1"])
    if kind == 1:  # huge literal in a call
        size = rnd.randint(1, 1_000_000)
        literal = rnd.choice(["9" * size, '"' + "a" * size + '"'])
        return '[{"name": "f", "arguments": {"n": ' + literal + "}}]"
    if kind == 2:  # marker floods
        return rnd.choice(["<tool_call>", "```", "<answer>", "[", "{", '["', "\\"]) * rnd.randint(1, 100_000)
    return "".join(rnd.choice(PIECES) for _ in range(rnd.randint(0, 3000)))


def _time(fn, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default=str(Path(__file__).parents[1] / "harness" / "data" / "offline" / "apigen.jsonl"))
    ap.add_argument("--repeat", type=int, default=2000)
    ap.add_argument("--random", type=int, default=10_000, help="random hostile answers to time")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=default_out("apigen_matcher"))
    args = ap.parse_args()
    load_start = os.getloadavg()[0]
    result: dict = {"modes": {}, "hostile": {}}
    rows = [json.loads(line) for line in Path(args.rows).read_text().splitlines() if line.strip()]
    for mode in MATCH_MODES:
        per_call = []
        for row in rows:
            gold = json.loads(row["answers"])
            tools = parse_tools(row["tools"])
            text = "Here are the calls:\n" + json.dumps(gold) + "\nDone."

            def one() -> None:
                assert match_calls(parse_calls(text), gold, tools, mode).correct

            per_call.append(_time(one, args.repeat))
        result["modes"][mode] = {"rows": len(rows), "median_us": statistics.median(per_call) * 1e6,
                                 "max_us": max(per_call) * 1e6}
        print(
            f"{mode:8s} parse+match per answer over {len(rows)} rows: "
            f"median {statistics.median(per_call) * 1e6:.1f} us, max {max(per_call) * 1e6:.1f} us"
        )
    per_row = [_time(lambda: declare_tools(row["tools"]), args.repeat) for row in rows]
    print(f"declare_tools per row: median {statistics.median(per_row) * 1e6:.1f} us, max {max(per_row) * 1e6:.1f} us")
    hostile_spec = [
        {"name": "x" * 10_000, "description": "d" * 1_000_000,
         "parameters": {f"p{i}": {"type": "List[" * 60 + "int"} for i in range(500)}},
        *({"name": f"t.{i}"} for i in range(1_000)),
    ]
    start = time.perf_counter()
    declared = declare_tools(hostile_spec)
    result["hostile"]["declare_tools hostile spec"] = {"s": time.perf_counter() - start,
                                                       "outcome": f"{len(declared.tools)} tools declared"}
    print(f"declare_tools hostile spec  {time.perf_counter() - start:7.3f} s  {len(declared.tools)} tools declared")
    for label, text in HOSTILE.items():
        start = time.perf_counter()
        try:
            calls = parse_calls(text)
            outcome = f"{len(calls)} calls"
            match_calls(calls, [{"name": "f", "arguments": {"n": 1}}], None, "lenient")
        except CallParseError as err:
            outcome = f"parse_error ({err.detail})"
        result["hostile"][label] = {"s": time.perf_counter() - start, "outcome": outcome}
        print(f"hostile {label:22s} {result['hostile'][label]['s']:7.3f} s  {outcome}")
    rnd = random.Random(args.seed)
    times, errors = [], 0
    for i in range(args.random):
        text = random_hostile(rnd)
        start = time.perf_counter()
        try:
            calls = parse_calls(text)
            match_calls(calls, [{"name": "f", "arguments": {"n": 1}}], None, MATCH_MODES[i % len(MATCH_MODES)])  # type: ignore[arg-type]
        except CallParseError:
            errors += 1
        times.append(time.perf_counter() - start)
    if times:
        print(
            f"random hostile x{args.random} (seed {args.seed}): max {max(times) * 1e3:.1f} ms, "
            f"mean {statistics.mean(times) * 1e3:.2f} ms, parse errors {errors}, no crash"
        )
        result["random"] = {"n": args.random, "seed": args.seed, "max_ms": max(times) * 1e3,
                            "mean_ms": statistics.mean(times) * 1e3, "parse_errors": errors, "crashes": 0}
    write_result(args.out, result, load_start)


if __name__ == "__main__":
    main()

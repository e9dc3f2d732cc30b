"""Time the xLAM call parser and matcher (harness/apigen.py), typical and worst-case inputs.

    python bench/apigen_matcher.py [--rows tests/fixtures/apigen_sample.jsonl] [--repeat 2000]

For each row of an xLAM-schema file it times parse_calls + match_calls on the gold answer
written as the model would (JSON list with prose around it) in both modes, then times a set
of hostile answers (deep nesting, 10^6-digit literals, 10 MB of text, marker floods).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from harness.apigen import CallParseError, match_calls, parse_calls, parse_tools

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


def _time(fn, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default=str(Path(__file__).parents[1] / "tests" / "fixtures" / "apigen_sample.jsonl"))
    ap.add_argument("--repeat", type=int, default=2000)
    args = ap.parse_args()
    rows = [json.loads(line) for line in Path(args.rows).read_text().splitlines() if line.strip()]
    for mode in ("exact", "lenient"):
        per_call = []
        for row in rows:
            gold = json.loads(row["answers"])
            tools = parse_tools(row["tools"])
            text = "Here are the calls:\n" + json.dumps(gold) + "\nDone."

            def one() -> None:
                assert match_calls(parse_calls(text), gold, tools, mode).correct

            per_call.append(_time(one, args.repeat))
        print(
            f"{mode:8s} parse+match per answer over {len(rows)} rows: "
            f"median {statistics.median(per_call) * 1e6:.1f} us, max {max(per_call) * 1e6:.1f} us"
        )
    for label, text in HOSTILE.items():
        start = time.perf_counter()
        try:
            calls = parse_calls(text)
            outcome = f"{len(calls)} calls"
            match_calls(calls, [{"name": "f", "arguments": {"n": 1}}], None, "lenient")
        except CallParseError as err:
            outcome = f"parse_error ({err.detail})"
        print(f"hostile {label:22s} {time.perf_counter() - start:7.3f} s  {outcome}")


if __name__ == "__main__":
    main()

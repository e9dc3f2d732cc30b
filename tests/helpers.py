"""Test utilities: scripted mockllm outputs (with usage set, so nothing needs tiktoken)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from inspect_ai.model import ModelOutput, ModelUsage, get_model

USAGE = ModelUsage(input_tokens=10, output_tokens=5, total_tokens=15)


def output(content: str) -> ModelOutput:
    out = ModelOutput.from_content(model="mockllm/model", content=content)
    out.usage = USAGE
    return out


def tool_call_output(tool: str, arguments: dict[str, Any]) -> ModelOutput:
    out = ModelOutput.for_tool_call(model="mockllm/model", tool_name=tool, tool_arguments=arguments)
    out.usage = USAGE
    return out


def mock_model(outputs: Iterable[ModelOutput] | Any):
    return get_model("mockllm/model", custom_outputs=outputs)


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path

"""Test utilities: scripted mockllm outputs (with usage set, so nothing needs tiktoken)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from inspect_ai.model import ModelOutput, ModelUsage, get_model

USAGE = ModelUsage(input_tokens=10, output_tokens=5, total_tokens=15)


def output(content: str) -> ModelOutput:
    out = ModelOutput.from_content(model="mockllm/model", content=content)
    out.usage = USAGE.model_copy()  # a copy: inspect writes total_cost into the output's usage
    return out


def tool_call_output(tool: str, arguments: dict[str, Any]) -> ModelOutput:
    out = ModelOutput.for_tool_call(model="mockllm/model", tool_name=tool, tool_arguments=arguments)
    out.usage = USAGE.model_copy()
    return out


def mock_model(outputs: Iterable[ModelOutput] | Any):
    return get_model("mockllm/model", custom_outputs=outputs)


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


class registered_solver:
    """Temporarily register a test solver under ``name`` (restoring whatever was there)."""

    def __init__(self, name: str, spec: str) -> None:
        self.name, self.spec = name, spec

    def __enter__(self) -> None:
        import solvers

        self._old = solvers.SOLVERS.get(self.name)
        solvers.SOLVERS[self.name] = self.spec

    def __exit__(self, *exc: object) -> None:
        import solvers

        if self._old is None:
            solvers.SOLVERS.pop(self.name, None)
        else:
            solvers.SOLVERS[self.name] = self._old

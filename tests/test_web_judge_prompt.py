"""WebWalkerQA's judge with LangChain's ``cot_qa`` prompt format (and Training-Free GRPO's, youtu-agent's)."""

from __future__ import annotations

import asyncio
import json
from importlib import resources
from pathlib import Path

import pytest
from helpers import mock_model, output
from inspect_ai._util.error import PrerequisiteError
from inspect_ai.model import ModelOutput
from inspect_ai.scorer import Target
from inspect_ai.solver import TaskState

from scorers.web_judge import JUDGE_TEMPLATE, judge_prompt, read_judge_prompt
from tasks.webwalkerqa import webwalkerqa

OFFLINE = Path(str(resources.files("harness") / "data" / "offline"))
"""The self-written data of the README's offline commands (``harness offline-data``)."""
WEB = OFFLINE / "webwalkerqa.jsonl"

COT_QA_SHAPED = """\
(A self-written stand-in with the shape of LangChain's cot_qa prompt: its variables, its
Example Format block and its GRADE line.) Grade the student's answer against the context.

Example Format:
QUESTION: question here
CONTEXT: context the question is about here
STUDENT ANSWER: student's answer here
EXPLANATION: step by step reasoning here
GRADE: CORRECT or INCORRECT here

QUESTION: {query}
CONTEXT: {context}
STUDENT ANSWER: {result}
EXPLANATION:"""


def test_cot_qa_prompt_file_is_sent_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import scorers.web_judge as module

    prompt = tmp_path / "cot_qa.txt"
    prompt.write_text(COT_QA_SHAPED)
    task = webwalkerqa(data=str(WEB), solver="direct", judge_prompt=str(prompt))
    assert task.metadata["judge_prompt"] == str(prompt)
    sent: list[str] = []

    def judge(messages, tools, tool_choice, config):
        sent.append(messages[-1].text)
        return output("EXPLANATION: it matches.\nGRADE: CORRECT")

    monkeypatch.setattr(module, "get_model", lambda *a, **k: mock_model(judge))
    sample = task.dataset[0]
    state = TaskState(model="mockllm/model", sample_id=sample.id, epoch=1, input=sample.input, messages=[])
    state.output = ModelOutput.from_content(model="mockllm/model", content=f"It is {{context}}: {sample.target}")
    score = asyncio.run(task.scorer[0](state, Target(sample.target)))
    assert score.value == "C"
    expected = COT_QA_SHAPED.replace("{query}", str(sample.input)).replace("{context}", str(sample.target))
    assert sent == [expected.replace("{result}", f"It is {{context}}: {sample.target}")]  # filled once, as written


@pytest.mark.parametrize(
    "template",
    [
        "QUESTION: {problem}\nCONTEXT: {answer}\nSTUDENT ANSWER: {response}",  # Training-Free GRPO's names
        "QUESTION: {{ problem }}\nCONTEXT: {{ answer }}\nSTUDENT ANSWER: {{ response }}",  # youtu-agent's Jinja
        "QUESTION: {question}\nCONTEXT: {correct_answer}\nSTUDENT ANSWER: {response}",  # youtu-agent's eval
    ],
)
def test_upstream_placeholder_names(template: str) -> None:
    filled = judge_prompt(template, "Q {context}?", "gold", "it is {answer}")
    assert filled.text == "QUESTION: Q {context}?\nCONTEXT: gold\nSTUDENT ANSWER: it is {answer}"  # one pass
    assert {k: filled.text[a:b] for k, (a, b) in filled.spans.items()} == {
        "question": "Q {context}?", "answer": "gold", "prediction": "it is {answer}"}


def test_langchain_saved_prompt_json(tmp_path: Path) -> None:
    saved = tmp_path / "cot_qa.json"
    saved.write_text(json.dumps({"_type": "prompt", "input_variables": ["query", "context", "result"],
                                 "template_format": "f-string",
                                 "template": 'Reply as {{"grade": ...}}.\nQ: {query}\nC: {context}\nA: {result}\nGRADE:'}))
    template = read_judge_prompt(str(saved))
    assert template == 'Reply as {"grade": ...}.\nQ: {query}\nC: {context}\nA: {result}\nGRADE:'
    plain = tmp_path / "default.txt"
    plain.write_text(JUDGE_TEMPLATE)
    assert read_judge_prompt(str(plain)) == JUDGE_TEMPLATE


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("Q: {query}\nC: {context}\nA: {answer_text}", r"unknown placeholder\(s\) \{answer_text\}.*no placeholder for the prediction"),
        ("Q: {query}\nA: {result}", "no placeholder for the answer"),
    ],
)
def test_bad_judge_prompt_fails_in_one_line(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "judge.txt"
    path.write_text(text)
    with pytest.raises(PrerequisiteError, match=error) as caught:
        webwalkerqa(data=str(WEB), solver="direct", judge_prompt=str(path))
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)
    with pytest.raises(PrerequisiteError, match="cannot be read"):
        webwalkerqa(data=str(WEB), solver="direct", judge_prompt=str(tmp_path / "absent.txt"))

"""WebWalkerQA's judge with LangChain's ``cot_qa`` prompt format (and Training-Free GRPO's, youtu-agent's)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai._util.error import PrerequisiteError
from inspect_ai.log import resolve_sample_attachments

from harness.calls import read_call
from scorers.web_judge import JUDGE_TEMPLATE, judge_prompt, read_judge_prompt
from tasks.webwalkerqa import webwalkerqa

WEB = Path(__file__).parent / "fixtures" / "webwalkerqa_selfmade.jsonl"

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


def test_cot_qa_prompt_file_through_the_task(tmp_path: Path) -> None:
    prompt = tmp_path / "cot_qa.txt"
    prompt.write_text(COT_QA_SHAPED)
    [log] = inspect_eval(webwalkerqa(data=str(WEB), solver="direct", judge_prompt=str(prompt)), model="testdouble/oracle",
                         model_args={"p_correct": 0.5}, model_roles={"grader": "testdouble/judge"}, epochs=1,
                         log_dir=str(tmp_path / "logs"), display="none")  # fmt: skip
    assert log.status == "success", log.error
    assert log.eval.metadata["judge_prompt"] == str(prompt)
    for s in map(resolve_sample_attachments, log.samples):  # long prompts are logged as attachments
        [event] = [e for e in s.events if getattr(e, "event", None) == "model" and read_call(e.input)]
        sent = event.input[-1].text
        expected = COT_QA_SHAPED.replace("{query}", s.input).replace("{context}", s.target)
        assert sent == expected.replace("{result}", s.output.completion.strip())
        right = s.output.completion.endswith(f"<answer>{s.target}</answer>")
        assert s.scores["web_judge"].value == ("C" if right else "I")


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

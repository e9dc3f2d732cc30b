"""The web agents end to end through inspect, offline: the search agent (Serper + page QA),
the WebWalker agent (explorer + critic), and every tool failure as an observation.

Everything runs against tests/local_site.py on 127.0.0.1 (a small website, a Serper
stand-in at ``POST /search`` and a Jina-reader stand-in at ``/jina/<url>``). The agent,
page reader, critic and judge are the project's TEST DOUBLE (``testdouble/...`` in script
mode: scripted tool calls and replies, chosen by text in the conversation's first user
message); none of this is a real model's behaviour.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.model import get_model

import harness.testing.testdouble  # noqa: F401 - registers testdouble/
from helpers import write_jsonl
from local_site import ANSWER, SERPER_KEY, serve_site
from solvers.web import SEARCH_INSTRUCTIONS
from solvers.webwalker import EXPLORER_INSTRUCTIONS
from tasks.webwalkerqa import webwalkerqa

QUESTION = "Who won the Golden Walrus Prize in 2024?"
GOLD = "Dr. Ada Quill"
TIMEOUT = 3.0
"""Seconds per request: generous on a loaded machine, well under local_site.SLOW_SECONDS."""


def row(question: str, root: str, answer: str = GOLD, level: str = "easy") -> dict:
    return {
        "question": question,
        "answer": answer,
        "root_url": root,
        "info": {"type": "single_source", "difficulty_level": level, "domain": "organization", "lang": "en"},
    }


def call(tool: str, content: str = "", **arguments) -> dict:
    return {"content": content, "tool_calls": [{"function": tool, "arguments": arguments}]}


def reply(content: str, match: str | None = None) -> dict:
    return {"content": content, **({"match": match} if match else {})}


def write_script(path: Path, lines: list[dict]) -> str:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return str(path)


def judge_model(tmp: Path):
    """TEST DOUBLE judge: CORRECT iff the student answer names Ada Quill."""
    script = write_script(
        tmp / "judge.jsonl",
        [reply("EXPLANATION: names the winner.\nGRADE: CORRECT", match=f"STUDENT ANSWER: {GOLD}"),
         reply("EXPLANATION: does not match.\nGRADE: INCORRECT")],
    )
    return get_model("testdouble/judge", script=script, memoize=False)


def run(task, agent_script: str, tmp: Path):
    log = inspect_eval(
        task,
        model=get_model("testdouble/agent", script=agent_script, memoize=False),
        model_roles={"grader": judge_model(tmp)},
        epochs=1,
        log_dir=str(tmp / "logs"),
        display="none",
        max_samples=8,
    )[0]
    assert log.status == "success", log.error
    return log


def by_question(log) -> dict:
    return {s.input: s for s in log.samples}


def tool_texts(sample) -> list[str]:
    return [m.text for m in sample.messages if m.role == "tool"]


def system_prompts(sample) -> list[str]:
    return [m.text for m in sample.messages if m.role == "system"]


# ---------------------------------------------------------------------------------------
# the search agent (Training-Free GRPO setting)


def test_search_agent_serper_and_page_qa_end_to_end(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SERPER_API_KEY", SERPER_KEY)
    with serve_site() as (root, hits):
        award = root + "news/2024/award.html"
        agent = write_script(
            tmp_path / "agent.jsonl",
            [
                # page reader (role page_reader, unbound: the same test double), matched by prompt and page
                # text; both reader prompts hold the page, so the links prompt's line comes first
                reply(f"1. Back to news ({root}news/)\n2. Invented page (https://invented.example/prize)\nnone of the rest",
                      match="pick the links on it"),
                reply(f"{GOLD} won the Golden Walrus Prize on 3 March 2024.", match=ANSWER),
                # the agent
                call("search", "Broad query first.", query="Golden Walrus Prize 2024"),
                call("search", "Same query again (cached).", query="Golden Walrus Prize 2024", num_results=2),
                call("web_qa", "Read the institute's page.", url=award, query="Who won the 2024 prize?"),
                call("submit", answer=GOLD),
            ],
        )
        data = write_jsonl(tmp_path / "ww.jsonl", [row(QUESTION, root)])
        task = webwalkerqa(
            data=str(data), setting="search", serper_url=root, reader_url=root + "jina/",
            allow_private_hosts=True, timeout=TIMEOUT,
        )
        log = run(task, agent, tmp_path)
    sample = log.samples[0]
    assert sample.scores["web_judge"].value == "C" and sample.output.completion == GOLD
    first, second, page_qa = tool_texts(sample)
    # Serper results: the agent's format; the dataset copy on huggingface.co is filtered out
    assert first.startswith("1. 2024 prize - Walrus Institute (" + award + ")")
    assert "snippet: The Golden Walrus Prize 2024" in first and "sitelinks: News (" in first
    assert "huggingface.co" not in first and "4. " not in first  # 3 results left after the filter
    assert second.count("snippet:") == 2 and hits.count("search:Golden Walrus Prize 2024") == 1  # cached
    # page QA: fetched through the reader, answered by the page reader, invented link left out
    assert f"/jina/{award}" in hits
    assert page_qa.startswith(f"Summary: [TEST DOUBLE] {GOLD} won")
    assert f"Related Links:\n[TEST DOUBLE] 1. Back to news ({root}news/)" in page_qa
    assert "invented.example" not in page_qa and "1 suggested links that are not on the page were left out" in page_qa
    # one system prompt: the setting's instructions, nothing of inspect's default prompt
    prompts = system_prompts(sample)
    expected = SEARCH_INSTRUCTIONS.replace("{search_tool}", "search").replace("{page_tool}", "web_qa")
    assert prompts == [expected]
    meta = log.eval.metadata
    assert meta["setting"] == "search" and meta["serper_key_set"] is True and meta["reader"] == "jina"
    assert "Training-Free GRPO" in meta["setting_description"]
    assert "web_tool_failures" not in sample.store
    assert all(SERPER_KEY not in json.dumps(v) for v in (log.eval.metadata, log.eval.task_args))  # key never logged


# one sample per failure mode; each checks the observation, the finished sample, the store
FAILURES_SERPER = {
    "search-500": (call("search", query="boom"), "search", "answered HTTP 500: Internal server error"),
    "search-timeout": (call("search", query="slow walrus"), "search", "took too long to respond (timeout)"),
    "search-not-json": (call("search", query="garbage"), "search", "could not be read (not Serper's JSON)"),
    "search-huge": (call("search", query="flood"), "search", "larger than 1000000 bytes"),
    "reader-error": (call("web_qa", url="{root}broken", query="q"), "web_qa",
                     "page reader service answered HTTP 422 (Unprocessable Entity). It said: Failed to get"),
    "reader-timeout": (call("web_qa", url="{root}slow", query="q"), "web_qa", "page reader service took too long"),
    "blocked-site": (call("web_qa", url="https://huggingface.co/datasets/walrus/qa", query="q"), "web_qa",
                     "pages on this site are not allowed"),
}
FAILURES_NO_KEY = {
    "no-key": (call("search", query="walrus"), "search", "SERPER_API_KEY is not set"),
    "non-html": (call("web_qa", url="{root}files/report.pdf", query="q"), "web_qa", "is a file (image, PDF"),
    "non-html-type": (call("web_qa", url="{root}download?id=7", query="q"), "web_qa", "not a web page (content type application/pdf)"),
    "http-404": (call("web_qa", url="{root}missing", query="q"), "web_qa", "answered HTTP 404"),
    "http-500": (call("web_qa", url="{root}broken", query="q"), "web_qa", "answered HTTP 500"),
    "connection-refused": (call("web_qa", url="http://127.0.0.1:1/", query="q"), "web_qa", "could not connect"),
}


def failure_run(tmp: Path, root: str, cases: dict, **options):
    lines = []
    rows = []
    for name, (tool_call, _tool, _expected) in cases.items():
        question = f"Failure case {name}: what happens?"
        arguments = {k: v.replace("{root}", root) for k, v in tool_call["tool_calls"][0]["arguments"].items()}
        lines.append({**call(tool_call["tool_calls"][0]["function"], **arguments), "match": question})
        lines.append({**call("submit", answer="unsure"), "match": question})
        rows.append(row(question, root, answer="anything"))
    lines.append(reply("Nothing useful on this page.", match="answer its question from that page"))
    lines.append(reply("none", match="pick the links on it"))
    data = write_jsonl(tmp / "fail.jsonl", rows)
    script = write_script(tmp / "fail_agent.jsonl", _ordered(lines))
    return run(webwalkerqa(data=str(data), setting="search", timeout=TIMEOUT, **options), script, tmp)


def _ordered(lines: list[dict]) -> list[dict]:
    """Group each question's turns together (a question's n-th matching line is its n-th turn)."""
    return sorted(lines, key=lambda line: line.get("match", ""))


@pytest.fixture(scope="module")
def serper_failures(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serper_failures")
    with pytest.MonkeyPatch.context() as mp, serve_site() as (root, _hits):
        mp.setenv("SERPER_API_KEY", SERPER_KEY)
        mp.setenv("INSPECT_LOG_DIR", str(tmp / "logs"))
        yield failure_run(tmp, root, FAILURES_SERPER, serper_url=root, reader_url=root + "jina/", allow_private_hosts=True)


@pytest.fixture(scope="module")
def direct_failures(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("direct_failures")
    with pytest.MonkeyPatch.context() as mp, serve_site() as (root, _hits):
        mp.delenv("SERPER_API_KEY", raising=False)
        mp.setenv("INSPECT_LOG_DIR", str(tmp / "logs"))
        yield failure_run(tmp, root, FAILURES_NO_KEY, serper_url=root, reader="direct", allow_private_hosts=True)


def _check_failure(log, name: str, tool: str, expected: str) -> None:
    sample = next(s for s in log.samples if f"Failure case {name}:" in s.input)
    assert sample.error is None
    observation = tool_texts(sample)[0]
    assert expected in observation, observation
    assert sample.output.completion == "unsure"  # the agent went on and answered
    assert sample.scores["web_judge"].value == "I"
    assert [f["tool"] for f in sample.store["web_tool_failures"]] == [tool]


@pytest.mark.parametrize("name", FAILURES_SERPER)
def test_tool_failure_with_serper_and_reader_is_an_observation(serper_failures, name: str) -> None:
    _tool_call, tool, expected = FAILURES_SERPER[name]
    _check_failure(serper_failures, name, tool, expected)


@pytest.mark.parametrize("name", FAILURES_NO_KEY)
def test_tool_failure_without_key_and_direct_fetch_is_an_observation(direct_failures, name: str) -> None:
    _tool_call, tool, expected = FAILURES_NO_KEY[name]
    _check_failure(direct_failures, name, tool, expected)
    assert direct_failures.eval.metadata["serper_key_set"] is False


def test_huge_and_javascript_pages_reach_the_reader_with_a_note(tmp_path: Path) -> None:
    """Not failures, but partial pages: the page QA answer says what was missing."""
    with serve_site() as (root, _hits):
        question = "What does the huge page say?"
        agent = write_script(
            tmp_path / "agent.jsonl",
            [
                reply("It is lorem ipsum.", match="answer its question from that page"),
                reply("none", match="pick the links on it"),
                {**call("web_qa", url=root + "huge", query="q"), "match": question},
                {**call("web_qa", url=root + "app", query="q"), "match": question},
                {**call("submit", answer="lorem"), "match": question},
            ],
        )
        data = write_jsonl(tmp_path / "ww.jsonl", [row(question, root, answer="lorem")])
        task = webwalkerqa(data=str(data), setting="search", reader="direct", max_page_bytes=60_000,
                           allow_private_hosts=True, timeout=TIMEOUT)
        log = run(task, agent, tmp_path)
    huge, app = tool_texts(log.samples[0])
    assert huge.startswith("(The page is very large; only its beginning was read.)\nSummary: ")
    assert app.startswith("(The page needs JavaScript, which was not run; its text may be missing.)\nSummary: ")


# ---------------------------------------------------------------------------------------
# the WebWalker agent (explorer + critic)


def test_webwalker_agent_end_to_end(tmp_path: Path) -> None:
    budget_question = "Which page of the Walrus Institute is broken?"
    unreachable_question = "What is on a site that is down?"
    with serve_site() as (root, hits):
        agent = write_script(
            tmp_path / "agent.jsonl",
            [
                # critic step 1 (information), most specific match first
                reply(json.dumps({"usefulness": True, "information": "The 2024 prize went to Dr. Ada Quill (3 March 2024)."}),
                      match=ANSWER),
                reply("I think this page is useful!", match="broken?\n\nPage observation:"),  # not JSON: unreadable
                reply(json.dumps({"usefulness": False}), match="Page observation:"),
                # critic step 2 (answer from memory)
                reply("```json\n" + json.dumps({"judge": True, "answer": GOLD}) + "\n```", match="Information gathered so far:"),
                # explorer, question 1: two clicks to the answer, then more (never reached)
                {**call("click", "News first.", button="News"), "match": QUESTION},
                {**call("click", "Then the article.", button="Read more"), "match": QUESTION},
                {**call("click", "Never reached.", button="Research"), "match": QUESTION},
                # explorer, question 2: failing clicks, a no-tool reply, then a page: the step limit ends it
                {**call("click", button="Broken page"), "match": budget_question},
                {"content": "I will think first.", "match": budget_question},
                {**call("click", button="No such button"), "match": budget_question},
                {**call("click", button="About us"), "match": budget_question},
                {**call("click", button="People"), "match": budget_question},
            ],
        )
        data = write_jsonl(
            tmp_path / "ww.jsonl",
            [row(QUESTION, root), row(budget_question, root, answer="/broken"), row(unreachable_question, root + "broken")],
        )
        log = run(webwalkerqa(data=str(data), max_steps=4, timeout=TIMEOUT), agent, tmp_path)
    samples = by_question(log)
    meta = log.eval.metadata
    assert meta["setting"] == "webwalker" and "WebWalker column" in meta["setting_description"]

    found = samples[QUESTION]
    record = found.store["webwalker"]
    assert found.output.completion == GOLD and found.scores["web_judge"].value == "C"
    assert record["stop"] == "answered" and record["steps"] == 2
    assert record["memory"] == ["The 2024 prize went to Dr. Ada Quill (3 March 2024)."]
    assert record["critic_calls"] == 3 and record["critic_unreadable"] == 0  # news: no; award: yes; answer: yes
    assert found.store["web_visited"] == [root, root + "news/", root + "news/2024/award.html"]
    assert system_prompts(found) == [EXPLORER_INSTRUCTIONS]
    assert "Official website: " + root in found.messages[1].text and "[1] News" in found.messages[1].text
    assert found.messages[-1].text == f"Final answer (from the critic's memory): {GOLD}"

    budget = samples[budget_question].store["webwalker"]
    assert budget["stop"] == "step_limit" and budget["steps"] == 4
    assert budget["critic_calls"] == 1 and budget["critic_unreadable"] == 1  # only 'About us' opened a page
    assert samples[budget_question].scores["web_judge"].metadata["reason"] == "no_answer"
    texts = "\n".join(tool_texts(samples[budget_question]))
    assert "HTTP 500" in texts and "There is no button 'No such button'" in texts
    assert "Keep exploring" in samples[budget_question].messages[5].text

    down = samples[unreachable_question]
    assert down.store["webwalker"]["stop"] == "root_unreachable" and down.store["webwalker"]["steps"] == 0
    assert down.scores["web_judge"].metadata["reason"] == "no_answer"
    assert hits.count("/broken") >= 2  # the root was tried twice


def test_settings_are_labelled_and_sampled_as_their_papers(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "ww.jsonl", [row(QUESTION, "https://x.org/")])
    for setting, top_p, words in [("webwalker", 0.8, "WebWalker column"), ("walker_react", 0.8, "ReAct column"),
                                  ("search", 0.95, "Training-Free GRPO")]:
        task = webwalkerqa(data=str(data), setting=setting)
        assert task.metadata["setting"] == setting and words in task.metadata["setting_description"]
        assert task.config.top_p == top_p
    with pytest.raises(Exception, match="page_tool=browser is not known"):
        webwalkerqa(data=str(data), setting="search", page_tool="browser")

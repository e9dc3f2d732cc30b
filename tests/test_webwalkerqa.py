"""WebWalkerQA / AFM-100: loaders, subsets, the quiz judge, and both agent settings end to
end against the local website (tests/local_site.py) with mockllm agent and judge."""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai._util.error import PrerequisiteError
from inspect_ai.model import ModelOutput

from harness.reports.web_cells import cell_table
from helpers import mock_model, output, tool_call_output, write_jsonl
from local_site import serve_site
from scorers.web_judge import parse_grade
from solvers.web import WALKER_INSTRUCTIONS
from tasks.afm import afm100, load_afm
from tasks.webwalkerqa import load_webwalkerqa, record_to_sample, stratified_subset, webwalkerqa

AFM_FIXTURE = Path(__file__).parents[1] / "harness" / "data" / "offline" / "afm.jsonl"

QUESTION = "Who won the Golden Walrus Prize in 2024?"
FAILING_QUESTION = "Which page of the Walrus Institute is broken?"


def ww_row(question: str, answer: str, root: str, type_: str, level: str, **info) -> dict:
    return {
        "question": question,
        "answer": answer,
        "root_url": root,
        "info": {"type": type_, "difficulty_level": level, "domain": "organization", "lang": "en", **info},
    }


# ---------------------------------------------------------------------------------------
# judge parsing


@pytest.mark.parametrize(
    "reply, lenient, strict",
    [
        ("EXPLANATION: same year.\nGRADE: CORRECT", True, True),
        ("EXPLANATION: wrong person.\n**GRADE:** INCORRECT", False, False),
        ("explanation: fine\ngrade: correct", True, None),  # strict needs 'GRADE:'
        ("EXPLANATION: ok\nGRADE: CORRECT.", True, False),  # strict: exactly CORRECT
        ("EXPLANATION: ok\nGRADE: correct\nNOTE: none", True, True),
        ("CORRECT. The student names the winner.", True, None),  # first word
        ("The student names someone else, so: Incorrect.", False, None),  # last word
        ("I am not sure what to say here.", None, None),
        ("", None, None),
    ],
)
def test_parse_grade(reply: str, lenient: bool | None, strict: bool | None) -> None:
    assert parse_grade(reply, "lenient") is lenient
    assert parse_grade(reply, "strict") is strict


def test_parse_grade_bounded_and_validated() -> None:
    huge = "x" * 1_000_000 + "\nGRADE: CORRECT"
    assert parse_grade(huge, "lenient") is True
    with pytest.raises(ValueError):
        parse_grade("GRADE: CORRECT", "fuzzy")


# ---------------------------------------------------------------------------------------
# data


def test_record_schemas_upstream_afm_copy_and_readme() -> None:
    upstream = record_to_sample(ww_row("Q?", " A ", "https://x.org/", "single_source", "easy"))
    afm_copy = record_to_sample(
        {"question": "Q?", "answer": "A", "root_url": "https://x.org/",
         "info": {"type": "multi_source", "Level": "hard", "domain": "game", "lang": "", "golden_path": ["root->a"]}}
    )
    readme = record_to_sample(
        {"Question": "Q?", "Answer": "A", "Root_Url": "https://x.org/",
         "Info": {"Type": "single_source", "Difficulty_Level": "medium", "Domain": "education", "Language": "zh"}}
    )
    assert upstream.target == "A" and upstream.id == afm_copy.id == readme.id and upstream.id.startswith("ww-")
    assert upstream.metadata["cell"] == "single_source/easy" and upstream.metadata["root_url"] == "https://x.org/"
    assert afm_copy.metadata["cell"] == "multi_source/hard" and afm_copy.metadata["lang"] == ""
    assert readme.metadata["difficulty"] == "medium" and readme.metadata["lang"] == "zh"
    for s in (upstream, afm_copy, readme):
        assert set(s.metadata) >= {"type", "difficulty", "domain", "lang"}


def test_repeated_questions_keep_distinct_ids(tmp_path: Path) -> None:
    row = ww_row("Same question?", "A", "https://x/", "single_source", "easy")
    data = write_jsonl(tmp_path / "ww.jsonl", [row, row, {**row, "answer": "B"}])
    ids = [s.id for s in load_webwalkerqa(str(data))]
    assert ids[1:] == [ids[0] + "-2", ids[0] + "-3"]


def test_subset_needs_multiple_of_17() -> None:
    samples = [record_to_sample(ww_row(f"Q{i}", "A", "https://x/", "single_source", "easy")) for i in range(5)]
    with pytest.raises(PrerequisiteError, match="multiple of 17"):
        stratified_subset(samples, 50)
    with pytest.raises(PrerequisiteError, match="needs 7 'medium'"):
        stratified_subset(samples, 17)


def test_bad_split_and_setting(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "ww.jsonl", [ww_row("Q", "A", "https://x/", "single_source", "easy")])
    with pytest.raises(PrerequisiteError, match="splits main, silver"):
        webwalkerqa(data=str(data), split="dev")
    with pytest.raises(PrerequisiteError, match="setting=browse"):
        webwalkerqa(data=str(data), setting="browse")
    with pytest.raises(PrerequisiteError, match="Unknown task argument -T max_clickz=3"):
        webwalkerqa(data=str(data), max_clickz=3)


def test_task_defaults(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "ww.jsonl", [ww_row("Q", "A", "https://x/", "single_source", "easy")])
    task = webwalkerqa(data=str(data))
    assert task.epochs == 3
    assert [r.__registry_info__.name.split("/")[-1] for r in task.epochs_reducer] == ["mean", "pass_at"]
    assert task.metadata["setting"] == "webwalker" and task.metadata["solver"] == "webwalker"
    assert webwalkerqa(data=str(data), setting="search").metadata["setting"] == "search"
    old_name = webwalkerqa(data=str(data), setting="walker").metadata  # the ReAct baseline's old name
    assert old_name["setting"] == old_name["solver"] == "walker_react"
    assert webwalkerqa(data=str(data), solver="direct").metadata["setting"] == "direct (no web)"


@pytest.mark.shared_data
def test_real_main_split_cells_and_subset(shared_data: Path) -> None:
    path = shared_data / "webwalkerqa_sample.jsonl"
    samples = list(webwalkerqa(data=str(path)).dataset)  # as `-T data=PATH` loads it
    assert len(samples) == 680 and len({s.id for s in samples}) == 680
    cells = Counter(s.metadata["cell"] for s in samples)
    for type_ in ("single_source", "multi_source"):
        assert [cells[f"{type_}/{d}"] for d in ("easy", "medium", "hard")] == [80, 140, 120]
    assert all(s.metadata["root_url"] and s.metadata["domain"] for s in samples)
    subset = load_webwalkerqa(str(path), subset=51)
    assert Counter(s.metadata["difficulty"] for s in subset) == {"easy": 12, "medium": 21, "hard": 18}
    assert len({s.id for s in subset}) == 51
    assert [s.id for s in load_webwalkerqa(str(path), subset=51)] == [s.id for s in subset]  # seed 42
    assert [s.id for s in load_webwalkerqa(str(path), subset=51, seed=1)] != [s.id for s in subset]


def test_afm_loader_single_answer_rows_seeded() -> None:
    samples = load_afm(str(AFM_FIXTURE), n=3, seed=42)
    assert len(samples) == 3
    again = load_afm(str(AFM_FIXTURE), n=3, seed=42)
    assert [s.id for s in samples] == [s.id for s in again]
    everything = load_afm(str(AFM_FIXTURE), n=5)
    # 7 rows, 2 with two answers: those are skipped
    assert {s.target for s in everything} == {"1987", "Lena Varga", "3", "Sallow River", "Hartwell & Sons"}
    assert all(s.id.startswith("selfmade_fixture-") for s in everything)
    with pytest.raises(PrerequisiteError, match="only 5 single-answer rows"):
        load_afm(str(AFM_FIXTURE), n=6)
    with pytest.raises(PrerequisiteError, match="no root_url"):
        afm100(data=str(AFM_FIXTURE), n=3, setting="walker")


# ---------------------------------------------------------------------------------------
# end to end (local site, mockllm agent and judge)


def scripted(scripts: dict[str, list[ModelOutput]]):
    """A mock agent whose turn n in a conversation plays scripts[<question key>][n]."""

    def generate(input, tools, tool_choice, config) -> ModelOutput:
        first_user = next(m.text for m in input if m.role == "user")
        turn = sum(m.role == "assistant" for m in input)
        for key, script in scripts.items():
            if key in first_user:
                return script[min(turn, len(script) - 1)]
        return output("no script")

    return generate


def judge(input, tools, tool_choice, config) -> ModelOutput:
    """Mock judge: CORRECT iff the student answer names Ada Quill; no grade for 'unsure'."""
    student = input[-1].text.split("STUDENT ANSWER:")[1]
    if "unsure" in student:
        return output("I cannot decide.")
    verdict = "CORRECT" if "Ada Quill" in student else "INCORRECT"
    return output(f"EXPLANATION: compared with the context.\nGRADE: {verdict}")


def tool_texts(sample) -> list[str]:
    return [m.text for m in sample.messages if m.role == "tool"]


def test_walker_end_to_end_reaches_answer_and_reports_cells(tmp_path: Path) -> None:
    with serve_site() as (root, _hits):
        data = write_jsonl(
            tmp_path / "ww.jsonl",
            [
                ww_row(QUESTION, "Dr. Ada Quill", root, "single_source", "easy"),
                ww_row(FAILING_QUESTION, "The broken page", root, "multi_source", "hard"),
            ],
        )
        agent = scripted(
            {
                QUESTION: [
                    tool_call_output("click", {"button": "News"}),
                    tool_call_output("click", {"button": "Read more"}),
                    tool_call_output("submit", {"answer": "Dr. Ada Quill won it."}),
                ],
                FAILING_QUESTION: [
                    tool_call_output("click", {"button": "Broken page"}),
                    tool_call_output("click", {"button": "Download brochure"}),
                    tool_call_output("click", {"button": "Huge page"}),
                    tool_call_output("click", {"button": "No such button"}),
                    tool_call_output("click", {"button": "1"}),  # back to a button of the root page
                    tool_call_output("submit", {"answer": "unsure"}),
                ],
            }
        )
        task = webwalkerqa(data=str(data), setting="walker_react", max_page_bytes=60_000)
        log = inspect_eval(
            task,
            model=mock_model(agent),
            model_roles={"grader": mock_model(judge)},
            log_dir=str(tmp_path / "logs"),
            display="none",
            max_samples=2,
        )[0]
    assert log.status == "success", log.error
    assert len(log.samples) == 6  # 2 questions x 3 epochs
    for sample in log.samples:
        score = sample.scores["web_judge"]
        assert [m.text for m in sample.messages if m.role == "system"] == [WALKER_INSTRUCTIONS]  # one prompt
        if sample.input == QUESTION:
            assert sample.store["web_visited"][-1] == root + "news/2024/award.html"
            assert "Golden Walrus Prize went to Dr. Ada Quill" in tool_texts(sample)[-1]
            assert score.value == "C" and score.answer == "Dr. Ada Quill won it."
        else:
            texts = "\n".join(tool_texts(sample))
            assert "HTTP 500" in texts and "not a web page" in texts  # (timeouts: tests/test_web.py)
            assert "only its beginning was read" in texts and "There is no button 'No such button'" in texts
            assert sample.store["web_clicks"] == 4
            # a judge reply without a grade is incorrect (Training-Free GRPO's rule), and says why
            assert score.value == "I" and score.metadata["reason"] == "no_grade" and score.reason == "no_grade"
    by_reducer = {s.reducer: {k: m.value for k, m in s.metrics.items()} for s in log.results.scores}
    assert by_reducer["mean"]["single_source/easy"] == 1.0 and by_reducer["mean"]["multi_source/hard"] == 0.0
    assert by_reducer["mean"]["overall"] == 0.5 and by_reducer["pass_at_3"]["overall"] == 0.5
    assert by_reducer[None] == {"no_grade": 3}  # 1 question x 3 epochs, counted over the unreduced replies
    assert log.results.scores[0].scored_samples == 2 and log.results.scores[0].unscored_samples == 0
    table = cell_table(log.location)
    assert "setting=walker_react" in table and "Mean@3" in table and "Pass@3" in table
    assert "| single_source | 100.00" in table
    assert "1 (3 no grade)" in table


def test_visit_page_refuses_private_hosts_and_blocked_domains() -> None:
    from harness.web.fetch import WebClient, is_private_host
    from inspect_ai.tool import ToolDef
    from solvers.web import DEFAULT_BLOCKED_DOMAINS, blocked, visit_page_tool

    assert is_private_host("http://127.0.0.1:8000/") and is_private_host("http://localhost/")
    assert is_private_host("http://169.254.169.254/latest/") and is_private_host("http://[::1]/")
    assert is_private_host("http://10.1.2.3/") and not is_private_host("https://example.org/")
    assert blocked("https://www.huggingface.co/datasets/x", DEFAULT_BLOCKED_DOMAINS)
    assert blocked("https://modelscope.cn/datasets/x", DEFAULT_BLOCKED_DOMAINS)
    assert not blocked("https://modelscope.cn/models/x", DEFAULT_BLOCKED_DOMAINS)
    client = WebClient()
    visit = ToolDef(visit_page_tool(client, DEFAULT_BLOCKED_DOMAINS)).tool
    text = asyncio.run(visit(url="http://169.254.169.254/latest/meta-data/"))
    assert "private network addresses are not allowed" in text and client.fetches == 0


def test_walker_click_budget(tmp_path: Path) -> None:
    with serve_site() as (root, _hits):
        data = write_jsonl(tmp_path / "ww.jsonl", [ww_row(QUESTION, "Dr. Ada Quill", root, "single_source", "easy")])
        agent = scripted({QUESTION: [tool_call_output("click", {"button": "News"})] * 3 + [tool_call_output("submit", {"answer": "Ada Quill"})]})
        log = inspect_eval(
            webwalkerqa(data=str(data), setting="walker_react", max_clicks=2),
            model=mock_model(agent),
            model_roles={"grader": mock_model(judge)},
            epochs=1,
            log_dir=str(tmp_path / "logs"),
            display="none",
        )[0]
    sample = log.samples[0]
    assert sample.store["web_clicks"] == 2 and "used all 2 clicks" in tool_texts(sample)[-1]
    assert sample.scores["web_judge"].value == "C"


def test_search_setting_and_afm100_end_to_end(tmp_path: Path) -> None:
    never_called = "judge must not be called for an empty answer"

    def afm_judge(input, tools, tool_choice, config):
        student = input[-1].text.split("STUDENT ANSWER:")[1]
        assert student.strip(), never_called
        return output("EXPLANATION: x\nGRADE: " + ("CORRECT" if "1987" in student else "INCORRECT"))

    with serve_site() as (root, _hits):
        agent = scripted(
            {
                "second campus": [
                    tool_call_output("visit_page", {"url": "https://huggingface.co/datasets/PersonalAILab/x"}),
                    tool_call_output("visit_page", {"url": root + "news/2024/award.html"}),
                    tool_call_output("submit", {"answer": "1987"}),
                ],
                "": [tool_call_output("submit", {"answer": ""})],
            }
        )
        task = afm100(data=str(AFM_FIXTURE), n=5, page_tool="visit_page", allow_private_hosts=True)  # the local site is 127.0.0.1
        log = inspect_eval(
            task,
            model=mock_model(agent),
            model_roles={"grader": mock_model(afm_judge)},
            epochs=1,
            log_dir=str(tmp_path / "logs"),
            display="none",
        )[0]
    assert log.status == "success", log.error
    assert log.eval.metadata["setting"] == "search"
    reasons = Counter(s.scores["web_judge"].metadata["reason"] for s in log.samples)
    assert reasons == {"correct": 1, "no_answer": 4}
    visited = next(s for s in log.samples if "second campus" in s.input)
    texts = tool_texts(visited)
    assert "not allowed in this evaluation" in texts[0] and "Golden Walrus Prize" in texts[1]

    metrics = log.results.scores[0].metrics
    assert metrics["accuracy"].value == pytest.approx(0.2) and "overall" not in metrics

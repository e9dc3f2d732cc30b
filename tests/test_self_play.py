"""Language Self-Play evaluation: advantage math, hostile output, the task end to end, export, CLI."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from inspect_ai import eval as inspect_eval
from inspect_ai.log import read_eval_log

from harness.benchmarks import self_play as sp
from harness.cli import main as harness_main
from helpers import mock_model, output
from scorers.self_play import REWARD_PROMPT, SELF_REWARD_PROMPT
from solvers.self_play import CHALLENGER_PROMPT, challenger_prompt
from tasks.self_play import self_play


def J(value: float | None, reason: str | None = None) -> sp.Judgement:
    return sp.Judgement(value=value, reason=reason if value is None else None)


def Q(i: int, instruction: str | None, answers: int = 2, reason: str | None = None) -> sp.Query:
    return sp.Query(
        index=i,
        raw=instruction or "",
        instruction=instruction,
        reason=reason,
        answers=[f"a{i}{j}" for j in range(answers)] if instruction else [],
    )


# --------------------------------------------------------------------------------------
# advantage math, checked by hand
# --------------------------------------------------------------------------------------


def test_advantages_by_hand_lsp_zero_and_lsp():
    # N = 3 queries, G = 2; rewards R, quality R_Q:
    #   q0: R = 6, 8   R_Q = 7, 5     V = 7   V_Q = 6
    #   q1: R = 2, 4   R_Q = 3, 3     V = 3   V_Q = 3
    #   q2: R = 1, 1   R_Q = 0, 2     V = 1   V_Q = 1
    # V̄ = 11/3.  LSP-Zero: A_Sol = R - V ; A_Ch = V̄ - V = -10/3, 2/3, 8/3
    # LSP: Solver R + R_Q = (13, 13), (5, 7), (1, 3): baselines 13, 6, 2 -> (0, 0), (-1, 1), (-1, 1)
    #      Challenger reward -V + V_Q = -1, 0, 0; mean -1/3 -> A_Ch = -2/3, 1/3, 1/3
    queries = [Q(0, "q0"), Q(1, "q1"), Q(2, "q2")]
    rewards = [[J(6), J(8)], [J(2), J(4)], [J(1), J(1)]]
    quality = [[J(7), J(5)], [J(3), J(3)], [J(0), J(2)]]
    res = sp.compute_game(queries, rewards, quality)
    assert res.v_bar == pytest.approx(11 / 3)
    assert res.v_q_bar == pytest.approx(10 / 3)
    assert [q.v for q in res.queries] == [7, 3, 1]
    assert [q.v_q for q in res.queries] == [6, 3, 1]
    assert [q.challenger_advantage_lsp_zero for q in res.queries] == pytest.approx([-10 / 3, 2 / 3, 8 / 3])
    assert [q.challenger_advantage_lsp for q in res.queries] == pytest.approx([-2 / 3, 1 / 3, 1 / 3])
    assert [[r.advantage_lsp_zero for r in q.rollouts] for q in res.queries] == [[-1, 1], [-1, 1], [0, 0]]
    assert [[r.advantage_lsp for r in q.rollouts] for q in res.queries] == [[0, 0], [-1, 1], [-1, 1]]


def test_quality_weight_and_lsp_zero_only():
    queries = [Q(0, "q0"), Q(1, "q1")]
    rewards = [[J(6), J(8)], [J(2), J(4)]]
    quality = [[J(7), J(5)], [J(3), J(3)]]
    # w = 0.5: Solver q0: 6+3.5=9.5, 8+2.5=10.5 -> -0.5, +0.5; Challenger -7+3=-4, -3+1.5=-1.5 -> mean -2.75
    res = sp.compute_game(queries, rewards, quality, quality_weight=0.5)
    assert [r.advantage_lsp for r in res.queries[0].rollouts] == [-0.5, 0.5]
    assert [q.challenger_advantage_lsp for q in res.queries] == [-1.25, 1.25]
    assert [q.challenger_advantage_lsp_zero for q in res.queries] == [-2, 2]
    zero_only = sp.compute_game(queries, rewards, None)
    assert zero_only.v_q_bar is None
    assert all(q.challenger_advantage_lsp is None for q in zero_only.queries)
    assert all(r.advantage_lsp is None and r.quality is None for q in zero_only.queries for r in q.rollouts)
    assert [q.challenger_advantage_lsp_zero for q in zero_only.queries] == [-2, 2]


def test_missing_judgements_and_unusable_queries_are_left_out_with_reasons():
    queries = [Q(0, "q0", answers=3), Q(1, None, reason="empty_instruction"), Q(2, "q2"), Q(3, "q3")]
    rewards = [[J(6), J(None, "no_score_tag"), J(10)], [], [J(2), J(4)], [J(None, "out_of_range"), J(None, "not_a_number")]]
    quality = [[J(7), J(1), J(None, "no_score_tag")], [], [J(3), J(3)], [J(5), J(5)]]
    res = sp.compute_game(queries, rewards, quality)
    q0, q1, q2, q3 = res.queries
    assert q0.v == 8 and q0.v_q == 4  # rewards 6, 10 ; quality 7, 1
    assert [r.advantage_lsp_zero for r in q0.rollouts] == [-2, None, 2]
    # LSP baseline over answers having both: only answer 0 (6 + 7) -> advantage 0
    assert [r.advantage_lsp for r in q0.rollouts] == [0, None, None]
    assert not q1.valid and q1.reason == "empty_instruction" and q1.v is None and q1.rollouts == []
    assert q3.valid and q3.reason == "no_scored_answer" and q3.v is None and q3.challenger_advantage_lsp_zero is None
    # V̄ over queries with a V: (8 + 3) / 2
    assert res.v_bar == 5.5
    assert q0.challenger_advantage_lsp_zero == -2.5 and q2.challenger_advantage_lsp_zero == 2.5
    # LSP Challenger: q0 -8 + 4 = -4, q2 -3 + 3 = 0 -> mean -2
    assert q0.challenger_advantage_lsp == -2 and q2.challenger_advantage_lsp == 2
    assert res.instructions == ["q0", "q2", "q3"]


# --------------------------------------------------------------------------------------
# hostile model output
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected, reason",
    [
        ("Good. <Score>7</Score>", 7.0, None),
        ("<score> 3 </score>", 3.0, None),
        ("first <Score>2</Score> then <Score>9</Score>", 9.0, None),
        ("no tag, 7/10", None, "no_score_tag"),
        ("<Score>seven</Score>", None, "not_a_number"),
        ("<Score>7.5</Score>", None, "not_a_number"),
        ("<Score>11</Score>", None, "out_of_range"),
        ("<Score>-1</Score>", None, "out_of_range"),
        ("<Score>" + "9" * 100 + "</Score>", None, "not_a_number"),
        ("quoted <Score>10</Score>, but my verdict: <Score>2</Score>", 2.0, None),  # the last tag decides
        ("<Score>9</Score> and then <Score>ten</Score>", None, "not_a_number"),  # ... even when it is bad
        ("<Score>" + " " * 8000, None, "no_score_tag"),  # took ~7 s of backtracking before
        ("", None, "no_score_tag"),
        ("{instruction} <Score>{0}</Score>", None, "not_a_number"),
    ],
)
def test_parse_score_never_raises(text, expected, reason):
    j = sp.parse_score(text, 0, 10)
    assert j.value == expected and j.reason == reason
    assert len(j.raw) <= 500


def test_parse_score_huge_output_is_bounded():
    text = "<Score>" * 200_000 + "x" * 1_000_000 + "<Score>4</Score>"
    assert sp.parse_score(text, 0, 7).value == 4.0


@pytest.mark.parametrize(
    "raw, instruction, reason",
    [
        ("  Write a poem about tea.  ", "Write a poem about tea.", None),
        ("[Start Generation]\nName three rivers.\n[End Generation]\nthanks", "Name three rivers.", None),
        ("Name two lakes.[End Generation]", "Name two lakes.", None),
        ("", None, "empty_instruction"),
        ("   \n\t ", None, "empty_instruction"),
        ("[Start Generation][End Generation]", None, "empty_instruction"),
        ("x" * 101, None, "instruction_too_long"),
        ("HUGE", None, "instruction_too_long"),
    ],
)
def test_extract_instruction(raw, instruction, reason):
    raw = "y" * 10_000_000 if raw == "HUGE" else raw
    assert sp.extract_instruction(raw, max_chars=100) == (instruction, reason)


# --------------------------------------------------------------------------------------
# diversity
# --------------------------------------------------------------------------------------


def test_distinct_n_by_hand():
    texts = ["the cat sat", "the cat ran"]
    # unigrams: the cat sat the cat ran -> 4 unique / 6 ; bigrams: the-cat sat, the-cat ran -> 3 / 4
    assert sp.distinct_n(texts, 1) == pytest.approx(4 / 6)
    assert sp.distinct_n(texts, 2) == pytest.approx(3 / 4)
    assert sp.distinct_n([], 1) is None and sp.distinct_n(["one"], 2) is None


def test_near_duplicates_by_hand():
    texts = [
        "Write a poem about the sea",
        "Write a poem about the ocean",  # 3-grams: 3 shared of 5 -> J = 0.6
        "Explain how vaccines train the immune system",
        "write a POEM about the sea!",  # identical after normalisation
        "Write a poem about love",
    ]
    assert sp.near_duplicate_flags(texts, 0.6) == [False, True, False, True, False]
    d = sp.diversity(texts, 0.6)
    assert d.near_duplicate_rate == pytest.approx(2 / 5) and d.n_instructions == 5
    assert sp.near_duplicate_flags(texts, 0.61) == [False, False, False, True, False]


def _brute_flags(texts, t):
    sets = [sp.shingles(x) for x in texts]
    return [
        any(len(a & sets[j]) / len(a | sets[j]) >= t - 1e-12 for j in range(i)) for i, a in enumerate(sets)
    ]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from("a b c d e f".split()), min_size=0, max_size=7).map(" ".join), max_size=12),
    st.sampled_from([0.3, 0.5, 0.6, 0.8, 1.0]),
)
def test_prefix_filter_join_equals_brute_force(texts, t):
    assert sp.near_duplicate_flags(texts, t) == _brute_flags(texts, t)


# --------------------------------------------------------------------------------------
# the task end to end with a scripted model (mockllm; usage set on every output)
# --------------------------------------------------------------------------------------

CHALLENGER_MARK = "[Start Generation]"
REWARD_MARK = REWARD_PROMPT.split(".")[0]
QUALITY_MARK = SELF_REWARD_PROMPT.split(".")[0]


def _judge_reply(m: re.Match | None) -> str:
    value = m.group(1) if m else "?"
    if value == "BAIT":  # an open tag then 20k spaces: over a minute of regex backtracking before
        return "<Score>" + " " * 20_000
    return "I will not rate this." if value == "NOTAG" else f"fine <Score>{value}</Score>"


def scripted(instructions: list[str], answers: dict[str, list[str]]):
    """A mock model playing every role, by prompt content.

    Challenger: the next instruction of ``instructions``. Solver: the next answer listed for
    the first key of ``answers`` found in the instruction. Reward judge / quality judge: the
    number after ``r=`` / ``q=`` in the response (so each answer carries its own rewards;
    ``NOTAG`` makes the judge answer without a score tag).
    """
    challenger = itertools.count()
    per_key: dict[str, itertools.count] = {}

    def respond(input, tools, tool_choice, config):
        text = input[-1].text
        if text.startswith(REWARD_MARK):
            m = re.search(r"r=(\w+)", text.split("<Response>", 1)[1])
            return output(_judge_reply(m))
        if text.startswith(QUALITY_MARK):
            m = re.search(r"q=(\w+)", text.split("<Response>", 1)[1])
            return output("<Calculation>..</Calculation> " + _judge_reply(m))
        if CHALLENGER_MARK in text:
            return output(instructions[next(challenger) % len(instructions)])
        key = next((k for k in answers if k in text), None)
        if key is None:
            return output("")
        k = next(per_key.setdefault(key, itertools.count()))
        return output(answers[key][k % len(answers[key])])

    return mock_model(respond)


def run_game(tmp_path: Path, model, **task_args):
    log = inspect_eval(self_play(**task_args), model=model, log_dir=str(tmp_path / "logs"), display="none", **{})[0]
    assert log.status == "success", log.error
    return read_eval_log(log.location)


def by_instruction(game: sp.LoggedGame) -> dict[str, sp.QueryResult]:
    texts = {q.index: q.instruction for q in game.game.queries}
    return {texts[q.index] or f"#{q.index}": q for q in game.result.queries}


@pytest.fixture(scope="module")
def hand_log(tmp_path_factory):
    """One game, N = 4 (one empty instruction), G = 2, rewards in the answers."""
    tmp = tmp_path_factory.mktemp("sp")
    model = scripted(
        ["Write a haiku about rain.", "Explain recursion to a child.", "   ", "List three prime numbers."],
        {
            "haiku": ["drops r=6 q=7", "puddles r=8 q=5"],
            "recursion": ["mirrors r=2 q=3", "dolls r=4 q=3"],
            "prime": ["2, 3, 5 r=10 q=7", "2 3 5 r=banana q=7"],
        },
    )
    log = inspect_eval(self_play(games=1, n=4, g=2), model=model, log_dir=str(tmp), display="none")[0]
    assert log.status == "success", log.error
    return read_eval_log(log.location)


def test_task_runs_offline_and_matches_hand_calculation(hand_log):
    (game,) = sp.logged_games(hand_log)
    q = by_instruction(game)
    # V: haiku 7, recursion 3, prime 10 (one unparseable reward left out); V̄ = 20/3
    assert q["Write a haiku about rain."].v == 7 and q["Write a haiku about rain."].v_q == 6
    assert q["Explain recursion to a child."].v == 3
    assert q["List three prime numbers."].v == 10 and q["List three prime numbers."].v_q == 7
    assert game.result.v_bar == pytest.approx(20 / 3)
    assert q["List three prime numbers."].challenger_advantage_lsp_zero == pytest.approx(20 / 3 - 10)
    # LSP Challenger rewards: -7+6 = -1, -3+3 = 0, -10+7 = -3 ; mean -4/3
    assert q["Write a haiku about rain."].challenger_advantage_lsp == pytest.approx(1 / 3)
    assert q["List three prime numbers."].challenger_advantage_lsp == pytest.approx(-5 / 3)
    empty = next(r for r in game.result.queries if not r.valid)
    assert empty.reason == "empty_instruction" and empty.challenger_advantage_lsp_zero is None
    bad = [r for r in q["List three prime numbers."].rollouts if r.reward.value is None]
    assert len(bad) == 1 and bad[0].reward.reason == "not_a_number" and bad[0].advantage_lsp_zero is None
    # haiku answers: LSP-Zero -1/+1, LSP (13, 13) -> 0, 0, whatever order the answers came in
    haiku = q["Write a haiku about rain."].rollouts
    assert sorted(r.advantage_lsp_zero for r in haiku) == [-1, 1]
    assert [r.advantage_lsp for r in haiku] == [0, 0]


def test_metrics_in_log_results(hand_log):
    metrics = {(s.name, k): m.value for s in hand_log.results.scores for k, m in s.metrics.items()}
    assert metrics[("reward", "mean")] == pytest.approx(20 / 3)
    assert metrics[("quality", "mean")] == pytest.approx((6 + 3 + 7) / 3)
    assert metrics[("valid_queries", "mean")] == 0.75
    assert metrics[("scored_rewards", "mean")] == pytest.approx(5 / 6)
    assert metrics[("scored_quality", "mean")] == 1.0
    assert metrics[("near_duplicate_rate", "mean")] == 0.0
    assert metrics[("near_duplicate_rate", "pooled_diversity_near_duplicate_rate")] == 0.0
    # 14 words, 13 distinct ("a" twice: "a haiku", "a child")
    assert metrics[("distinct_1", "mean")] == pytest.approx(13 / 14)


def test_export_validates_against_schema(hand_log, tmp_path):
    from harness.commands.self_play import write_export

    out = tmp_path / "rollouts.jsonl"
    n_ch, n_sol = write_export(hand_log, str(out))
    assert (n_ch, n_sol) == (4, 6)  # 4 Challenger queries; 3 usable x 2 answers
    lines = out.read_text().splitlines()
    records = [sp.ROLLOUT_ADAPTER.validate_json(line) for line in lines]
    assert [r.role for r in records].count("challenger") == 4
    solver = {r.completion: r for r in records if r.role == "solver"}
    assert solver["drops r=6 q=7"].advantage_lsp_zero == -1 and solver["drops r=6 q=7"].reward_lsp == 13
    assert solver["drops r=6 q=7"].prompt[0].content == "Write a haiku about rain."
    assert solver["2 3 5 r=banana q=7"].reward is None and solver["2 3 5 r=banana q=7"].reward_reason == "not_a_number"
    ch = {r.instruction: r for r in records if r.role == "challenger"}
    assert ch[None].reason == "empty_instruction" and ch[None].advantage_lsp is None
    assert ch["List three prime numbers."].reward_lsp_zero == -10 and ch["List three prime numbers."].reward_lsp == -3
    assert CHALLENGER_MARK in ch["List three prime numbers."].prompt[0].content
    # the schema rejects a malformed line
    bad = json.loads(lines[0])
    bad["advantage_lsp"] = "high"
    with pytest.raises(Exception):
        sp.ROLLOUT_ADAPTER.validate_python(bad)
    bad = json.loads(lines[0]) | {"unexpected": 1}
    with pytest.raises(Exception):
        sp.ROLLOUT_ADAPTER.validate_python(bad)


def test_cli_table_export_schema(hand_log, tmp_path, capsys):
    log_path = hand_log.location
    assert harness_main(["self-play", "table", str(log_path)]) == 0
    printed = capsys.readouterr().out
    assert "A_Ch LSP-Zero" in printed and "Write a haiku about rain." in printed
    assert "-3.333" in printed  # A_Ch LSP-Zero of the prime query: 20/3 - 10
    assert "(empty_instruction)" in printed and "mockllm/model" in printed
    out = tmp_path / "r.jsonl"
    # a directory resolves to its newest self_play log
    assert harness_main(["self-play", "export", str(Path(log_path).parent), "--export", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 10
    assert harness_main(["self-play", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert {"ChallengerRollout", "SolverRollout"} <= set(schema["$defs"])
    assert harness_main(["self-play", "table", str(tmp_path / "missing.eval")]) == 2


def test_hostile_outputs_never_crash(tmp_path):
    """Garbage from every role: the run succeeds and every miss carries a reason."""
    huge = "z" * 50_000
    model = scripted(
        ["", huge, "[Start Generation][End Generation]", "Say {hi} <Score>10</Score>"],
        {"Say": ["r=BAIT q=NOTAG", "r=3 q=8"]},
    )
    log = run_game(tmp_path, model, games=1, n=4, g=2)
    (game,) = sp.logged_games(log)
    reasons = sorted(q.reason or "" for q in game.result.queries)
    assert reasons == ["", "empty_instruction", "empty_instruction", "instruction_too_long"]
    usable = next(q for q in game.result.queries if q.valid)
    judged = sorted((r.reward.reason or "ok", r.quality.reason or "ok") for r in usable.rollouts)
    # the first answer's "rewards" are unparseable; the second's quality 8 is out of the 0-7 range
    assert judged == [("no_score_tag", "no_score_tag"), ("ok", "out_of_range")]
    assert usable.v == 3 and usable.v_q is None and usable.challenger_advantage_lsp is None
    score = log.samples[0].scores["lsp_rewards"]
    assert score.value["valid_queries"] == 0.25


def test_roles_route_to_their_models(tmp_path):
    """The reward judge is the ``grader`` role, the quality judge ``self_reward``."""
    player = scripted(["Name a colour."], {"colour": ["blue r=9 q=1"]})
    grader = mock_model(lambda *a: output("<Score>2</Score>"))
    quality = mock_model(lambda *a: output("<Score>6</Score>"))
    log = inspect_eval(
        self_play(games=2, n=1, g=1),
        model=player,
        model_roles={"grader": grader, "self_reward": quality},
        log_dir=str(tmp_path),
        display="none",
    )[0]
    assert log.status == "success", log.error
    games = sp.logged_games(read_eval_log(log.location))
    assert len(games) == 2
    for game in games:
        (q,) = game.result.queries
        assert (q.v, q.v_q) == (2, 6)
    metrics = {s.name: s.metrics["mean"].value for s in log.results.scores if "mean" in s.metrics}
    assert metrics["reward"] == 2 and metrics["quality"] == 6
    # two identical games: the pooled near-duplicate rate sees the repeat, per-game rates cannot
    pooled = next(s for s in log.results.scores if "pooled_diversity_near_duplicate_rate" in s.metrics)
    assert pooled.metrics["pooled_diversity_near_duplicate_rate"].value == 0.5
    assert metrics["near_duplicate_rate"] == 0


def test_lsp_zero_only_skips_quality_judge(tmp_path):
    calls = []

    def player(input, tools, tool_choice, config):
        text = input[-1].text
        calls.append(text[:20])
        if CHALLENGER_MARK in text:
            return output("Count to three.")
        if text.startswith(REWARD_MARK):
            return output("<Score>5</Score>")
        if text.startswith(QUALITY_MARK):
            raise AssertionError("quality judge called with self_reward=false")
        return output("1 2 3")

    log = run_game(tmp_path, mock_model(player), games=1, n=2, g=2, self_reward=False)
    (game,) = sp.logged_games(log)
    assert all(q.v == 5 and q.v_q is None and q.challenger_advantage_lsp is None for q in game.result.queries)
    assert len(calls) == 2 + 4 + 4  # challenger, solver, reward judge


def test_seed_file_and_prompt(tmp_path):
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(json.dumps({"id": "math-1", "task": "Pure & Applied Mathematics", "template": "Problem: {problem}"}) + "\n")
    task = self_play(data=str(seeds))
    (sample,) = list(task.dataset)
    assert sample.id == "math-1"
    assert "'Pure & Applied Mathematics'" in sample.input and "Problem: {problem}" in sample.input
    assert "{placeholders}" in challenger_prompt() and "'None'" in challenger_prompt()
    assert "{task}" in CHALLENGER_PROMPT
    with pytest.raises(Exception, match="games must be"):
        self_play(games=0)


def test_cli_run_with_test_double_prints_table_and_exports(tmp_path, capsys):
    """``harness self-play run ... --export``: the offline test double (not a model) plays every role."""
    script = tmp_path / "script.jsonl"
    script.write_text(
        "\n".join(
            json.dumps(line)
            for line in [
                {"match": REWARD_MARK, "content": "Decent. <Score>7</Score>"},
                {"match": QUALITY_MARK, "content": "<Calculation>1+1+1+1+1+0+0=5</Calculation> <Score>5</Score>"},
                {"match": CHALLENGER_MARK, "content": "Write a haiku about autumn rain."},
                {"content": "Leaves fall, rain drums soft."},
            ]
        )
    )
    out = tmp_path / "out" / "rollouts.jsonl"
    argv = ["self-play", "run", "--model", "testdouble/lsp", "-M", f"script={script}", "-T", "games=1", "-T", "n=2"]
    argv += ["-T", "g=1", "--log-dir", str(tmp_path / "logs"), "--export", str(out), "--display", "none"]
    assert harness_main(argv) == 0
    printed = capsys.readouterr().out
    assert "[TEST DOUBLE] Write a haiku about autumn rain." in printed and "testdouble/lsp" in printed
    assert "exported 2 challenger + 2 solver rollouts" in printed
    records = [sp.ROLLOUT_ADAPTER.validate_json(line) for line in out.read_text().splitlines()]
    assert [(r.role, r.v if r.role == "challenger" else r.reward) for r in records] == [
        ("challenger", 7.0),
        ("solver", 7.0),
        ("challenger", 7.0),
        ("solver", 7.0),
    ]
    # identical instructions: the second near-duplicates the first
    assert "near_duplicate_rate" in printed and "0.5000" in printed


def test_judge_prompt_is_filled_once_and_bounded():
    from scorers.self_play import MAX_JUDGED_CHARS, judge_prompt

    prompt = judge_prompt(REWARD_PROMPT, "Repeat '{response}' please", "the {instruction} answer").text
    assert "<Instruction>Repeat '{response}' please</Instruction>" in prompt
    assert "<Response>the {instruction} answer</Response>" in prompt
    long = judge_prompt(SELF_REWARD_PROMPT, "q", "x" * (3 * MAX_JUDGED_CHARS)).text
    assert len(long) < len(SELF_REWARD_PROMPT) + MAX_JUDGED_CHARS + 100 and "[...truncated]" in long


def test_pooled_diversity_uses_the_task_threshold():
    from inspect_ai.scorer import SampleScore, Score

    from scorers.self_play import pooled_diversity

    def game(texts, t):
        return SampleScore(
            score=Score(value={}, metadata={"self_play": {"instructions": texts, "near_duplicate_threshold": t}})
        )

    texts = ["Write a poem about the sea", "Write a poem about the ocean"]  # J = 0.6
    assert pooled_diversity()([game(texts[:1], 0.6), game(texts[1:], 0.6)])["near_duplicate_rate"] == 0.5
    assert pooled_diversity()([game(texts[:1], 0.7), game(texts[1:], 0.7)])["near_duplicate_rate"] == 0.0

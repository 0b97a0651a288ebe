"""`steerdsl validate-goals`: does each goal measure what its name says? A judge model compares
pairs of corpus texts ("Which version is longer?"), and its answers are set against the goal's
values (steerdsl.goals.validation says how). Answers are cached in the spec's store by judge
identity, question and texts, so a rerun asks nothing twice; each run's figures are stored
in `goal_validations`."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from steerdsl.errors import UsageError
from steerdsl.goals import validation as v
from steerdsl.llm.budget import Ledger, usd
from steerdsl.plan.model import CorpusPlan, GoalPlan, JudgeMeasure, ModelPlan, Plan
from steerdsl.store import validations as stored
from steerdsl.texts import text_hash

Note = Callable[[str], None]


@dataclass
class Validation:
    judge: str
    corpus: str
    texts: int  # distinct texts of the corpus
    agreements: list[v.GoalAgreement]
    cached: int = 0  # questions answered by an earlier run
    asked: int = 0  # requests answered now
    failed: int = 0  # requests that failed (asked again by the next run)
    not_sent: int = 0  # requests not sent: the budget ran out, or the judge is unreachable
    unparsed: int = 0  # questions whose answer is not A, B or Tie
    stopped: str | None = None  # why requests were not sent
    skipped: list[str] = field(default_factory=list)  # goals left out, with why


def validate_goals(plan: Plan, judge: str, pairs: int, note: Note) -> Validation:
    """Raises UsageError when `judge` is no model of the plan or no goal can be validated."""
    from steerdsl.store.db import open_store, store_errors
    from steerdsl.store.owner import check_spec_store

    model = _judge_model(plan, judge)
    goals, skipped = _validated_goals(plan)
    for why in skipped:
        note(why)
    corpus = _corpus(plan)
    check_spec_store(plan)  # another spec's store is not this spec's cache
    store = plan.experiment.store
    Path(store).parent.mkdir(parents=True, exist_ok=True)
    con = open_store(store)
    try:
        with store_errors(store):
            result = _validate(con, plan, model, goals, corpus, pairs, note)
    finally:
        con.close()
    result.skipped = skipped
    return result


def _judge_model(plan: Plan, name: str) -> ModelPlan:
    try:
        return plan.model(name)
    except StopIteration:
        known = ", ".join(m.name for m in plan.models) or "none"
        raise UsageError(f"no model '{name}' in {plan.spec_path}; its models: {known}") from None


def _validated_goals(plan: Plan) -> tuple[list[tuple[GoalPlan, str]], list[str]]:
    """(goal, question) of the goals that can be validated, and why the others cannot."""
    goals, skipped = [], []
    for goal in plan.goals:
        question = v.goal_question(goal)
        if isinstance(goal.measure, JudgeMeasure):
            skipped.append(f"goal '{goal.name}' is judged by a model: validating it against "
                           "another judge is left out")
        elif question is None:
            skipped.append(f"no question for goal '{goal.name}': only the paper's goals have a "
                           "built-in one; give the goal a question to validate it")
        else:
            goals.append((goal, question))
    if not goals:
        raise UsageError(f"no goal of {plan.spec_path} can be validated (see the notes)")
    return goals, skipped


def _corpus(plan: Plan) -> CorpusPlan:
    """The corpus of the evaluated probe, else the first."""
    if plan.evaluate is not None:
        corpus = getattr(plan.probe(plan.evaluate.probe), "corpus", None)
        if corpus is not None:
            return plan.corpus(corpus)
    if not plan.corpora:
        raise UsageError(f"{plan.spec_path} has no corpus to draw pairs from")
    return plan.corpora[0]


def _validate(con, plan: Plan, model: ModelPlan, goals: list[tuple[GoalPlan, str]],
              corpus: CorpusPlan, pairs: int, note: Note) -> Validation:
    from steerdsl.corpus.read import read_corpus
    from steerdsl.goals.measure import measure_texts
    from steerdsl.goals.normalize import normalize
    from steerdsl.plan.hashing import derive_seed
    from steerdsl.stages.space import bounds_outside_a_run

    distinct = {text_hash(t.text): t for t in read_corpus(corpus)}
    texts = list(distinct.values())
    hashes = list(distinct)
    if len(texts) < 2:
        raise UsageError(f"corpus '{corpus.name}' has fewer than two distinct texts")
    plain = [g for g, _ in goals]
    base_dir = Path(plan.spec_path).parent
    measured = measure_texts([t.text for t in texts], plain, con=con,
                             ids=[t.text_id for t in texts], base_dir=base_dir)
    for e in measured.errors[:5]:
        note(f"{e.text_id}: goal '{e.goal}' has no value ({e.message}); its pairs are left out")
    bounds = bounds_outside_a_run(plan, plain, con, plan.experiment.store, None, base_dir)
    norm = {g.name: normalize(measured.raw[g.name], *bounds[g.name]) for g in plain}

    drawn = v.draw_pairs(len(texts), pairs,
                         derive_seed(plan.experiment.seed, "validate-goals", corpus.name))
    judge_id = v.judge_identity(model)
    wanted = list(dict.fromkeys((q, hashes[a], hashes[b]) for _, q in goals for a, b in drawn))
    known = stored.answered(con, judge_id, wanted)
    result = Validation(model.name, corpus.name, len(texts), [], cached=len(known))
    todo = [(w, v.question_prompt(w[0], distinct[w[1]].text, distinct[w[2]].text))
            for w in wanted if w not in known]
    if todo:
        known |= _ask(con, plan, model, judge_id, todo, result)

    result.unparsed = sum(1 for w in wanted if w in known and known[w] is None)
    rows = []
    for goal, question in goals:
        answers = [_answer(known, (question, hashes[a], hashes[b])) for a, b in drawn]
        diffs = [float(norm[goal.name][a] - norm[goal.name][b]) for a, b in drawn]
        agreement = v.agreement(goal.name, question, answers, diffs)
        result.agreements.append(agreement)
        tau = None if math.isnan(agreement.tau) else agreement.tau
        rows.append((goal.name, goal.measure_id, question, agreement.pairs, agreement.answered,
                     agreement.unparsed, agreement.missing, agreement.judge_ties,
                     agreement.goal_ties, tau))
    stored.save_results(con, plan.spec_hash, model.name, judge_id, rows)
    return result


def _answer(known: dict[stored.Asked, str | None], asked: stored.Asked) -> v.PairAnswer:
    """'' for an unparsed answer, None for none."""
    if asked not in known:
        return None
    return known[asked] or ""


def _ask(con, plan: Plan, model: ModelPlan, judge_id: str, todo: list[tuple[stored.Asked, str]],
         result: Validation) -> dict[stored.Asked, str | None]:
    """Ask the judge, store every answer as it comes; the parsed answers."""
    from steerdsl.llm.keys import api_key_for

    ledger = _ledger(con, plan)
    if ledger.exhausted:
        result.not_sent = len(todo)
        result.stopped = f"budget {usd(ledger.limit)} reached"
        return {}
    got: dict[stored.Asked, str | None] = {}
    asyncio.run(_ask_all(con, model, api_key_for(model), judge_id, todo, ledger, result, got))
    return got


async def _ask_all(con, model: ModelPlan, api_key: str | None, judge_id: str,
                   todo: list[tuple[stored.Asked, str]], ledger: Ledger, result: Validation,
                   got: dict[stored.Asked, str | None]) -> None:
    from steerdsl.llm import completion as llm
    from steerdsl.llm.caller import Caller
    from steerdsl.plan.model import SamplingParams

    caller = Caller(model, api_key, ledger=ledger)
    params = llm.sampling_params(model, SamplingParams())
    pending = iter(todo)

    async def worker() -> None:
        for asked, prompt in pending:  # shared iterator: each question goes to one worker
            out = await caller.call(prompt, 1, params)
            if out is None:
                result.not_sent += 1
                continue
            c = out.completion
            tokens = (c.prompt_tokens, c.completion_tokens, c.cost) if c else (None, None, None)
            if out.error is not None:
                result.failed += 1
                row = stored.StoredAnswer(*asked, "error", None, None, out.error, *tokens)
            else:
                result.asked += 1
                raw = out.contents[0]
                row = stored.StoredAnswer(*asked, "ok", v.parse_answer(raw), raw, None, *tokens)
                got[asked] = row.answer
            stored.save_answer(con, judge_id, model.name, row)

    await asyncio.gather(*(worker() for _ in range(max(1, min(model.concurrency, len(todo))))))
    if result.not_sent:
        if ledger.exhausted:
            result.stopped = f"budget {usd(ledger.limit)} reached"
        elif caller.breaker.tripped:
            result.stopped = f"model {model.name} is unreachable ({caller.breaker.last_error})"


def _ledger(con, plan: Plan) -> Ledger:
    """The spec's budget, counting what its run and earlier validations already spent."""
    from steerdsl.store.call_stats import spent_on
    from steerdsl.store.judge_calls import judge_spent

    limit = plan.experiment.budget_usd
    if limit is None:
        return Ledger()
    judged = [g.measure_id for g in plan.goals if isinstance(g.measure, JudgeMeasure)]
    asking = plan.stages_of("calibrate") + plan.stages_of("generate")
    return Ledger(limit, spent_on(con, [s.hash for s in asking])
                  + judge_spent(con, judged) + stored.validation_spent(con))

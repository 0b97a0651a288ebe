"""Throughput of the judge stage against a bare litellm loop, same server, same concurrency.

    .venv/bin/python benchmarks/judge.py [--answers 2000] [--concurrency 64]

Starts the loopback OpenAI-compatible server (tests/support/fake_openai.py) in its own process,
runs a plan with a groundedness judge up to its score stage (the answers to judge), then
sends the judge's questions (a) with the bare `litellm.acompletion` loop of
benchmarks/generate.py and (b) through the judge stage (reading the answers and the cache,
prompts, pacing, retries, parsing, batched DuckDB writes), alternating, and prints requests/s
of each and the ratio. Goal: >= 0.9.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "benchmarks")]

from generate import bare_loop, loopback_server, say_round, say_total  # noqa: E402
from support.judge_plans import judged_plan, write_spec  # noqa: E402

from steerdsl.grounding.prompt import orders, render_judge_prompt  # noqa: E402
from steerdsl.llm import completion as llm  # noqa: E402
from steerdsl.llm.budget import Ledger  # noqa: E402
from steerdsl.run.runner import run_plan  # noqa: E402
from steerdsl.stages import judge as judge_stage  # noqa: E402
from steerdsl.stages.context import RunContext, RunResult  # noqa: E402
from steerdsl.store import stages as stage_store  # noqa: E402
from steerdsl.store.db import open_store  # noqa: E402
from steerdsl.store.verdicts import answers_to_judge  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--answers", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    with loopback_server() as url:
        tmp = Path(tempfile.mkdtemp())
        plan = judged_plan(write_spec(tmp, url, rows=args.answers,
                                      concurrency=args.concurrency))
        assert run_plan(plan, until="score", quiet=True).status == "ok"
        stage = plan.stage("judge:fake/direct")
        judge = plan.judges[0]
        con = open_store(plan.experiment.store)
        gen_hash = plan.stage("generate:fake/direct").hash
        prompts = [render_judge_prompt(judge.template, a.source, a.answer, swapped)
                   for a in answers_to_judge(con, gen_hash, judge.candidates)
                   for swapped in orders(judge, plan.experiment.seed, a.source_hash,
                                         a.answer_hash)]
        assert len(prompts) == args.answers
        llm.litellm_module()

        def judge_all() -> None:
            """The judge stage from scratch: no verdict stored, not done."""
            con.execute("DELETE FROM verdicts")
            stage_store.mark_not_done(con, stage.hash)
            ctx = RunContext(plan=plan, con=con, result=RunResult(run_id="bench", status="ok"),
                             ledger=Ledger())
            outcome = judge_stage.run(ctx, stage)
            assert outcome.done == {"verdicts": args.answers}, outcome

        # Warm up both paths (first calls build clients, import lazily).
        asyncio.run(bare_loop(url, prompts[:100], args.concurrency))
        judge_all()
        bare_rates, ours_rates = [], []
        for k in range(args.rounds):
            t = time.perf_counter()
            asyncio.run(bare_loop(url, prompts, args.concurrency))
            bare_rates.append(args.answers / (time.perf_counter() - t))
            t = time.perf_counter()
            judge_all()
            ours_rates.append(args.answers / (time.perf_counter() - t))
            say_round(k, "judge stage", bare_rates, ours_rates)
        con.close()
        say_total(f"{args.rounds} x {args.answers} verdicts, concurrency {args.concurrency}",
                  "judge stage", bare_rates, ours_rates)


if __name__ == "__main__":
    main()

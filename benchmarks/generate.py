"""Throughput of the generate stage against a bare litellm loop, same server, same concurrency.

    .venv/bin/python benchmarks/generate.py [--requests 2000] [--concurrency 64]
    .venv/bin/python benchmarks/generate.py --router [--requests 120]

Starts the loopback OpenAI-compatible server (tests/support/fake_openai.py) in its own process,
then sends the same prompts (a) with a bare `litellm.acompletion` loop under an asyncio
semaphore and (b) through `run_generate` (prompt rendering, pacing, retries, cleaning, batched
DuckDB writes), alternating, and prints requests/s of each and the ratio. Goal: >= 0.9.

--router: one model over three loopback deployments (litellm's Router) against the same model
over one of them, each deployment the bottleneck (it works on SLOTS requests at once, DELAY_S
each); prints requests/s of each and the ratio. Goal: near 3.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.fake_openai import FakeOpenAI, Reply  # noqa: E402
from support.gen_plans import fake_model, intervention, make_plan, make_rows  # noqa: E402

from steerdsl.llm import completion as llm  # noqa: E402
from steerdsl.plan.model import DeploymentPlan, ModelPlan  # noqa: E402
from steerdsl.stages.generate.engine import run_generate  # noqa: E402
from steerdsl.plan.hashing import derive_seed  # noqa: E402
from steerdsl.prompts.render import render_prompt  # noqa: E402
from steerdsl.store.db import open_store  # noqa: E402


async def bare_loop(url: str, prompts: list[str], concurrency: int) -> None:
    litellm = llm.litellm_module()
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int, p: str) -> None:
        async with sem:
            # The same request run_generate sends: it passes a per-request seed (the
            # provider takes one), which litellm validates on every call.
            r = await litellm.acompletion(model="openai/fake", api_base=url, api_key="none",
                                          messages=[{"role": "user", "content": p}],
                                          seed=i, timeout=60, max_retries=0, num_retries=0)
            assert r.choices[0].message.content

    await asyncio.gather(*(one(i, p) for i, p in enumerate(prompts)))


@contextmanager
def loopback_server() -> Iterator[str]:
    """The loopback server in its own process (it does not compete with the client for the
    GIL); yields its base URL."""
    server = subprocess.Popen([sys.executable, str(ROOT / "tests/support/fake_openai.py")],
                              stdout=subprocess.PIPE, text=True)
    try:
        yield server.stdout.readline().strip()
    finally:
        server.terminate()
        server.wait(timeout=10)


def say_round(k: int, ours: str, bare_rates: list[float], ours_rates: list[float]) -> None:
    print(f"round {k + 1}: bare litellm {bare_rates[-1]:7.1f} req/s   "
          f"{ours} {ours_rates[-1]:7.1f} req/s   "
          f"ratio {ours_rates[-1] / bare_rates[-1]:.3f}", flush=True)


def say_total(what: str, ours: str, bare_rates: list[float], ours_rates: list[float]) -> None:
    # The machine is shared: rounds alternate so both paths see the same load; the
    # aggregate is total requests over total time of each path.
    bare = len(bare_rates) / sum(1 / r for r in bare_rates)
    mine = len(ours_rates) / sum(1 / r for r in ours_rates)
    ratios = sorted(o / b for o, b in zip(ours_rates, bare_rates))
    print(f"{what}: bare litellm {bare:.1f} req/s, {ours} {mine:.1f} req/s, "
          f"ratio {mine / bare:.3f} (median per round {ratios[len(ratios) // 2]:.3f}; "
          "goal >= 0.9)")


SLOTS = 4  # requests a loopback deployment works on at once
DELAY_S = 0.5  # per request: a deployment answers at most SLOTS / DELAY_S requests/s


def routed_rate(urls: list[str], requests: int, start: int, tmp: Path, route: str) -> float:
    """Requests/s of run_generate for one model over the deployments at `urls`."""
    model = ModelPlan(name="fake", provider="litellm", model="openai/fake",
                      deployments=[DeploymentPlan(api_base=u) for u in urls], route=route,
                      concurrency=3 * SLOTS * 2, timeout=60.0)
    plan = make_plan([model], [intervention()])
    con = open_store(tmp / f"router{len(urls)}-{start}.duckdb")
    t = time.perf_counter()
    stats = run_generate(con, plan, plan.stage("generate:fake/direct"),
                         make_rows(requests, start=start))
    rate = requests / (time.perf_counter() - t)
    con.close()
    assert stats.ok == requests, stats
    return rate


def router_case(requests: int, rounds: int, route: str) -> None:
    tmp = Path(tempfile.mkdtemp())
    servers = [FakeOpenAI(default=Reply.ok(delay=DELAY_S), slots=SLOTS).start() for _ in range(3)]
    try:
        urls = [s.url for s in servers]
        routed_rate(urls, 30, 10**6, tmp, route)  # warm up (imports, clients)
        ones, threes = [], []
        for k in range(rounds):
            ones.append(routed_rate(urls[:1], requests, 2 * k * requests, tmp, route))
            threes.append(routed_rate(urls, requests, (2 * k + 1) * requests, tmp, route))
            print(f"round {k + 1}: one deployment {ones[-1]:6.1f} req/s   three "
                  f"{threes[-1]:6.1f} req/s   ratio {threes[-1] / ones[-1]:.2f}", flush=True)
        one = len(ones) / sum(1 / r for r in ones)
        three = len(threes) / sum(1 / r for r in threes)
        print(f"{rounds} x {requests} requests, route {route}, each deployment {SLOTS} at once "
              f"x {DELAY_S}s: "
              f"one {one:.1f} req/s, three {three:.1f} req/s, ratio {three / one:.2f} "
              "(goal near 3)")
    finally:
        for s in servers:
            s.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--router", action="store_true",
                    help="three deployments behind one model vs one (litellm's Router)")
    ap.add_argument("--route", choices=["least-busy", "simple-shuffle"], default="least-busy")
    args = ap.parse_args()
    if args.router:
        router_case(min(args.requests, 120), args.rounds, args.route)
        return

    with loopback_server() as url:
        model = fake_model(url, concurrency=args.concurrency, timeout=60.0)
        plan = make_plan([model], [intervention()])
        iv, prompt = plan.intervention("direct"), plan.prompt("direct")
        llm.litellm_module()
        tmp = Path(tempfile.mkdtemp())

        def prompts_for(rows):
            return [render_prompt(prompt, iv, r.deltas, r.text,
                                  derive_seed(plan.experiment.seed, "prompt", "direct",
                                              str(r.row_id))) for r in rows]

        # Warm up both paths (first calls build clients, import lazily).
        asyncio.run(bare_loop(url, prompts_for(make_rows(100, start=10**6)), args.concurrency))
        bare_rates, ours_rates = [], []
        for k in range(args.rounds):
            rows = make_rows(args.requests, start=k * args.requests)
            t = time.perf_counter()
            asyncio.run(bare_loop(url, prompts_for(rows), args.concurrency))
            bare_rates.append(args.requests / (time.perf_counter() - t))

            con = open_store(tmp / f"bench{k}.duckdb")
            stage = plan.stage("generate:fake/direct")
            t = time.perf_counter()
            stats = run_generate(con, plan, stage, rows)
            ours_rates.append(args.requests / (time.perf_counter() - t))
            stored = con.execute("SELECT count(*) FROM calls WHERE status = 'ok'").fetchone()[0]
            con.close()
            assert stats.ok == stored == args.requests, (stats, stored)
            say_round(k, "run_generate", bare_rates, ours_rates)
        say_total(f"{args.rounds} x {args.requests} requests, concurrency {args.concurrency}",
                  "run_generate", bare_rates, ours_rates)


if __name__ == "__main__":
    main()

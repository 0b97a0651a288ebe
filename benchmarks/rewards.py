"""Reward throughput: completions per second through steerdsl's reward functions (in process:
the measuring engine, its cache in the store, numpy rewards) against the reference tool's
design (a goal-space HTTP server on 127.0.0.1 that the trainer POSTs each batch to).

Both measure with the same engine, so the comparison is the design: one process and no
transport, against a server round trip per batch (JSON both ways, a separate process). The
server is a stdlib http.server with Nagle's algorithm off (else every answer stalls ~40 ms),
kept alive across batches, warmed up before timing; so is the in-process goal space.

    .venv/bin/python benchmarks/rewards.py [--completions 512] [--batch 64]

cold: answers never measured (spaCy runs); store-cached: measured before, read from the
store's measurement cache by a new goal space; cached: the goal space's own memory. Each
batch gets three rewards (steering_error, miscalibration, orthogonality).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = ROOT / "data" / "demo" / "corpus.jsonl"

SPEC = """
experiment bench { seed 3  store "bench.duckdb" }
corpus c { read "corpus.jsonl" text "text" }
goals {
  reading_difficulty = flesch_kincaid_grade  normalize 2.8..12.9
  formality          = heylighen_dewaele     normalize 40.37..69.121634
  textual_diversity  = mtld                  normalize 44.84394871794872..128.54409583333333
  text_length        = token_count           normalize 78..1509
}
probe p from c { sources 16  requests 4 per source  active 1..3 }
model m { litellm "openai/none"  api_base "http://127.0.0.1:9/v1" }
intervention direct { prompt direct }
evaluate { probe p  models m  interventions direct }
"""
REWARDS = ("steering_error", "miscalibration", "orthogonality")


def prepare(folder: Path):
    """A store with the space and the probe done; returns (plan, training set)."""
    import steerdsl
    from steerdsl.store.db import open_store
    from steerdsl.train.dataset import training_set

    shutil.copy(CORPUS, folder / "corpus.jsonl")
    spec = folder / "bench.steer"
    spec.write_text(SPEC, encoding="utf-8")
    steerdsl.load(spec).run(until="probe")
    plan = steerdsl.load(spec).plan()
    con = open_store(plan.experiment.store)
    try:
        data = training_set(plan, con, "p")
    finally:
        con.close()
    return spec, plan, data


def completions_of(data, n: int) -> tuple[list[str], list[int]]:
    """n distinct answers (each source text, cut and numbered), and the row each answers."""
    texts = data.columns["source_text"]
    rows = [i % len(texts) for i in range(n)]
    out = []
    for i, r in enumerate(rows):
        words = texts[r].split()
        keep = max(5, len(words) - (i * 7) % max(1, len(words) // 2))
        out.append(" ".join(words[:keep]) + f" (Take {i}.)")
    return out, rows


def batches(completions, rows, data, size):
    for start in range(0, len(completions), size):
        idx = rows[start:start + size]
        yield completions[start:start + size], {k: [v[r] for r in idx]
                                                for k, v in data.columns.items()}


def in_process(plan, con, completions, rows, data, size, space=None) -> tuple[float, object]:
    from steerdsl.plan.model import RewardPlan
    from steerdsl.train.rewards import GoalSpace, reward_functions

    space = space or GoalSpace(plan, con)
    functions = reward_functions(space, [RewardPlan(metric=m) for m in REWARDS])
    functions[0](completions=["Warm up."], **{k: v[:1] for k, v in data.columns.items()})
    started = time.perf_counter()
    for texts, columns in batches(completions, rows, data, size):
        for f in functions:
            f(completions=texts, **columns)
    return time.perf_counter() - started, space


# --- the reference's design: a goal-space server, one POST per batch ---------------------------

def serve(spec: str, store: str, port_file: str) -> None:
    """The server process: POST /measure {"texts": [...]} -> {"values": [[...] per goal]}."""
    import steerdsl
    from steerdsl.train.rewards import GoalSpace

    plan = steerdsl.load(spec).plan()
    space = GoalSpace(plan, store_path=store)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            values = space.matrix(body["texts"])
            data = json.dumps({"values": np.where(np.isnan(values), None, values).tolist()})
            raw = data.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    Path(port_file).write_text(str(server.server_address[1]))
    server.serve_forever()


def over_http(port: int, goals, completions, rows, data, size) -> float:
    from steerdsl.plan.model import RewardPlan
    from steerdsl.train.rewards import reward_values

    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.connect()
    import socket

    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def post(texts):
        conn.request("POST", "/measure", json.dumps({"texts": texts}),
                     {"Content-Type": "application/json"})
        return np.array(json.loads(conn.getresponse().read())["values"], dtype=float)

    post(["Warm up."])
    plans = [RewardPlan(metric=m) for m in REWARDS]
    started = time.perf_counter()
    for texts, columns in batches(completions, rows, data, size):
        output = post(texts)
        source = np.column_stack([columns[f"source_{g}"] for g in goals]).astype(float)
        target = np.column_stack([columns[f"target_{g}"] for g in goals]).astype(float)
        for r in plans:
            reward_values(r, goals, source, target, output)
    conn.close()
    return time.perf_counter() - started


def start_server(spec: Path, store: Path, folder: Path) -> tuple[subprocess.Popen, int]:
    port_file = folder / f"port-{store.stem}"
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(spec), str(store),
                             str(port_file)], env={**os.environ, "PYTHONPATH": str(ROOT)})
    for _ in range(600):
        if port_file.is_file() and port_file.read_text():
            return proc, int(port_file.read_text())
        if proc.poll() is not None:
            sys.exit("the goal-space server did not start")
        time.sleep(0.1)
    proc.kill()
    sys.exit("the goal-space server did not start in 60 s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--completions", type=int, default=512)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(*args.serve)
        return
    from steerdsl.store.db import open_store

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        spec, plan, data = prepare(folder)
        store = Path(plan.experiment.store)
        fresh = folder / "server.duckdb"
        shutil.copy(store, fresh)  # the server's own store: no answer measured yet either
        completions, rows = completions_of(data, args.completions)
        n = len(completions)
        results = {}

        con = open_store(store)
        try:
            results["in process, cold"], space = in_process(plan, con, completions, rows, data,
                                                            args.batch)
            results["in process, cached"], _ = in_process(plan, con, completions, rows, data,
                                                          args.batch, space)
            results["in process, store-cached"], _ = in_process(plan, con, completions, rows,
                                                                data, args.batch)
        finally:
            con.close()

        proc, port = start_server(spec, fresh, folder)
        try:
            goals = [g.name for g in plan.goals]
            results["HTTP server, cold"] = over_http(port, goals, completions, rows, data,
                                                     args.batch)
            results["HTTP server, cached"] = over_http(port, goals, completions, rows, data,
                                                       args.batch)
        finally:
            proc.terminate()
            proc.wait(timeout=10)

    print(f"{n} completions in batches of {args.batch}, rewards {', '.join(REWARDS)}; "
          f"{os.cpu_count()} cores")
    print(f"{'':28} {'seconds':>9} {'completions/s':>14} {'ms/batch':>9}")
    for name, seconds in results.items():
        print(f"{name:28} {seconds:9.3f} {n / seconds:14.1f} "
              f"{1000 * seconds / -(-n // args.batch):9.2f}")


if __name__ == "__main__":
    main()

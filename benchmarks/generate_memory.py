"""What grows in the driver during the one-by-one generate stage, and where it lives.

    .venv/bin/python benchmarks/generate_memory.py 10000              # the stage as it is
    .venv/bin/python benchmarks/generate_memory.py 10000 --no-write   # answers not stored
    .venv/bin/python benchmarks/generate_memory.py 10000 --no-llm     # answers made up in process
    .venv/bin/python benchmarks/generate_memory.py 8000 --sql "SET threads = 1"

Runs the spec of benchmarks/scale.py (ROWS probe rows) in this process against the loopback
server of tests/support/fake_openai.py: first up to the probe, then the generate stage, and
prints, about every tenth of the rows as they are written: the driver's RSS, glibc's heap
(mallinfo2: in use and free), Python's object count, DuckDB's own memory by tag
(duckdb_memory()), pyarrow's pool, and RSS by kind of mapping. At the end, the anonymous
mappings that grew most between the second print and the last (size, growth).

--no-write drops the answers instead of storing them, --no-llm makes them up in process
(litellm is not called): the two halves of the stage, apart. --sql runs statements (";"
separated) on the store's connection before the stage (DuckDB settings to try).
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from support.scale import make_corpus, write_spec  # noqa: E402


class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena ordblks smblks hblks hblkhd usmblks "
                                               "fsmblks uordblks fordblks keepcost").split()]


def rss_mb() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


def mappings() -> dict[tuple[int, str], int]:
    """(start, name) -> RSS in KiB of every mapping of this process (a mapping that grows
    keeps its start: the heap, an arena)."""
    out: dict[tuple[int, str], int] = {}
    key = None
    for line in open("/proc/self/smaps"):
        parts = line.split()
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            key = (int(parts[0].split("-")[0], 16), parts[5] if len(parts) > 5 else "")
        elif parts[0] == "Rss:" and key is not None:
            out[key] = int(parts[1])
    return out


def by_kind(maps: dict[tuple[int, str], int]) -> dict[str, int]:
    kinds: Counter[str] = Counter()
    for (_, name), kib in maps.items():
        kinds["file" if name.startswith("/") else name or "anon"] += kib
    return {k: v >> 10 for k, v in kinds.items() if v > 10_000}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("rows", type=int)
    p.add_argument("--no-write", action="store_true", help="answers dropped, not stored")
    p.add_argument("--no-llm", action="store_true", help="answers made up, litellm not called")
    p.add_argument("--sql", default="", help="statements run on the store before the stage")
    args = p.parse_args()
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    server = subprocess.Popen([sys.executable, "-m", "support.fake_openai"],
                              stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT / "tests")})
    try:
        with tempfile.TemporaryDirectory(prefix="generate_memory") as tmp:
            work = Path(tmp)
            make_corpus(work / "corpus.jsonl", 1500)
            spec = write_spec(work / "s.steer", store=work / "s.duckdb",
                              corpus=work / "corpus.jsonl",
                              url=server.stdout.readline().strip(), sources=1000,
                              requests=max(1, args.rows // 1000), key="STEERDSL_SCALE_KEY")
            os.environ.update(STEERDSL_SCALE_KEY="none", HF_HUB_OFFLINE="1")
            _run(spec, args, libc)
    finally:
        server.terminate()
        server.wait(timeout=10)


def _run(spec: Path, args: argparse.Namespace, libc) -> None:
    import pyarrow as pa

    from steerdsl.cli import main as cli
    from steerdsl.llm import completion
    from steerdsl.store import calls

    try:
        cli(["run", str(spec), "-q", "--until", "probe"])
    except SystemExit:
        pass
    print(f"after the probe: RSS {rss_mb()} MB", flush=True)
    written, snapshots = [0], []
    step = max(1000, args.rows // 10)
    store = calls.CallWriter.write

    def write(self, batch) -> None:
        if not args.no_write:
            store(self, batch)
        before = written[0]
        written[0] += len(batch)
        if written[0] // step == before // step:
            return
        mi = libc.mallinfo2()
        duck = self.con.execute("SELECT tag, memory_usage_bytes >> 20 FROM duckdb_memory() "
                                "WHERE memory_usage_bytes > 1000000").fetchall()
        maps = mappings()
        snapshots.append(maps)
        print(f"{written[0]:>7} rows: RSS {rss_mb()} MB; glibc in use {mi.uordblks >> 20} MB, "
              f"free {mi.fordblks >> 20} MB; {len(gc.get_objects()):,} objects; DuckDB "
              f"{dict(duck)} MB; pyarrow {pa.total_allocated_bytes() >> 10} KiB; "
              f"{by_kind(maps)} MB", flush=True)

    calls.CallWriter.write = write
    if args.sql:
        init = calls.CallWriter.__init__

        def set_up(self, con, *a, **k) -> None:
            for statement in filter(str.strip, args.sql.split(";")):
                con.execute(statement)
            init(self, con, *a, **k)

        calls.CallWriter.__init__ = set_up
    if args.no_llm:
        async def made_up(model, prompt, n, params, api_key, keys=None):
            await asyncio.sleep(0.2)  # answers arrive over time, so writes stay small
            return completion.Completion(contents=["A short plain answer, made up."] * n,
                                         prompt_tokens=50, completion_tokens=8, cost=None)

        completion.complete = made_up
    try:
        cli(["run", str(spec), "-q", "--until", "generate"])
    except SystemExit:
        pass
    if len(snapshots) >= 3:
        first, last = snapshots[1], snapshots[-1]
        grew = sorted(((last.get(k, 0) - first.get(k, 0), k) for k in set(first) | set(last)),
                      reverse=True)
        print("mappings that grew most since the second print (KiB):")
        for kib, (start, name) in grew[:10]:
            print(f"  +{kib:>7} {hex(start)} {name or 'anonymous'}")
    print(f"end: RSS {rss_mb()} MB", flush=True)


if __name__ == "__main__":
    main()

"""How fast is `steerdsl compile` as a cold process, against `import litellm`?

    .venv/bin/python benchmarks/compile.py [--reps 7] [--spec specs/paper.steer]

Prints the median wall time of each and their ratio (goal: compile < 0.3 x import litellm).
Both run in fresh processes, in the same session, alternating, so machine load hits both.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(cmd: list[str]) -> float:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1"}
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, env=env, cwd=REPO)
    elapsed = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr.decode()}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--spec", default="specs/paper.steer")
    args = ap.parse_args()
    steerdsl = str(Path(sys.executable).parent / "steerdsl")
    compile_cmd = [steerdsl, "compile", args.spec]
    litellm_cmd = [sys.executable, "-c", "import litellm"]
    timed(compile_cmd)  # warm the OS file cache and lark's grammar cache once
    timed(litellm_cmd)
    compile_t, litellm_t = [], []
    for _ in range(args.reps):
        compile_t.append(timed(compile_cmd))
        litellm_t.append(timed(litellm_cmd))
    c, l = statistics.median(compile_t), statistics.median(litellm_t)
    print(f"steerdsl compile {args.spec}: median {c * 1000:.0f} ms over {args.reps} runs")
    print(f"python -c 'import litellm':   median {l * 1000:.0f} ms over {args.reps} runs")
    print(f"ratio compile / import litellm: {c / l:.3f} (goal < 0.3)")


if __name__ == "__main__":
    main()

"""A real two-node Ray cluster on loopback, for the Ray executor's tests and benchmark: a
head node and a second node (`ray start --address`), one CPU each, in a temporary folder of
their own; `stop()` ends both (`ray stop` for this cluster's processes only)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMMON = ["--num-cpus", "1", "--object-store-memory", "200000000", "--disable-usage-stats"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RayCluster:
    def __init__(self, temp_dir: Path, nodes: int = 2) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.ray = str(Path(sys.executable).parent / "ray")
        # Workers import this tree's steerdsl (as the tests do), quietly and offline.
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]),
            "RAY_USAGE_STATS_ENABLED": "0", "HF_HUB_OFFLINE": "1"}
        self.temp_dir = temp_dir
        self._start(["--head", "--node-ip-address", "127.0.0.1", "--port", str(self.port),
                     "--include-dashboard=false", "--temp-dir", str(temp_dir)])
        for _ in range(nodes - 1):
            self._start(["--address", self.address, "--node-ip-address", "127.0.0.1"])

    def _start(self, args: list[str]) -> None:
        subprocess.run([self.ray, "start", *args, *COMMON], env=self.env, check=True,
                       capture_output=True, text=True, timeout=180)

    def stop(self) -> None:
        subprocess.run([self.ray, "stop", "--force"], env=self.env, capture_output=True,
                       timeout=120)

"""A real two-node Ray cluster on loopback, for the Ray executor's tests and benchmark: a
head node and a second node (`ray start --address`), one CPU each, in a temporary folder of
their own; `stop()` ends both: this cluster's processes only, by their ids (`ray stop` would
end every Ray process of the machine)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
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
        try:
            self._start(["--head", "--node-ip-address", "127.0.0.1", "--port", str(self.port),
                         "--include-dashboard=false", "--temp-dir", str(temp_dir)])
            for _ in range(nodes - 1):
                self._start(["--address", self.address, "--node-ip-address", "127.0.0.1"])
        except BaseException:
            self.stop()
            raise

    def _start(self, args: list[str]) -> None:
        subprocess.run([self.ray, "start", *args, *COMMON], env=self.env, check=True,
                       capture_output=True, text=True, timeout=180)

    def stop(self) -> None:
        pids = _processes_of(str(self.temp_dir))
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and any(_alive(p) for p in pids):
                time.sleep(0.2)


def _processes_of(marker: str) -> list[int]:
    """Processes whose command line names `marker` (the cluster's temp folder: its GCS,
    raylets, monitors), and all their descendants (workers, agents)."""
    children: dict[int, list[int]] = {}
    roots = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
        if marker in cmdline:
            roots.append(int(entry.name))
    found, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        if pid not in found and pid != os.getpid():
            found.append(pid)
            todo += children.get(pid, [])
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for our purpose
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False

"""A minimal LSP client for tests: `steerdsl lsp` as a subprocess, JSON-RPC with
Content-Length framing over its pipes, a timeout on every read.

A reader thread parses messages into a queue, so a read waits at most `timeout` seconds and
a hung server fails the test instead of hanging it. Notifications (diagnostics) and replies
are kept apart: `request` returns the reply to its id; `notification` the next notification
of a method.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 30.0  # seconds; the first request pays for importing the checker


class LspClient:
    def __init__(self, *, cwd: Path | None = None, timeout: float = TIMEOUT):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "steerdsl.cli", "lsp"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd or ROOT, env=env)
        self.timeout = timeout
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._notifications: list[dict[str, Any]] = []
        self._replies: dict[int, dict[str, Any]] = {}
        self._next_id = 0
        threading.Thread(target=self._read_all, daemon=True).start()

    # --- framing ---------------------------------------------------------------------------

    def _read_all(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            headers: dict[str, str] = {}
            while True:
                line = out.readline()
                if not line:
                    self._messages.put(None)  # the server closed its output
                    return
                line = line.strip()
                if not line:
                    break
                key, _, value = line.decode("ascii").partition(":")
                headers[key.strip().lower()] = value.strip()
            body = out.read(int(headers["content-length"]))
            self._messages.put(json.loads(body))

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def _next(self) -> dict[str, Any]:
        try:
            message = self._messages.get(timeout=self.timeout)
        except queue.Empty:
            raise TimeoutError(f"no message from the server within {self.timeout} s") from None
        if message is None:
            raise EOFError("the server closed its output: " + self._stderr())
        return message

    def _stderr(self) -> str:
        if self.proc.poll() is None or self.proc.stderr is None:
            return "(still running)"
        return self.proc.stderr.read().decode("utf-8", "replace")

    # --- messages --------------------------------------------------------------------------

    def request(self, method: str, params: Any = None) -> Any:
        """Send a request and wait for its reply; an error reply raises."""
        self._next_id += 1
        rid = self._next_id
        self._send({"id": rid, "method": method, "params": params})
        while rid not in self._replies:
            message = self._next()
            if "id" in message and "method" not in message:
                self._replies[message["id"]] = message
            elif "method" in message and "id" in message:  # a request from the server
                self._send({"id": message["id"], "result": None})
            else:
                self._notifications.append(message)
        reply = self._replies.pop(rid)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result")

    def notify(self, method: str, params: Any = None) -> None:
        self._send({"method": method, "params": params})

    def notification(self, method: str) -> dict[str, Any]:
        """The params of the next notification of `method` (earlier ones already received
        first)."""
        while True:
            for i, n in enumerate(self._notifications):
                if n["method"] == method:
                    return self._notifications.pop(i)["params"]
            message = self._next()
            if "method" in message and "id" in message:
                self._send({"id": message["id"], "result": None})
            elif "method" in message:
                self._notifications.append(message)
            else:
                self._replies[message["id"]] = message

    # --- the protocol's steps --------------------------------------------------------------

    def initialize(self, root: Path) -> dict[str, Any]:
        result = self.request("initialize", {
            "processId": os.getpid(), "rootUri": root.as_uri(), "capabilities": {}})
        self.notify("initialized", {})
        return result

    def open(self, path: Path, text: str, version: int = 1) -> dict[str, Any]:
        """didOpen; returns the diagnostics published for it."""
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": path.as_uri(), "languageId": "steer", "version": version, "text": text}})
        return self.diagnostics(path)

    def change(self, path: Path, text: str, version: int) -> dict[str, Any]:
        """didChange with the whole text; returns the diagnostics published for it."""
        self.notify("textDocument/didChange", {
            "textDocument": {"uri": path.as_uri(), "version": version},
            "contentChanges": [{"text": text}]})
        return self.diagnostics(path)

    def edit(self, path: Path, start: tuple[int, int], end: tuple[int, int], text: str,
             version: int) -> dict[str, Any]:
        """didChange replacing a range (line, character) by `text`, as editors send by
        default; returns the diagnostics published for it."""
        where = {"start": {"line": start[0], "character": start[1]},
                 "end": {"line": end[0], "character": end[1]}}
        self.notify("textDocument/didChange", {
            "textDocument": {"uri": path.as_uri(), "version": version},
            "contentChanges": [{"range": where, "text": text}]})
        return self.diagnostics(path)

    def diagnostics(self, path: Path) -> dict[str, Any]:
        while True:
            params = self.notification("textDocument/publishDiagnostics")
            if params["uri"] == path.as_uri():
                return params

    def at(self, method: str, path: Path, line: int, character: int, **extra: Any) -> Any:
        return self.request(method, {"textDocument": {"uri": path.as_uri()},
                                     "position": {"line": line, "character": character},
                                     **extra})

    def close(self) -> int:
        """shutdown, exit; the server's exit code."""
        try:
            if self.proc.poll() is None:
                self.request("shutdown")
                self.notify("exit")
            return self.proc.wait(timeout=self.timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=self.timeout)
            for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                if f is not None:
                    f.close()

"""A real OpenAI-compatible chat-completions server on 127.0.0.1, for tests and benchmarks.

Standard library only (ThreadingHTTPServer in a daemon thread). Behaviour is scriptable per
request: queue replies for prompts containing a string (`script`), or set the default reply;
every request is logged (time, prompt, n, reply kind, Authorization header) so tests can count
requests per prompt and measure the time between attempts.

    with FakeOpenAI() as server:
        server.script("fox", Reply.rate_limited(retry_after=1), Reply.ok())
        ... litellm.acompletion(model="openai/fake", api_base=server.url, api_key="x", ...)
        assert server.count("fox") == 2
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


@dataclass(frozen=True)
class Reply:
    """What the server answers to one request.

    kind: "ok" (choices), "status" (an HTTP error `status` with an OpenAI error body),
    "garbage" (200 with a body that is not JSON), "no_choices" (200, choices = []),
    "null_content" / "empty_content" (200, each choice's content null / ""), "die" (the
    server dies: no answer, every open connection is closed, the port refuses from then on).
    content: the choices' texts for "ok"; None = `default_answer` for each choice index.
    n: how many choices; None = the request's n (ignore_n=True: always 1).
    delay: seconds to wait before answering (longer than the client's timeout = a stall).
    finish_reason: of every choice ("length": cut off at max_tokens, see `truncated`).
    """

    kind: str = "ok"
    content: tuple[str, ...] | str | None = None
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    ignore_n: bool = False
    n: int | None = None
    echo_key: bool = False  # error message quotes the key, like some providers do
    finish_reason: str = "stop"

    @staticmethod
    def ok(*content: str, delay: float = 0.0, ignore_n: bool = False) -> Reply:
        return Reply(content=content or None, delay=delay, ignore_n=ignore_n)

    @staticmethod
    def truncated(*content: str, ignore_n: bool = False) -> Reply:
        """An answer cut off at max_tokens (finish_reason "length")."""
        return Reply(content=content or None, ignore_n=ignore_n, finish_reason="length")

    @staticmethod
    def rate_limited(retry_after: float | None = 1, header: str = "Retry-After") -> Reply:
        headers = () if retry_after is None else ((header, f"{retry_after:g}"),)
        return Reply(kind="status", status=429, headers=headers)

    @staticmethod
    def error(status: int = 500, echo_key: bool = False) -> Reply:
        return Reply(kind="status", status=status, echo_key=echo_key)

    @staticmethod
    def stall(seconds: float) -> Reply:
        return Reply(delay=seconds)

    @staticmethod
    def die() -> Reply:
        return Reply(kind="die")

    @staticmethod
    def garbage() -> Reply:
        return Reply(kind="garbage")

    @staticmethod
    def no_choices() -> Reply:
        return Reply(kind="no_choices")

    @staticmethod
    def null_content() -> Reply:
        return Reply(kind="null_content")

    @staticmethod
    def empty_content() -> Reply:
        return Reply(kind="empty_content")


@dataclass
class Request:
    t: float  # time.monotonic() when the request arrived
    prompt: str  # content of the last user message
    n: int
    body: dict
    authorization: str | None
    reply: str = ""  # the reply's kind (or status) once decided


def source_of(prompt: str) -> str:
    """The source text of a steerdsl prompt: its last paragraph."""
    return prompt.rsplit("\n\n", 1)[-1]


def default_answer(prompt: str, index: int) -> str:
    return f"answer {index}: {source_of(prompt)}"


@dataclass
class _Script:
    match: str
    replies: list[Reply] = field(default_factory=list)


class FakeOpenAI:
    def __init__(self, default: Reply | Callable[[Request], Reply] | None = None,
                 port: int = 0, slots: int | None = None, timings: bool = False,
                 max_in_flight: int | None = None, retry_after: float = 1.0,
                 keep_log: bool = True) -> None:
        """`port`: 0 for any free one; a given one to stand in for a server that died there.
        `slots`: how many requests are worked on at once (a reply's delay is spent holding a
        slot; the others queue, like llama.cpp's server with `--parallel 1`); None: no limit.
        `timings`: answers carry llama.cpp's `timings` (prompt_ms 5, predicted_ms = delay).
        `max_in_flight`: a server-side concurrency limit: a request arriving while that many
        are being answered gets 429 with Retry-After `retry_after`.
        `keep_log`: False keeps no request in `log` (a server of 100k requests for a
        benchmark or a scale test), so count() and requests() see nothing."""
        self.keep_log = keep_log
        self.max_in_flight = max_in_flight
        self.retry_after = retry_after
        self._in_flight = 0
        self.port = port
        self._slots = threading.Semaphore(slots) if slots else None
        self.timings = timings
        self.default: Reply | Callable[[Request], Reply] = default or Reply()
        self.log: list[Request] = []
        self._scripts: list[_Script] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set = set()  # open client sockets, closed by kill()
        self._killed = False

    # --- scripting and inspection ---

    def script(self, match: str, *replies: Reply) -> None:
        """Answer the next requests whose prompt contains `match` with `replies`, in order;
        then fall back to the default."""
        with self._lock:
            self._scripts.append(_Script(match, list(replies)))

    def count(self, match: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.log if match is None or match in r.prompt)

    def counts(self) -> Counter[str]:
        """Requests per prompt."""
        with self._lock:
            return Counter(r.prompt for r in self.log)

    def requests(self, match: str | None = None) -> list[Request]:
        with self._lock:
            return [r for r in self.log if match is None or match in r.prompt]

    def clear(self) -> None:
        with self._lock:
            self.log.clear()
            self._scripts.clear()

    # --- life cycle ---

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> FakeOpenAI:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        self._server.request_queue_size = 256
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="fake-openai")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()
        if self._server is not None and not self._killed:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def kill(self) -> None:
        """Die like a killed server process: stop listening (the port refuses connections
        from now on) and close every open connection, kept-alive ones included, unanswered."""
        import socket

        with self._lock:
            if self._killed:
                return
            self._killed = True
            connections = list(self._connections)
        self._closing.set()
        assert self._server is not None
        server = self._server
        # shutdown() waits for serve_forever to return: from a handler thread that is fine.
        server.shutdown()
        server.server_close()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            except OSError:
                pass

    @property
    def killed(self) -> bool:
        return self._killed

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- serving ---

    def _decide(self, request: Request) -> Reply:
        with self._lock:
            if self.keep_log:
                self.log.append(request)
            for s in self._scripts:
                if s.replies and s.match in request.prompt:
                    return s.replies.pop(0)
        d = self.default
        return d(request) if callable(d) else d

    def _respond(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        reply = self._decide(request)
        request.reply = reply.kind if reply.kind != "status" else str(reply.status)
        if reply.kind == "die":
            return 0, {}, b""
        with self._lock:
            over = self.max_in_flight is not None and self._in_flight >= self.max_in_flight
            if over:
                reply = Reply.rate_limited(self.retry_after)
                request.reply = "429"
            else:
                self._in_flight += 1
        if over:
            return self._answer(request, reply)
        try:
            if self._slots is None:
                return self._answer(request, reply)
            with self._slots:  # queued until a slot is free; the client may give up meanwhile
                return self._answer(request, reply)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _answer(self, request: Request, reply: Reply) -> tuple[int, dict[str, str], bytes]:
        if reply.delay:
            self._closing.wait(reply.delay)
        headers = dict(reply.headers)
        if reply.kind == "status":
            message = f"fake error {reply.status}"
            if reply.echo_key:
                key = (request.authorization or "").removeprefix("Bearer ")
                message += f": incorrect API key provided: {key}"
            body = {"error": {"message": message, "type": "fake", "code": reply.status}}
            return reply.status, headers, json.dumps(body).encode()
        if reply.kind == "garbage":
            return 200, headers, b'{"id": "x", "choices": [ this is not json'
        n = reply.n or (1 if reply.ignore_n else request.n)
        if reply.kind == "no_choices":
            contents: list[str | None] = []
        elif reply.kind == "null_content":
            contents = [None] * n
        elif reply.kind == "empty_content":
            contents = [""] * n
        elif reply.content is None:
            contents = [default_answer(request.prompt, i) for i in range(n)]
        else:
            given = (reply.content,) if isinstance(reply.content, str) else reply.content
            contents = [given[i % len(given)] for i in range(n)]
        completion_tokens = sum(len((c or "").split()) for c in contents)
        prompt_tokens = len(request.prompt.split())
        body = {
            "id": f"chatcmpl-fake-{len(self.log)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.body.get("model", "fake"),
            "choices": [
                {"index": i, "message": {"role": "assistant", "content": c},
                 "finish_reason": reply.finish_reason}
                for i, c in enumerate(contents)
            ],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }
        if self.timings:
            body["timings"] = {"prompt_ms": 5.0, "predicted_ms": reply.delay * 1000.0}
        return 200, headers, json.dumps(body).encode()


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAI
    protocol_version = "HTTP/1.1"  # keep-alive, like real providers
    disable_nagle_algorithm = True  # else every response stalls ~40 ms (DEPENDENCIES.md)

    def log_message(self, format, *args) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        with self.fake._lock:
            self.fake._connections.add(self.connection)

    def finish(self) -> None:
        with self.fake._lock:
            self.fake._connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass  # the server was killed under this connection

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionResetError, BrokenPipeError, OSError):
            pass  # a client killed mid-request (the crash tests do that), or kill()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(404, {}, b'{"error": {"message": "not found"}}')
            return
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            self._send(400, {}, b'{"error": {"message": "bad json"}}')
            return
        messages = body.get("messages") or [{}]
        user = [m for m in messages if m.get("role") == "user"] or messages
        prompt = user[-1].get("content") or ""
        if isinstance(prompt, list):  # content parts
            prompt = "".join(p.get("text", "") for p in prompt if isinstance(p, dict))
        if self.fake.killed:  # read just before the server died: it never answers
            self.close_connection = True
            return
        request = Request(t=time.monotonic(), prompt=prompt, n=int(body.get("n") or 1),
                          body=body, authorization=self.headers.get("Authorization"))
        status, headers, payload = self.fake._respond(request)
        if status == 0:  # Reply.die()
            self.close_connection = True
            self.fake.kill()
            return
        self._send(status, headers, payload)

    def _send(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): nothing to do


class ResettingPort:
    """A loopback port that accepts every connection and resets it at once, counting them:
    a server that is up but broken (connection reset), and a count of every attempt."""

    def __init__(self) -> None:
        import socket

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="resetting-port")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/v1"

    def _serve(self) -> None:
        import socket
        import struct

        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            # SO_LINGER 0: close() sends RST instead of FIN.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    def __enter__(self) -> ResettingPort:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()


def unused_port() -> int:
    """A loopback port with nothing listening (connections to it are refused)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def distinct_answers() -> Callable[[Request], Reply]:
    """A default reply whose answers all differ (a counter after the source text), so that
    every answer is a new text to measure."""
    counter = itertools.count()
    lock = threading.Lock()

    def reply(request: Request) -> Reply:
        with lock:
            k = next(counter)
        source = source_of(request.prompt)
        return Reply.ok(*(f"{source} Answer {k}.{i}." for i in range(request.n)))

    return reply


def main() -> None:
    """Serve until killed, printing the base URL (for benchmarks: a server in its own process
    does not compete with the client for the GIL). Keeps no log of requests.
    --distinct-answers: every answer differs (see distinct_answers)."""
    import sys

    default = distinct_answers() if "--distinct-answers" in sys.argv[1:] else None
    serve_until_killed(FakeOpenAI(default, keep_log=False))
    sys.exit(0)


def serve_until_killed(server) -> None:
    """Start a loopback server, print its base URL and serve until killed (the main of a
    server in its own process)."""
    server.start()
    print(server.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()

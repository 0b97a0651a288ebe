"""A real OpenAI-format files + batches server on 127.0.0.1, for the batch-mode tests.

Standard library only (ThreadingHTTPServer in a daemon thread). Implements POST /v1/files
(multipart upload), GET /v1/files/{id}/content, POST /v1/batches, GET /v1/batches (list)
and GET /v1/batches/{id}.
A batch goes validating -> in_progress -> completed, one step per retrieve (`hold=True`
keeps it in progress until `release()`); then its output file holds one chat completion per
request (the default answer of fake_openai), its error file the requests whose prompt
contains a `fail` string (status 500) or an `expire` string (error batch_expired).
`answer(prompt, index)` replaces the default answer (a judge's JSON verdict, a judged goal's
score). `cut_downloads = N` breaks off the next N file downloads halfway through (the
connection closed after half the content); `downloads` counts each file's downloads. Every
submitted request's custom id is counted (`submitted`), so tests can check that nothing was
submitted twice.

    with FakeBatches() as server:
        ... litellm.create_file(..., api_base=server.url) ...
        assert max(server.submitted.values()) == 1
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from support.fake_openai import default_answer, serve_until_killed


class FakeBatches:
    def __init__(self, fail: tuple[str, ...] = (), expire: tuple[str, ...] = (),
                 hold: bool = False,
                 answer: Callable[[str, int], str] = default_answer) -> None:
        self.fail = fail
        self.answer = answer
        self.expire = expire
        self.hold = hold
        self.cut_downloads = 0  # file downloads still to break off halfway through
        self.downloads: Counter[str] = Counter()  # file id -> times its content was sent
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict] = {}
        self.submitted: Counter[str] = Counter()  # custom id -> times sent in a batch
        self.retrieves = 0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def release(self) -> None:
        """Let held batches complete at their next retrieve."""
        self.hold = False

    def start(self) -> FakeBatches:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeBatches:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- endpoints ---------------------------------------------------------------------------

    def upload(self, content: bytes, filename: str) -> dict:
        with self._lock:
            file_id = f"file-{next(self._ids)}"
            self.files[file_id] = content
        return _file(file_id, content, filename)

    def create(self, body: dict) -> dict:
        lines = [json.loads(x) for x in self.files[body["input_file_id"]].splitlines() if x]
        with self._lock:
            batch_id = f"batch_{next(self._ids)}"
            for line in lines:
                self.submitted[line["custom_id"]] += 1
            self.batches[batch_id] = {
                "id": batch_id, "object": "batch", "endpoint": body["endpoint"],
                "input_file_id": body["input_file_id"],
                "completion_window": body.get("completion_window", "24h"),
                "status": "validating", "created_at": int(time.time()),
                "output_file_id": None, "error_file_id": None, "errors": None,
                "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
                "metadata": body.get("metadata")}
        return self.batches[batch_id]

    def retrieve(self, batch_id: str) -> dict | None:
        with self._lock:
            self.retrieves += 1
            batch = self.batches.get(batch_id)
            if batch is None:
                return None
            if batch["status"] == "validating":
                batch["status"] = "in_progress"
            elif batch["status"] == "in_progress" and not self.hold:
                self._complete(batch)
            return dict(batch)

    def _complete(self, batch: dict) -> None:
        lines = [json.loads(x) for x in self.files[batch["input_file_id"]].splitlines() if x]
        out, err = [], []
        for i, line in enumerate(lines):
            prompt = line["body"]["messages"][-1]["content"]
            row = {"id": f"batch_req_{i}", "custom_id": line["custom_id"]}
            if any(s in prompt for s in self.expire):
                err.append({**row, "response": None, "error": {
                    "code": "batch_expired", "message": "This request could not be executed "
                    "before the completion window expired."}})
            elif any(s in prompt for s in self.fail):
                err.append({**row, "error": None, "response": {"status_code": 500, "body": {
                    "error": {"message": "fake batch error", "type": "server_error"}}}})
            else:
                out.append({**row, "error": None, "response": {
                    "status_code": 200,
                    "body": _completion(line["body"], prompt, self.answer)}})
        counts = batch["request_counts"]
        counts["completed"], counts["failed"] = len(out), len(err)
        batch["status"] = "completed"
        if out:
            batch["output_file_id"] = self._store_lines(out)
        if err:
            batch["error_file_id"] = self._store_lines(err)

    def _store_lines(self, rows: list[dict]) -> str:
        file_id = f"file-{next(self._ids)}"
        self.files[file_id] = "".join(json.dumps(r) + "\n" for r in rows).encode()
        return file_id


def _file(file_id: str, content: bytes, filename: str) -> dict:
    return {"id": file_id, "object": "file", "bytes": len(content),
            "created_at": int(time.time()), "filename": filename, "purpose": "batch",
            "status": "processed"}


def _completion(body: dict, prompt: str, answer: Callable[[str, int], str]) -> dict:
    n = body.get("n", 1)
    contents = [answer(prompt, i) for i in range(n)]
    prompt_tokens = len(prompt.split())
    completion_tokens = sum(len(c.split()) for c in contents)
    return {"id": "chatcmpl-batch", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": i, "message": {"role": "assistant", "content": c},
                         "finish_reason": "stop"} for i, c in enumerate(contents)],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args) -> None:  # quiet
        pass

    @property
    def fake(self) -> FakeBatches:
        return self.server.fake  # type: ignore[attr-defined]

    def _path(self) -> str:
        return self.path.split("?", 1)[0].removeprefix("/v1")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        path = self._path()
        if path == "/files":
            content, filename = _multipart_file(self.headers.get("Content-Type", ""), raw)
            return self._json(200, self.fake.upload(content, filename))
        if path == "/batches":
            return self._json(200, self.fake.create(json.loads(raw)))
        self._json(404, {"error": {"message": f"no route {path}"}})

    def do_GET(self) -> None:
        path = self._path()
        parts = path.strip("/").split("/")
        if parts == ["batches"]:  # newest first, as OpenAI lists them
            data = [self.fake.batches[k] for k in reversed(self.fake.batches)]
            return self._json(200, {"object": "list", "data": data, "has_more": False,
                                    "first_id": None, "last_id": None})
        if parts[0] == "batches" and len(parts) == 2:
            batch = self.fake.retrieve(parts[1])
            if batch is not None:
                return self._json(200, batch)
        if parts[0] == "files" and len(parts) == 3 and parts[2] == "content":
            content = self.fake.files.get(parts[1])
            if content is not None:
                self.fake.downloads[parts[1]] += 1
                cut = self.fake.cut_downloads > 0
                self.fake.cut_downloads -= cut
                return self._send(200, "application/octet-stream", content, cut=cut)
        self._json(404, {"error": {"message": f"not found: {path}"}})

    def _json(self, status: int, body: dict) -> None:
        self._send(status, "application/json", json.dumps(body).encode())

    def _send(self, status: int, content_type: str, payload: bytes, cut: bool = False) -> None:
        """The payload; `cut`: its headers, half of it, then the connection closed."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if cut:
            self.wfile.write(payload[:len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
        else:
            self.wfile.write(payload)


def _multipart_file(content_type: str, raw: bytes) -> tuple[bytes, str]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            return part.get_payload(decode=True), part.get_filename() or "batch.jsonl"
    raise ValueError("no file in the upload")


def main() -> None:
    """Serve until killed, printing the base URL (benchmarks/scale.py --batch runs it in its
    own process: `python -m support.fake_batches` with tests/ on the path)."""
    serve_until_killed(FakeBatches())


if __name__ == "__main__":
    main()

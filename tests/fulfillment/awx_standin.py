"""A local stand-in for Ansible AWX: a real HTTP server on 127.0.0.1 that answers the two
endpoints a fulfillment step uses, as AWX's API reference documents them.

    POST /api/v2/job_templates/{id}/launch/   201 {"job": <id>, "id": <id>, "type": "job",
                                               "status": "pending", "url": ..., ...}
    GET  /api/v2/jobs/{id}/                   200 {"id", "status", "failed", "started",
                                               "finished", "job_explanation",
                                               "result_traceback", "artifacts", ...}

Both check `Authorization: Bearer <token>` (401 {"detail": ...} otherwise); an unknown job
template or job is 404 {"detail": "Not found."}; a launch body without an extra_vars object is
400 {"extra_vars": [...]}. Each test scripts the jobs: each launch takes the next JobScript
(the statuses its job answers with, one per GET, the last one repeated; its artifacts, its
explanation and traceback), and `launch_answers` can make the next launches fail first."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.jobs.conftest import free_port

TOKEN = "awx-oauth2-token-0123456789abcdef"
LAUNCH = re.compile(r"^/api/v2/job_templates/(\d+)/launch/$")
JOB = re.compile(r"^/api/v2/jobs/(\d+)/$")


@dataclass
class JobScript:
    statuses: list[str] = field(default_factory=lambda: ["running", "successful"])
    artifacts: dict = field(default_factory=dict)
    job_explanation: str = ""
    result_traceback: str = ""


@dataclass
class Launch:
    template: int
    headers: dict
    body: dict


@dataclass
class Job:
    id: int
    template: int
    script: JobScript
    extra_vars: dict
    reads: int = 0

    def detail(self) -> dict:
        statuses = self.script.statuses
        status = statuses[min(self.reads, len(statuses) - 1)]
        self.reads += 1
        over = status in ("successful", "failed", "error", "canceled")
        return {
            "id": self.id,
            "type": "job",
            "url": f"/api/v2/jobs/{self.id}/",
            "job_template": self.template,
            "status": status,
            "failed": status in ("failed", "error"),
            "started": "2026-12-10T09:00:01.000000Z" if status != "pending" else None,
            "finished": "2026-12-10T09:02:30.000000Z" if over else None,
            "elapsed": 149.0 if over else 0.0,
            "job_explanation": self.script.job_explanation if over else "",
            "result_traceback": self.script.result_traceback if over else "",
            "artifacts": self.script.artifacts if status == "successful" else {},
            "extra_vars": json.dumps(self.extra_vars),
        }


@dataclass
class AwxStandIn:
    token: str = TOKEN
    templates: tuple[int, ...] = (42,)
    port: int = field(default_factory=free_port)
    scripts: list[JobScript] = field(default_factory=list)
    launch_answers: list[tuple[int, dict]] = field(default_factory=list)
    launches: list[Launch] = field(default_factory=list)
    jobs: dict[int, Job] = field(default_factory=dict)
    reads: list[int] = field(default_factory=list)  # the job id of each GET, in order
    server: ThreadingHTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, method: str, path: str, headers: dict, raw: bytes) -> tuple[int, dict]:
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"detail": "Authentication credentials were not provided."}
        with self.lock:
            if method == "POST" and (match := LAUNCH.match(path)):
                return self._launch(int(match[1]), headers, raw)
            if method == "GET" and (match := JOB.match(path)):
                job = self.jobs.get(int(match[1]))
                if job is None:
                    return 404, {"detail": "Not found."}
                self.reads.append(job.id)
                return 200, job.detail()
        return 404, {"detail": "Not found."}

    def _launch(self, template: int, headers: dict, raw: bytes) -> tuple[int, dict]:
        if template not in self.templates:
            return 404, {"detail": "Not found."}
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return 400, {"detail": "JSON parse error - Expecting value"}
        extra_vars = body.get("extra_vars", {}) if isinstance(body, dict) else None
        if not isinstance(extra_vars, dict):
            return 400, {"extra_vars": ["Must be a valid JSON or YAML dictionary."]}
        self.launches.append(Launch(template, headers, body))
        if self.launch_answers:
            return self.launch_answers.pop(0)
        job_id = 100 + len(self.jobs) + 1
        script = self.scripts.pop(0) if self.scripts else JobScript()
        self.jobs[job_id] = Job(job_id, template, script, extra_vars)
        return 201, {
            "job": job_id,
            "id": job_id,
            "type": "job",
            "url": f"/api/v2/jobs/{job_id}/",
            "status": "pending",
            "ignored_fields": {},
            "extra_vars": json.dumps(extra_vars),
        }

    def start(self) -> AwxStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                status, document = standin.answer(method, self.path, dict(self.headers), raw)
                answer = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def do_POST(self):  # noqa: N802 - http.server's name
                self._serve("POST")

            def do_GET(self):  # noqa: N802 - http.server's name
                self._serve("GET")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

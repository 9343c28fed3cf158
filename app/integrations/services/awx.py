"""Ansible AWX / Automation Platform's REST API, as far as fulfillment steps use it: launching a
job template and reading a job.

The integration's URL is the AWX base URL (https://awx.example.com), whose API is under
/api/v2; a URL that already ends in /v2 is used as the API root as it is (Automation Platform
2.5 behind its gateway: https://aap.example.com/api/controller/v2). Its secret is an AWX
OAuth2 token, sent as `Authorization: Bearer <token>`."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from ..models import Integration
from . import deliveries as outbound
from . import secrets

USER_AGENT = "Offerdesk-AWX/1"
READ_LIMIT = 256 * 1024  # a job's detail: its extra_vars and artifacts come with it
RUNNING = ("new", "pending", "waiting", "running")
SUCCESSFUL = "successful"
UNSUCCESSFUL = ("failed", "error", "canceled")


@dataclass(frozen=True)
class Answer:
    request_line: str  # e.g. "GET /api/v2/jobs/17/", for the delivery log
    status_code: int | None
    text: str
    error: str
    duration_ms: int

    def document(self) -> dict | None:
        """The answer's JSON object, or None."""
        try:
            value = json.loads(self.text)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None


def api_root(url: str) -> str:
    base = url.rstrip("/")
    return base if base.endswith("/v2") else f"{base}/api/v2"


def _headers(integration: Integration) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
        "Authorization": f"Bearer {secrets.decrypt(integration.secret_encrypted)}",
    }


def _call(integration: Integration, method: str, path: str, body: bytes | None) -> Answer:
    url = api_root(integration.url) + path
    started = time.monotonic()
    status_code, text, error = outbound.send(
        method, url, body, _headers(integration), integration.timeout_seconds, limit=READ_LIMIT
    )
    duration = round((time.monotonic() - started) * 1000)
    return Answer(f"{method} {_path_of(url)}", status_code, text, error, duration)


def _path_of(url: str) -> str:
    after_scheme = url.split("://", 1)[-1]
    return "/" + after_scheme.split("/", 1)[1] if "/" in after_scheme else "/"


def launch(integration: Integration, job_template: int, extra_vars: dict[str, Any]) -> Answer:
    """POST /job_templates/{id}/launch/: AWX answers 201 with the new job's id."""
    body = json.dumps({"extra_vars": extra_vars}, separators=(",", ":"), sort_keys=True)
    return _call(integration, "POST", f"/job_templates/{job_template}/launch/", body.encode())


def read_job(integration: Integration, job_id: int) -> Answer:
    """GET /jobs/{id}/: the job's status, and once it is over its result."""
    return _call(integration, "GET", f"/jobs/{job_id}/", None)


def launched_job(answer: Answer) -> int | None:
    """The id of the job a launch started (AWX gives it as `job` and as `id`)."""
    document = answer.document() if answer.status_code == 201 else None
    if document is None:
        return None
    job = document.get("job", document.get("id"))
    return job if isinstance(job, int) and not isinstance(job, bool) and job > 0 else None


def outputs_of(job: dict, *, limit: int = 50) -> dict[str, str]:
    """What a successful job leaves on the subscription: its id, when it finished, and its
    artifacts (what the playbook gave `set_stats`), each as text."""
    outputs = {"awx_job_id": str(job.get("id", ""))}
    if job.get("finished"):
        outputs["awx_job_finished"] = str(job["finished"])
    artifacts = job.get("artifacts")
    if isinstance(artifacts, dict):
        for key, value in list(artifacts.items())[: limit - len(outputs)]:
            text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            outputs[str(key)[:100]] = text[:2000]
    return outputs


def failure_of(job: dict) -> str:
    """The job's own account of why it did not succeed, for the agents."""
    parts = [f"AWX job {job.get('id')} {job.get('status')}"]
    for key in ("job_explanation", "result_traceback"):
        value = job.get(key)
        if isinstance(value, str) and value.strip():
            parts.append(value.strip()[-1500:])
    return ": ".join(parts[:1]) + (": " + " | ".join(parts[1:]) if parts[1:] else ".")

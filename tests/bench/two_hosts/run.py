"""The two-host benchmark: two app hosts (gunicorn, 2 workers each) in two network namespaces,
one PostgreSQL, one Redis and one job worker, driven by locust (headless) with the mix in mix.py
against both hosts for a bounded time. It reports requests per second and p50/p95 per endpoint,
whether a catalog change made on host A is found by search on host B within one second, whether
any acknowledged order or support request was lost or stored twice, and, in a second run in which
host A is killed halfway, whether anything host A acknowledged was lost. The floor is a minimal
Flask page rendering 20 offers from the same database under the same gunicorn settings, measured
in the same run beside the portal's catalog page.

    sudo .venv/bin/python -m tests.bench.two_hosts.run [--users 16] [--seconds 60] [--out FILE]

Root is needed for the namespaces. Nothing leaves the machine: every address is on loopback or
on the two links."""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import threading
import time
from pathlib import Path

from . import checks
from .deployment import BIN, FLOOR_PORT, HOSTS, ROOT, Deployment

MIX = Path(__file__).with_name("mix.py")


def locust(settings: Path, prefix: Path, users: int, seconds: int, *classes: str, file=MIX):
    return subprocess.Popen(
        [
            str(BIN / "locust"),
            "-f",
            str(file),
            "--headless",
            "--users",
            str(users),
            "--spawn-rate",
            str(users),
            "--run-time",
            f"{seconds}s",
            "--stop-timeout",
            "15",
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "ERROR",
            *classes,
        ],  # fmt: skip
        cwd=ROOT,
        env=os.environ | {"BENCH_CONFIG": str(settings)},
        stdout=subprocess.DEVNULL,
        stderr=open(f"{prefix}.log", "w"),  # noqa: SIM115 - the child holds it
    )


def table(prefix: Path) -> list[dict]:
    with open(f"{prefix}_stats.csv") as stats:
        return [
            {
                "endpoint": row["Name"],
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "per second": round(float(row["Requests/s"]), 1),
                "p50 ms": row["50%"],
                "p95 ms": row["95%"],
            }
            for row in csv.DictReader(stats)
        ]


def markdown(rows: list[dict]) -> str:
    if not rows:
        return "(no requests)\n"
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    lines += ["| " + " | ".join(str(row[name]) for name in head) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def mixed_run(deployment, settings_file, out: Path, users: int, seconds: int, kill_a: bool):
    """One run of the mix; with kill_a, host A is killed halfway. Returns (rows, failures,
    stored, probes)."""
    name = "kill" if kill_a else "mix"
    settings = json.loads(settings_file.read_text())
    checks.live_revisions(deployment, settings)
    settings["acks_file"], settings["run"] = str(out / f"{name}-acks.json"), name
    settings_file.write_text(json.dumps(settings))
    probes: list[dict] = []
    runner = locust(
        settings_file, out / name, users, seconds, "Consumer", "System", "CatalogManager"
    )
    if kill_a:
        time.sleep(seconds / 2)
        deployment.kill_host("A")
    else:
        prober = threading.Thread(
            target=lambda: probes.extend(checks.change_found_elsewhere(settings))
        )
        time.sleep(5)
        prober.start()
        prober.join()
    runner.wait(timeout=seconds + 120)
    return (
        table(out / name),
        failures(out / name),
        checks.stored_once(deployment, Path(settings["acks_file"]), name),
        probes,
    )


def failures(prefix: Path) -> list[dict]:
    """What locust recorded as failed, by endpoint and answer (the first 120 characters)."""
    with open(f"{prefix}_failures.csv") as failed:
        return [
            {"endpoint": row["Name"] if row["Name"].startswith(row["Method"] + " ")
             else f"{row['Method']} {row['Name']}",
             "answer": row["Error"][:120], "times": int(row["Occurrences"])}
            for row in csv.DictReader(failed)
        ]  # fmt: skip


def page_against_floor(settings_file: Path, out: Path, users: int, seconds: int) -> list[dict]:
    """The portal's catalog page (a signed-in consumer, host A) and the floor page (host A), one
    after the other with the same users."""
    locust(settings_file, out / "catalog", users, seconds, "CatalogReader").wait(seconds + 60)
    locust(settings_file, out / "floor", users, seconds, "FloorReader").wait(seconds + 60)
    rows = table(out / "catalog") + table(out / "floor")
    return [row for row in rows if row["endpoint"].startswith(("portal:", "floor:"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--out", type=Path, default=None, help="also write the report here")
    args = parser.parse_args()
    with Deployment() as deployment:
        out = deployment.workdir / "results"
        out.mkdir()
        started = time.monotonic()
        deployment.network()
        deployment.postgres()
        deployment.redis()
        deployment.prepare()
        deployment.start_hosts()
        settings = checks.traffic_settings(deployment, out / "acks.json")
        settings["floor"] = f"http://{HOSTS[0].inside}:{FLOOR_PORT}"
        settings_file = out / "settings.json"
        settings_file.write_text(json.dumps(settings))
        print(f"deployment up in {time.monotonic() - started:.0f} s", flush=True)
        compared = page_against_floor(settings_file, out, args.users, 20)
        mixed = mixed_run(deployment, settings_file, out, args.users, args.seconds, kill_a=False)
        killed = mixed_run(deployment, settings_file, out, args.users, args.seconds, kill_a=True)
    report = render(args, compared, mixed, killed)
    print(report)
    if args.out:
        args.out.write_text(report)


def render(args, compared, mixed, killed) -> str:
    rows, failed, stored, probes = mixed
    kill_rows, kill_failed, kill_stored, _ = killed
    seen = [probe["seconds"] for probe in probes]
    within = bool(seen) and all(second is not None and second <= 1 for second in seen)
    first = sum(probe["searches"] == 1 and probe["seconds"] is not None for probe in probes)
    return "\n".join(
        [
            f"Two hosts x 2 gunicorn workers, {args.users} locust users, {args.seconds} s per run.",
            "",
            "Catalog page against the floor (host A alone, 20 s each):",
            "",
            markdown(compared),
            "The mix against both hosts:",
            "",
            markdown(rows),
            "Failed requests:",
            "",
            markdown(failed),
            f"A change published on A found by search on B: {seen} s "
            f"({'all within 1 s' if within else 'NOT all within 1 s'}); found by the first "
            f"search on B after A's answer: {first} of {len(probes)}.",
            "",
            f"Orders and support requests: {json.dumps(stored)}",
            "",
            "Second run, host A killed halfway:",
            "",
            markdown(kill_rows),
            "Failed requests:",
            "",
            markdown(kill_failed),
            f"Orders and support requests: {json.dumps(kill_stored)}",
            "",
        ]
    )


if __name__ == "__main__":
    main()

"""The all-products dashboard page's CPU time per fetch: this process's (the app: SQLite's work
included) and, on PostgreSQL, the server's (every backend on the database, from /proc: the
server must run on this machine), besides p50/p95 wall time. CPU time is what a loaded machine
inflates least. Read from stdin in the checkout to measure, so one copy times both:

    (cd /tmp/offerdesk-main && "$OLDPWD/.venv/bin/python" - URL 10 < "$OLDPWD/tests/bench/dashboard_page_cpu.py")
"""

import os
import sys
import time

import sqlalchemy as sa

from app import create_app
from app.extensions import db
from tests.bench import bench_pages
from tests.bench.common import percentile

url, repeat = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 10
app = create_app(
    {
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "bench",
        "WTF_CSRF_ENABLED": False,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
)
with app.app_context():
    emails = bench_pages._prepare_users()
    database, dialect = db.engine.url.database, db.engine.dialect.name
client = bench_pages._login(app, emails["product_manager"])
probe = sa.create_engine(url, poolclass=sa.pool.NullPool) if dialect == "postgresql" else None


def server_cpu() -> float:
    if probe is None:
        return 0.0
    with probe.connect() as connection:
        pids = connection.scalars(
            sa.text(
                "SELECT pid FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": database},
        ).all()
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


assert client.get("/status/dashboard").status_code == 200  # warm-up
walls = []
app_cpu, server = time.process_time(), server_cpu()
for _ in range(repeat):
    started = time.perf_counter()
    assert client.get("/status/dashboard").status_code == 200
    walls.append((time.perf_counter() - started) * 1000)
app_cpu = (time.process_time() - app_cpu) * 1000 / repeat
server = (server_cpu() - server) * 1000 / repeat
with open("/proc/loadavg") as loadavg:
    load = loadavg.read().split()[0]
print(
    f"page p50 {percentile(walls, 0.5):.0f} ms, p95 {percentile(walls, 0.95):.0f} ms; CPU per "
    f"fetch: app {app_cpu:.0f} ms, server {server:.0f} ms; load {load}"
)

#!/usr/bin/env bash
# The all-products dashboard before (a checkout of main) and after (this checkout), turn about
# on one generated database: the page (bench_pages), dashboard() and the offer table's page
# alone, the page's CPU time (app and, on PostgreSQL, server: dashboard_page_cpu.py), then each
# figure alone (bench_dashboard_parts).
#   git worktree add --detach /tmp/offerdesk-main main && ln -s "$PWD/.venv" /tmp/offerdesk-main/.venv
#   bash tests/bench/dashboard_before_after.sh sqlite:////tmp/dash.db /tmp/offerdesk-main [offers subs usage]
#   bash tests/with_postgres.sh bash -c 'bash tests/bench/dashboard_before_after.sh "$TEST_DATABASE_URL" /tmp/offerdesk-main'
# Sizes default to a tenth of the issue's (1,000 / 10,000 / 100,000). GENERATE=0 uses the
# database as it is (already generated, upgraded and with its rollups rebuilt, e.g. a copy of
# one at the issue's full size); INDEX=/path keeps bench_pages' search index between runs.
set -euo pipefail
url=$1 base=$2 offers=${3:-1000} subs=${4:-10000} usage=${5:-100000}
here=$PWD
export PYTHONDONTWRITEBYTECODE=1
index=${INDEX:-$(mktemp -d /tmp/offerdesk-dash-index.XXXXXX)}
uptime
if [ "${GENERATE:-1}" = 1 ]; then
  .venv/bin/python -m tests.bench.generate --database-url "$url" --offers "$offers" --subscriptions "$subs" --usage "$usage"
  time DATABASE_URL="$url" FLASK_APP=wsgi .venv/bin/flask status rebuild-rollups
fi
for round in 1 2; do
  for side in before after; do
    dir=$([ $side = before ] && echo "$base" || echo "$here")
    echo "== round $round, $side ($dir), $(uptime)"
    (cd "$dir" && "$here/.venv/bin/python" -m tests.bench.bench_pages --database-url "$url" \
        --index-dir "$index" --repeat 10 | grep -E "^(page|dashboard)")
  done
done
# dashboard() and one page of the offer table alone, from the rollups, in each checkout (the
# same calls exist in both, so this runs from stdin in the checkout's own directory)
whole='
import sys, time
import sqlalchemy as sa
from app import create_app
from app.accounts.models import User, UserRole
from app.extensions import db
from app.status.services import dashboards
from app.status.services.periods import parse_period
from tests.bench.common import percentile
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "SECRET_KEY": "bench"})
with app.app_context():
    viewer = db.session.scalar(
        sa.select(User).join(UserRole).where(UserRole.role == "product_manager").limit(1)
    )
    period = parse_period(None, None)
    for name, call in (
        ("dashboard()", lambda: dashboards.dashboard(viewer, period)),
        ("offer_table_page()", lambda: dashboards.offer_table_page(viewer, period)),
    ):
        call()
        walls, cpu = [], time.process_time()
        for _ in range(10):
            started = time.perf_counter()
            call()
            walls.append((time.perf_counter() - started) * 1000)
        cpu = (time.process_time() - cpu) * 100
        print(f"{name:<20} p50 {percentile(walls, 0.5):.0f} ms, p95 {percentile(walls, 0.95):.0f} ms, cpu {cpu:.0f} ms")
'
for round in 1 2; do
  for side in before after; do
    dir=$([ $side = before ] && echo "$base" || echo "$here")
    echo "== functions, round $round, $side, $(uptime)"
    (cd "$dir" && "$here/.venv/bin/python" - "$url" <<<"$whole")
  done
done
for round in 1 2; do
  for side in before after; do
    dir=$([ $side = before ] && echo "$base" || echo "$here")
    echo -n "== CPU, round $round, $side: "
    (cd "$dir" && "$here/.venv/bin/python" - "$url" 10 < "$here/tests/bench/dashboard_page_cpu.py")
  done
done
[ "${PARTS:-1}" = 1 ] && .venv/bin/python -m tests.bench.bench_dashboard_parts --database-url "$url" --repeat 5
[ -n "${INDEX:-}" ] || rm -rf "$index"
uptime

#!/usr/bin/env bash
# The all-products dashboard before (a checkout of main) and after (this checkout), turn about
# on one generated database, then each figure alone (bench_dashboard_parts).
#   git worktree add --detach /tmp/offerdesk-main main && ln -s "$PWD/.venv" /tmp/offerdesk-main/.venv
#   bash tests/bench/dashboard_before_after.sh sqlite:////tmp/dash.db /tmp/offerdesk-main [offers subs usage]
#   bash tests/with_postgres.sh bash -c 'bash tests/bench/dashboard_before_after.sh "$TEST_DATABASE_URL" /tmp/offerdesk-main'
# Sizes default to a tenth of the (1,000 / 10,000 / 100,000).
set -euo pipefail
url=$1 base=$2 offers=${3:-1000} subs=${4:-10000} usage=${5:-100000}
here=$PWD
export PYTHONDONTWRITEBYTECODE=1
index=$(mktemp -d /tmp/offerdesk-dash-index.XXXXXX)
uptime
.venv/bin/python -m tests.bench.generate --database-url "$url" --offers "$offers" --subscriptions "$subs" --usage "$usage"
time DATABASE_URL="$url" FLASK_APP=wsgi .venv/bin/flask status rebuild-rollups
for round in 1 2; do
  for side in before after; do
    dir=$([ $side = before ] && echo "$base" || echo "$here")
    echo "== round $round, $side ($dir), $(uptime)"
    (cd "$dir" && "$here/.venv/bin/python" -m tests.bench.bench_pages --database-url "$url" \
        --index-dir "$index" --repeat 10 | grep -E "^(page|dashboard)")
  done
done
.venv/bin/python -m tests.bench.bench_dashboard_parts --database-url "$url" --repeat 5
rm -rf "$index"
uptime

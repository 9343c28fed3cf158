#!/usr/bin/env bash
# CPU and wall time per request of the four consumer pages and the floor, in one process each
# (tests.bench.profile_request), before (a checkout of another commit) and after (this
# checkout), turn about, at one size (demo, or a number of offers: tests.bench.generate).
#   git worktree add --detach /tmp/offerdesk-main main && ln -s "$PWD/.venv" /tmp/offerdesk-main/.venv
#   (cd /tmp/offerdesk-main && make compile-translations)
#   bash tests/bench/request_cost_before_after.sh /tmp/offerdesk-main [demo|10000] [requests] [rounds]
set -euo pipefail
base=$1 size=${2:-demo} requests=${3:-100} rounds=${4:-1}
here=$PWD
export PYTHONDONTWRITEBYTECODE=1
for round in $(seq "$rounds"); do
  for side in before after; do
    dir=$([ "$side" = before ] && echo "$base" || echo "$here")
    echo "== round $round, $side ($(git -C "$dir" log --oneline -1 | cut -c1-60)), $(uptime)"
    (cd "$dir" && PYTHONPATH="$dir" "$here/.venv/bin/python" -m tests.bench.profile_request \
        --top 0 --size "$size" --requests "$requests" --path /catalog/ \
        --path '/catalog/offers/<first-offer>' --path '/search?q=kubernetes' \
        --path /subscriptions 2>&1 | grep -E "ms a request")
  done
done
uptime

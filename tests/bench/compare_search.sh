#!/usr/bin/env bash
# Search latency before and after, back to back on the same data: tests/bench/bench_search.py
# run in a checkout of BASE_REF (default main; the benchmark script itself is copied in, so
# both runs print the same figures), then in this checkout, with one database and one index
# folder. Arguments go to bench_search; --generate N applies to the first run only.
#
#   bash tests/bench/compare_search.sh --database-url sqlite:////tmp/bench.db --generate 10000
#   bash tests/with_postgres.sh sh -c 'bash tests/bench/compare_search.sh \
#       --database-url "$TEST_DATABASE_URL" --generate 10000 --backend whoosh --backend postgres'
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
ref=${BASE_REF:-main}
python=${PYTHON:-$here/.venv/bin/python}
base=$(mktemp -d /tmp/offerdesk-bench-base.XXXXXX)
index=$(mktemp -d /tmp/offerdesk-bench-index.XXXXXX)
cleanup() {
  git -C "$here" worktree remove --force "$base" >/dev/null 2>&1 || rm -rf "$base"
  rm -rf "$index"
}
trap cleanup EXIT
git -C "$here" worktree add --detach "$base" "$ref" >/dev/null 2>&1
cp "$here/tests/bench/bench_search.py" "$here/tests/bench/common.py" "$base/tests/bench/"

first=() second=()
while [ $# -gt 0 ]; do
  case "$1" in
    --generate) first+=("$1" "$2"); shift 2 ;;
    --generate=*) first+=("$1"); shift ;;
    *) first+=("$1"); second+=("$1"); shift ;;
  esac
done
uptime
echo "== before: $ref ($(git -C "$base" rev-parse --short HEAD))"
(cd "$base" && PYTHONPATH=$base "$python" -m tests.bench.bench_search --index-dir "$index" "${first[@]}")
uptime
echo "== after: $(git -C "$here" rev-parse --short HEAD)$(git -C "$here" diff --quiet || echo ' + uncommitted changes')"
(cd "$here" && PYTHONPATH=$here "$python" -m tests.bench.bench_search --index-dir "$index" "${second[@]}")
uptime

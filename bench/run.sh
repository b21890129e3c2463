#!/usr/bin/env bash
# Reproduces the results-service figures in docs/benchmarks.md.
#
#   bench/run.sh sqlite   [MAX_RUNS]   # embedded SQLite file under $BENCH_DIR (default /tmp/zebench-bench)
#   bench/run.sh postgres [MAX_RUNS]   # a fresh database zebench_bench on $PG_ADMIN_URL
#
# Steps: start `zebench serve` (release build) on 127.0.0.1:8788; fill the database to 10k,
# 100k and MAX_RUNS (default 1,000,000) runs through the store's bulk path, measuring read
# latency at each size; then measure ingest over HTTP (single runs, then bulk); finally report
# the server's peak resident memory. Everything runs on loopback and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."

backend="${1:-sqlite}"
max="${2:-1000000}"
dir="${BENCH_DIR:-/tmp/zebench-bench}"
pg_admin="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test}"
port=8788
url="http://127.0.0.1:$port"
key=bench-key

cargo build --release -q -p zebench -p zebench-bench
bin=target/release
mkdir -p "$dir"

case "$backend" in
  sqlite)
    rm -f "$dir"/bench.sqlite*
    db="sqlite://$dir/bench.sqlite" ;;
  postgres)
    psql "$pg_admin" -qc "DROP DATABASE IF EXISTS zebench_bench" -c "CREATE DATABASE zebench_bench"
    db="${pg_admin%/*}/zebench_bench" ;;
  *) echo "usage: $0 sqlite|postgres [MAX_RUNS]" >&2; exit 2 ;;
esac

ZE_BENCHMARKS_API_KEY=$key "$bin/zebench" serve --database-url "$db" --bind "127.0.0.1:$port" \
  >"$dir/server-$backend.log" 2>&1 &
server=$!
trap 'kill -INT $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "$url/health" >/dev/null && break; sleep 0.2; done

echo "## $backend ($(nproc) cores, $(date -u +%Y-%m-%d))"
for n in 10000 100000 "$max"; do
  [ "$n" -gt "$max" ] && continue
  "$bin/zebench-bench" seed --database-url "$db" --runs "$n"
  echo "### reads with $n runs stored"
  "$bin/zebench-bench" read --url "$url" --requests 2000 --concurrency 1
done

echo "### ingest over HTTP"
"$bin/zebench-bench" ingest --url "$url" --key $key --seconds 10 --concurrency 32 --prefix "single-$$"
grep -E 'VmHWM|VmRSS' "/proc/$server/status" | sed 's/^/server after single-run ingest: /'
"$bin/zebench-bench" ingest --url "$url" --key $key --seconds 10 --concurrency 2 --bulk 1000 --prefix "bulk-$$"
grep -E 'VmHWM|VmRSS' "/proc/$server/status" | sed 's/^/server after bulk ingest: /'

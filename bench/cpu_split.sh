#!/usr/bin/env bash
# User and system CPU per request of gunicorn's workers for one path, under wrk (16 connections,
# 8 s after a 3 s warm-up), against an already seeded database (e.g. bench/profile_requests.py's):
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/novacart_profile \
#       GUNICORN_THREADS=8 bash bench/cpu_split.sh /api/products/19/
#
# Catalog cache off, DEBUG off, bench settings (with /api/bench/bare/ and /api/bench/ping/).
# Used to compare GUNICORN_THREADS=8 with =1 on database-bound requests (docs/bench.md, fifth pass);
# alternate the runs: one window says little on a noisy machine.
set -euo pipefail
cd "$(dirname "$0")/.."
path=${1:?usage: bench/cpu_split.sh /api/path/}
port=${PORT:-18123}
export DJANGO_SETTINGS_MODULE=bench.settings_bench DEBUG=false ALLOWED_HOSTS=127.0.0.1 \
  SECURE_SSL_REDIRECT=false THROTTLE_DISABLED=true LOG_LEVEL=WARNING CATALOG_CACHE_SECONDS=0 \
  SECRET_KEY=bench-only-secret-key-not-used-anywhere-else-0123456789
.venv/bin/gunicorn bench.wsgi -c gunicorn.conf.py --bind "127.0.0.1:$port" --workers 2 \
  --max-requests 0 >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/api/bench/ping/" && break; sleep 0.2; done
url="http://127.0.0.1:$port$path"
wrk -t2 -c16 -d3s "$url" >/dev/null
workers=$(pgrep -P "$server")
ticks() { for pid in $workers; do awk '{print $14, $15}' "/proc/$pid/stat"; done | awk '{u += $1; s += $2} END {print u, s}'; }
read -r user0 sys0 < <(ticks)
requests=$(wrk -t2 -c16 -d8s "$url" | awk '/requests in/ {print $1}')
read -r user1 sys1 < <(ticks)
hz=$(getconf CLK_TCK)
awk -v p="$path" -v t="${GUNICORN_THREADS:-8}" -v n="$requests" -v u=$((user1 - user0)) -v s=$((sys1 - sys0)) -v hz="$hz" \
  'BEGIN {printf "%s threads=%s requests=%d user_ms/req=%.3f sys_ms/req=%.3f\n", p, t, n, u*1000/hz/n, s*1000/hz/n}'

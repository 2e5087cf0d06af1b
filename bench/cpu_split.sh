#!/usr/bin/env bash
# The web server workers' CPU per request (user + system, from /proc) for one or more paths under wrk,
# in interleaved rounds, against an already seeded database (e.g. bench/profile_requests.py's):
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/novacart_profile \
#       bash bench/cpu_split.sh [--rounds 8] [--seconds 3] [--compare "WEB_THREADS=1"] \
#       /api/bench/ping/ /api/bench/select1/ /api/bench/detail-query/1/ /api/products/1/
#
# Each round runs wrk (16 connections, or WRK_CONNECTIONS) on every path in turn and prints each
# one's CPU ms per request (user + system) and requests/s; the last lines give the medians, with
# the system part.
# With --compare, a second server (`python -m backend.serve`) started with those extra environment
# variables (e.g. WEB_THREADS=1) serves the same paths right after the first one, in the same rounds, so the
# two configurations share the machine's slow and fast phases. With --compare-cmd, the second
# server is whatever that shell command starts on port $PORT (exec'd, so its children are the
# workers), e.g. an older checkout's gunicorn (docs/bench.md, tenth look):
#   --compare-cmd 'cd /tmp/old && exec env PYTHONPATH=/tmp/gunicorn-pkg /work/main/.venv/bin/python \
#       -m gunicorn bench.wsgi -c gunicorn.conf.py --bind 127.0.0.1:$PORT --workers 2 --max-requests 0'
# The caller's WEB_THREADS (or a checkout's own variables) reach both servers. DEBUG off, bench settings
# (bench/urls.py: /api/bench/bare/, ping, select1 and detail-query), the catalog cache off unless
# CATALOG_CACHE_SECONDS is set (with REDIS_URL for a shared cache, e.g. redis://127.0.0.1:6379/12),
# the throttles off unless THROTTLE_DISABLED=false (then WRK_SCRIPT=bench/lua/random_client.lua and
# NUM_PROXIES=1 spread the requests over many client addresses, each under its rate).
# Used in docs/bench.md (the threads, where a detail's CPU goes, one cache round trip per hit).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=8 seconds=3 compare="" compare_cmd=""
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --compare) compare=$2; shift 2 ;;
    --compare-cmd) compare_cmd=$2; shift 2 ;;
    --*) echo "unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: bench/cpu_split.sh [--rounds N] [--seconds S] [--compare 'VAR=value ...' | --compare-cmd 'command'] /api/path/ ..." >&2; exit 2; }
export DJANGO_SETTINGS_MODULE=bench.settings_bench DEBUG=false ALLOWED_HOSTS=127.0.0.1 \
  SECURE_SSL_REDIRECT=false THROTTLE_DISABLED=${THROTTLE_DISABLED:-true} LOG_LEVEL=WARNING CATALOG_CACHE_SECONDS=${CATALOG_CACHE_SECONDS:-0} \
  SECRET_KEY=bench-only-secret-key-not-used-anywhere-else-0123456789

free_port() { .venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
servers=() ports=() labels=()
trap 'kill "${servers[@]}" 2>/dev/null; wait "${servers[@]}" 2>/dev/null || true' EXIT
start() {  # start <label> [VAR=value ...]; with COMMAND set, runs that instead of the launcher
  local label=$1 port
  shift
  port=$(free_port)
  if [ -n "${COMMAND:-}" ]; then
    PORT="$port" bash -c "$COMMAND" >/dev/null 2>&1 &
  else
    env PORT="$port" WEB_BIND_ADDRESS=127.0.0.1 WEB_CONCURRENCY=2 "$@" \
      .venv/bin/python -m backend.serve bench.wsgi:application >/dev/null 2>&1 &
  fi
  servers+=("$!") ports+=("$port") labels+=("$label")
  for _ in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/api/bench/ping/" && return; sleep 0.2; done
  echo "the server ($label) did not start" >&2
  exit 1
}
start "threads=${WEB_THREADS:-8}"
[ -z "$compare" ] || start "$compare" $compare
[ -z "$compare_cmd" ] || COMMAND=$compare_cmd start "compare-cmd"

hz=$(getconf CLK_TCK)
ticks() { for pid in $(pgrep -P "$1"); do awk '{print $14, $15}' "/proc/$pid/stat"; done | awk '{u += $1; s += $2} END {print u, s}'; }
for path in "$@"; do for port in "${ports[@]}"; do wrk -t1 -c"${WRK_CONNECTIONS:-16}" -d1s ${WRK_SCRIPT:+-s "$WRK_SCRIPT"} "http://127.0.0.1:$port$path" >/dev/null; done; done
out=$(mktemp)
for round in $(seq 1 "$rounds"); do
  line="round $round:"
  for path in "$@"; do
    for i in "${!ports[@]}"; do
      read -r user0 sys0 < <(ticks "${servers[$i]}")
      n=$(wrk -t1 -c"${WRK_CONNECTIONS:-16}" -d"${seconds}s" ${WRK_SCRIPT:+-s "$WRK_SCRIPT"} "http://127.0.0.1:${ports[$i]}$path" | awk '/requests in/ {print $1}')
      read -r user1 sys1 < <(ticks "${servers[$i]}")
      read -r ms sys_ms rps < <(awk -v u=$((user1 - user0)) -v s=$((sys1 - sys0)) -v n="$n" -v hz="$hz" \
        -v d="$seconds" 'BEGIN {printf "%.3f %.3f %.0f\n", (u + s) * 1000 / hz / n, s * 1000 / hz / n, n / d}')
      echo "$path|${labels[$i]}|$ms|$sys_ms|$rps" >>"$out"
      line="$line  $path [${labels[$i]}] $ms ($rps/s)"
    done
  done
  echo "$line"
done
echo "medians over $rounds rounds: server CPU ms/request (user + system), of it system, requests/s"
sort -t'|' -k1,2 -s "$out" | awk -F'|' '
  function median(a, n) { asort(a); return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  function flush() { if (n) printf "  %-32s %-24s %.3f  %.3f  %6.0f\n", k1, k2, median(v, n), median(y, n), median(r, n) }
  { if ($1 != k1 || $2 != k2) { flush(); k1 = $1; k2 = $2; n = 0; delete v; delete y; delete r } v[++n] = $3; y[n] = $4; r[n] = $5 }
  END { flush() }'
rm -f "$out"

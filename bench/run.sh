#!/usr/bin/env bash
# NovaCart benchmark: `bash bench/run.sh [options]` (`make bench`). See docs/bench.md.
# Installs wrk (Debian package) and bench/.venv (bench/requirements.txt) when missing, then
# runs bench/runner.py, which creates fresh PostgreSQL databases, starts localstripe and the web server
# on loopback, drives load at 127.0.0.1 only, stops everything it started and renders
# BENCHMARKS.md. Pass --help for the options; with no options it performs the full recorded run.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  echo "bench: the project virtualenv .venv is missing; run 'make .venv/.installed' first" >&2
  exit 1
fi

if ! command -v wrk >/dev/null 2>&1; then
  echo "bench: installing wrk (Debian package)"
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  fi
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "bench: PostgreSQL is not answering on 127.0.0.1:5432" >&2
  exit 1
fi

VENV=bench/.venv
STAMP="$VENV/.installed"
if [ ! -f "$STAMP" ] || [ bench/requirements.txt -nt "$STAMP" ]; then
  echo "bench: preparing $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" install --quiet -r bench/requirements.txt
  touch "$STAMP"
fi

# No arguments: the full recorded run, written to BENCHMARKS.md.
if [ "$#" -eq 0 ]; then
  set -- --write-report
fi
exec "$VENV/bin/python" bench/runner.py "$@"

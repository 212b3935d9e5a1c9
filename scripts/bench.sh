#!/usr/bin/env bash
# Run the benchmarks in bench/ (each prints JSON and writes bench/results/<name>.json).
# Arguments go to every script run; OKNO_BENCH picks scripts by name (a glob), e.g.
#   make bench                                   every bench/*.py
#   OKNO_BENCH=intake make bench ARGS="--scenarios sqlite --count 1000"
# The scaled scenarios need PostgreSQL and Redis on 127.0.0.1 (scripts/services.sh).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/services.sh

status=0
for script in bench/${OKNO_BENCH:-*}.py; do
    printf '\n===== %s =====\n' "${script}" >&2
    # -P: the script's folder is not put first on sys.path, so no bench script can shadow
    # a package of the same name (the repository root is on the path through the venv)
    .venv/bin/python -P "${script}" "$@" || status=$?
done
exit "${status}"

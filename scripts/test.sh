#!/usr/bin/env bash
# The whole test suite, twice: on the embedded backend (SQLite, in-process queues), then on
# PostgreSQL + Redis. Arguments go to pytest (`scripts/test.sh -k intake -x`).
# Exits non-zero if either run fails, including when pytest collects no test (exit code 5).
#
# What the tests receive:
#   sqlite run:    OKNO_TEST_BACKEND=sqlite   (OKNO_TEST_DATABASE_URL / _REDIS_URL unset)
#   postgres run:  OKNO_TEST_BACKEND=postgres
#                  OKNO_TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test
#                  OKNO_TEST_REDIS_URL=redis://127.0.0.1:6379/15
# The two URLs can be overridden from the environment.
#
# Environment:
#   OKNO_TEST_BACKENDS        which runs, in order (default "sqlite postgres")
#   OKNO_TEST_SUMMARY_FILE    also append the summary lines to this file (used by .ci/run)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PG_URL="${OKNO_TEST_DATABASE_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/test}"
REDIS_URL="${OKNO_TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"
BACKENDS="${OKNO_TEST_BACKENDS:-sqlite postgres}"

bash scripts/bootstrap.sh
if [[ " ${BACKENDS} " == *" postgres "* ]]; then
    bash scripts/services.sh
fi

REPORTS=$(mktemp -d)
trap 'rm -rf "${REPORTS}"' EXIT

# Prints "N passed, N failed, N skipped" from a JUnit XML report (failed counts errors too).
counts() {
    .venv/bin/python - "$1" <<'PY' 2>/dev/null || printf 'no counts (no report written)\n'
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
total = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
failed = total["failures"] + total["errors"]
passed = total["tests"] - failed - total["skipped"]
print(f"{passed} passed, {failed} failed, {total['skipped']} skipped")
PY
}

run_backend() {
    local backend=$1
    shift
    local -a env_vars=(OKNO_TEST_BACKEND="${backend}")
    case ${backend} in
        sqlite) ;;
        postgres) env_vars+=(OKNO_TEST_DATABASE_URL="${PG_URL}" OKNO_TEST_REDIS_URL="${REDIS_URL}") ;;
        *)
            printf 'test.sh: unknown backend %q (sqlite or postgres)\n' "${backend}" >&2
            return 2
            ;;
    esac
    printf '\n===== tests on %s: %s =====\n' "${backend}" "${env_vars[*]}"
    local rc=0
    env -u OKNO_TEST_DATABASE_URL -u OKNO_TEST_REDIS_URL "${env_vars[@]}" \
        .venv/bin/pytest --junitxml="${REPORTS}/${backend}.xml" "$@" || rc=$?
    return "${rc}"
}

join_by() {
    local sep=$1 out=${2:-}
    shift 2 || return 0
    for item in "$@"; do
        out+="${sep}${item}"
    done
    printf '%s' "${out}"
}

declare -a summary=() failed_runs=() timings=()
for backend in ${BACKENDS}; do
    start=${SECONDS}
    rc=0
    run_backend "${backend}" "$@" || rc=$?
    timings+=("${backend} $((SECONDS - start))s")
    summary+=("${backend}: $(counts "${REPORTS}/${backend}.xml")")
    case ${rc} in
        0) ;;
        5) failed_runs+=("${backend} (pytest collected no tests, exit 5)") ;;
        *) failed_runs+=("${backend} (pytest exit ${rc})") ;;
    esac
done

if ((${#failed_runs[@]})); then
    verdict="test.sh: FAILED on $(join_by ', ' "${failed_runs[@]}")"
else
    verdict="test.sh: all runs passed"
fi
summary+=("${verdict}; took $(join_by ', ' "${timings[@]}")")

printf '\n===== test summary =====\n'
printf '%s\n' "${summary[@]}"
if [[ -n ${OKNO_TEST_SUMMARY_FILE:-} ]]; then
    printf '%s\n' "${summary[@]}" >>"${OKNO_TEST_SUMMARY_FILE}"
fi
if ((${#failed_runs[@]})); then
    exit 1
fi

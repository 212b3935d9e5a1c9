#!/usr/bin/env bash
# Make sure the services the test suite talks to answer on this machine:
#   PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth, database "test")
#   Redis      on 127.0.0.1:6379
# Whatever already answers is left alone (fast path, no root needed). Otherwise, as root:
# installs the missing Debian packages (apt-get), allows trust auth from loopback, creates the
# "test" database and starts the servers, then waits until they answer.
#
# Environment:
#   OKNO_SERVICES_TIMEOUT   seconds to wait for each service to answer (default 60)
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432
PG_USER=postgres
PG_TEST_DB="test"
REDIS_HOST=127.0.0.1
REDIS_PORT=6379
TIMEOUT="${OKNO_SERVICES_TIMEOUT:-60}"

export PGCONNECT_TIMEOUT=5
export DEBIAN_FRONTEND=noninteractive

log() { printf 'services: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# Run a command as root: directly, or through password-less sudo; else explain what is needed.
as_root() {
    if [[ ${EUID} -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo -n "$@"
    else
        die "root is needed to run '$*'. Run 'sudo bash scripts/services.sh' once, or start" \
            "PostgreSQL (${PG_HOST}:${PG_PORT}, trust auth, database ${PG_TEST_DB}) and Redis" \
            "(${REDIS_HOST}:${REDIS_PORT}) yourself."
    fi
}

APT_UPDATED=0
apt_install() {
    if ((!APT_UPDATED)); then
        log "apt-get update"
        as_root apt-get update -qq
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Poll "$@" until it succeeds or TIMEOUT seconds pass.
wait_for() {
    local what=$1
    shift
    local deadline=$((SECONDS + TIMEOUT))
    until "$@"; do
        if ((SECONDS >= deadline)); then
            return 1
        fi
        sleep 0.5
    done
    log "${what} answers"
}

# --- PostgreSQL ----------------------------------------------------------------------------
pg_ready() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "${PG_HOST}" -p "${PG_PORT}" -t 2
    else
        timeout 2 bash -c "exec 3<>/dev/tcp/${PG_HOST}/${PG_PORT}" 2>/dev/null
    fi
}

pg_psql() {
    psql -X -w -q -h "${PG_HOST}" -p "${PG_PORT}" -U "${PG_USER}" -v ON_ERROR_STOP=1 "$@"
}

pg_can_login() {
    pg_psql -d postgres -tAc 'select 1' >/dev/null 2>&1
}

pg_server_installed() {
    compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null &&
        command -v pg_ctlcluster >/dev/null 2>&1
}

# Prints "VERSION NAME" of the Debian cluster on PG_PORT, creating one when there is none.
pg_cluster() {
    local cluster
    cluster=$(pg_lsclusters --no-header 2>/dev/null | awk -v port="${PG_PORT}" \
        '$3 == port { print $1, $2; exit }')
    if [[ -z ${cluster} ]]; then
        if pg_ready; then
            die "a server answers on ${PG_HOST}:${PG_PORT} but is no local Debian cluster," \
                "and user ${PG_USER} cannot log in to it without a password"
        fi
        if [[ -n $(pg_lsclusters --no-header 2>/dev/null) ]]; then
            die "PostgreSQL clusters exist, but none on port ${PG_PORT}: $(pg_lsclusters)"
        fi
        local version
        version=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' |
            sort -n | tail -n 1)
        log "creating PostgreSQL cluster ${version}/main on port ${PG_PORT}"
        as_root pg_createcluster "${version}" main --port "${PG_PORT}" >/dev/null
        cluster="${version} main"
    fi
    printf '%s\n' "${cluster}"
}

# Put trust rules for loopback TCP first in pg_hba.conf (the first matching rule wins).
pg_allow_trust() {
    local hba="/etc/postgresql/$1/$2/pg_hba.conf"
    local marker='# okno scripts/services.sh: trust from loopback for tests'
    [[ -f ${hba} ]] || die "cannot log in as ${PG_USER} and ${hba} does not exist"
    if grep -qF "${marker}" "${hba}"; then
        return 0
    fi
    log "allowing trust auth from 127.0.0.1 and ::1 in ${hba}"
    local patched
    patched=$(mktemp)
    {
        printf '%s\n' "${marker}"
        printf 'host all all 127.0.0.1/32 trust\n'
        printf 'host all all ::1/128 trust\n'
        cat "${hba}"
    } >"${patched}"
    as_root cp "${patched}" "${hba}"
    rm -f "${patched}"
}

pg_log_tail() {
    local logs
    logs=$(compgen -G '/var/log/postgresql/postgresql-*.log' || true)
    if [[ -n ${logs} ]]; then
        # shellcheck disable=SC2086  # several log files, one per cluster
        tail -n 20 ${logs} >&2 || true
    fi
}

ensure_postgres() {
    if ! command -v psql >/dev/null 2>&1 && pg_ready; then
        apt_install postgresql-client # a server answers; only the client is missing
    fi
    if ! pg_ready || ! pg_can_login; then
        if ! pg_server_installed; then
            apt_install postgresql
        fi
        local cluster version name
        cluster=$(pg_cluster)
        read -r version name <<<"${cluster}"
        if ! pg_ready; then
            log "starting PostgreSQL ${version}/${name}"
            # "already running" and the like exit non-zero too: readiness decides.
            as_root pg_ctlcluster --skip-systemctl-redirect "${version}" "${name}" start ||
                true
            if ! wait_for "PostgreSQL ${PG_HOST}:${PG_PORT}" pg_ready; then
                pg_log_tail
                die "PostgreSQL did not answer on ${PG_HOST}:${PG_PORT} within ${TIMEOUT}s"
            fi
        fi
        if ! pg_can_login; then
            pg_allow_trust "${version}" "${name}"
            as_root pg_ctlcluster --skip-systemctl-redirect "${version}" "${name}" reload
            if ! wait_for "PostgreSQL login as ${PG_USER}" pg_can_login; then
                pg_psql -d postgres -c 'select 1' || true
                die "cannot log in to PostgreSQL as ${PG_USER} without a password"
            fi
        fi
    fi
    if [[ -z $(pg_psql -d postgres -tAc \
        "select 1 from pg_database where datname = '${PG_TEST_DB}'") ]]; then
        log "creating database ${PG_TEST_DB}"
        pg_psql -d postgres -c "create database \"${PG_TEST_DB}\""
    fi
    log "PostgreSQL ok: postgresql://${PG_USER}@${PG_HOST}:${PG_PORT}/${PG_TEST_DB}"
}

# --- Redis ---------------------------------------------------------------------------------
redis_ready() {
    # Plain RESP over bash's /dev/tcp: works without redis-cli.
    # shellcheck disable=SC2016  # expanded by the inner bash
    timeout 3 bash -c '
        exec 3<>"/dev/tcp/$0/$1" || exit 1
        printf "PING\r\n" >&3
        IFS= read -r reply <&3
        [[ ${reply} == "+PONG"* ]]' "${REDIS_HOST}" "${REDIS_PORT}" 2>/dev/null
}

ensure_redis() {
    if ! redis_ready; then
        if ! command -v redis-server >/dev/null 2>&1; then
            apt_install redis-server
        fi
        # The Debian package may have started its own server meanwhile.
        if ! redis_ready; then
            log "starting Redis on ${REDIS_HOST}:${REDIS_PORT}"
            as_root mkdir -p /var/lib/redis /var/log/redis
            # Keeps nothing on disk: test data only.
            as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "${REDIS_PORT}" \
                --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
            if ! wait_for "Redis ${REDIS_HOST}:${REDIS_PORT}" redis_ready; then
                tail -n 20 /var/log/redis/ci.log >&2 || true
                die "Redis did not answer on ${REDIS_HOST}:${REDIS_PORT} within ${TIMEOUT}s"
            fi
        fi
    fi
    log "Redis ok: redis://${REDIS_HOST}:${REDIS_PORT}"
}

# --- HOOK(dovecot): IMAP test server ---------------------------------------------------------
# The e-mail tests start a PRIVATE Dovecot (own config, free loopback port, temp directories;
# tests/fakes/dovecot.py), so only the program is needed here: Debian's dovecot-imapd. Its
# package also creates the unprivileged users (dovecot, dovenull) the private instance runs as.
ensure_dovecot() {
    if [[ -x /usr/sbin/dovecot ]] || command -v dovecot >/dev/null 2>&1; then
        log "Dovecot ok: $(dovecot --version 2>/dev/null || echo installed)"
        return 0
    fi
    apt_install dovecot-imapd
    # The package starts a system-wide instance on 143/993; the tests do not use it.
    as_root systemctl disable --now dovecot >/dev/null 2>&1 || true
    log "Dovecot ok: installed $(dovecot --version 2>/dev/null || true)"
}

main() {
    ensure_postgres
    ensure_redis
    ensure_dovecot
}

main "$@"

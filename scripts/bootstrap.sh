#!/usr/bin/env bash
# Make the project runnable: uv, the locked virtualenv (.venv, every dependency group) and the
# compiled gettext catalogs. Idempotent; a second run takes well under two seconds.
#
# Needs Python 3.11 (Debian 12's python3). Installs uv with pip when it is missing; as root it
# also installs python3 / python3-pip with apt-get when even those are missing.
#
# Environment:
#   OKNO_UV_VERSION   uv version pip installs when uv is missing (default: the one CI uses)
#   UV_PYTHON         interpreter request passed to uv (default: 3.11)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

UV_VERSION="${OKNO_UV_VERSION:-0.13.9}"
# The project targets 3.11; never let uv try to download an interpreter (no internet here).
export UV_PYTHON="${UV_PYTHON:-3.11}"
export UV_PYTHON_DOWNLOADS="${UV_PYTHON_DOWNLOADS:-never}"
export UV_NO_PROGRESS="${UV_NO_PROGRESS:-1}"

log() { printf 'bootstrap: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

apt_install() {
    if [[ ${EUID} -ne 0 ]]; then
        die "need root to install $* with apt-get (or install them yourself)"
    fi
    log "installing $* with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- uv ------------------------------------------------------------------------------------
UV=()
find_uv() {
    # `uv --version`, not `command -v uv`: a pyenv shim exists even where the active Python
    # has no uv, and then fails when run.
    if uv --version >/dev/null 2>&1; then
        UV=(uv)
    elif [[ -x "${HOME:-/root}/.local/bin/uv" ]]; then
        UV=("${HOME:-/root}/.local/bin/uv")
    elif python3 -m uv --version >/dev/null 2>&1; then
        UV=(python3 -m uv)
    else
        return 1
    fi
}

if ! find_uv; then
    command -v python3 >/dev/null 2>&1 || apt_install python3 python3-pip
    python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
    log "uv not found: pip install uv==${UV_VERSION}"
    # Debian's own python3 is "externally managed" (PEP 668); uv is a self-contained binary,
    # so installing it next to the system packages is harmless.
    PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet \
        --disable-pip-version-check \
        "uv==${UV_VERSION}"
    # pip may put the script outside PATH (or behind a stale pyenv shim): use the module.
    find_uv || UV=(python3 -m uv)
    "${UV[@]}" --version >/dev/null || die "uv was installed but does not run"
fi

# --- virtualenv ----------------------------------------------------------------------------
# --compile-bytecode: machines (this one included) often set PYTHONDONTWRITEBYTECODE, and then
# every process compiled the dependencies' sources anew at import, ~4 s of CPU per `okno` start.
"${UV[@]}" sync --frozen --all-groups --quiet --compile-bytecode ||
    die "uv sync failed (is Python 3.11 installed? is uv.lock in step with pyproject.toml?)"
.venv/bin/python -m compileall -q -j 0 okno bot channels router ticketing sla notify >/dev/null ||
    die "compiling okno's own modules failed"

# --- gettext catalogs (the .mo files are not committed) -------------------------------------
shopt -s nullglob
stale=0
for po in locales/*/LC_MESSAGES/messages.po; do
    mo="${po%.po}.mo"
    if [[ ! -f "${mo}" || "${po}" -nt "${mo}" ]]; then
        stale=1
    fi
done
if ((stale)); then
    .venv/bin/pybabel compile -d locales -D messages --statistics 2>&1 | sed 's/^/bootstrap: /' >&2
fi

# syntax=docker/dockerfile:1
# okno: one image for every role (`okno serve`, `okno worker <kind>`, `okno migrate`, ...).
#
#   docker build -t okno .
#   docker run -p 8080:8080 -v okno-data:/var/lib/okno okno          # SQLite, in-process queues
#   docker compose up                                                # PostgreSQL + Redis layout
#
# Both stages must use the same Python image: the virtualenv built in the first is copied into
# the second and points at its interpreter (/usr/local/bin/python3.11).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ARG UV_VERSION=0.13.9
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_PROGRESS=1 \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv

RUN pip install "uv==${UV_VERSION}"

WORKDIR /app

# Dependencies first, in their own layer: it is rebuilt only when the lock changes.
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project

# Then the project itself. The .mo catalogs are not committed: compile them from the .po files
# (babel came with the dependencies above). The project is installed editable: the venv points
# at /app, which the runtime stage copies to the same path.
COPY . .
RUN if ls locales/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
        .venv/bin/pybabel compile -d locales -D messages; \
    fi
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

RUN groupadd --gid 10001 okno \
    && useradd --uid 10001 --gid okno --home-dir /var/lib/okno --no-create-home \
        --shell /usr/sbin/nologin okno \
    && install -d -o okno -g okno -m 0750 /var/lib/okno

# Code and venv stay owned by root: the service user can read them, not change them.
COPY --from=builder /app /app

# Everything okno writes goes under /var/lib/okno (SQLite database, attachments, the generated
# secret key). With PostgreSQL, set OKNO_DATABASE_URL=postgresql+asyncpg://...
ENV PATH=/app/.venv/bin:${PATH} \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OKNO_DATA_DIR=/var/lib/okno \
    OKNO_DATABASE_URL=sqlite+aiosqlite:////var/lib/okno/okno.db \
    OKNO_STORAGE__ATTACHMENTS_DIR=/var/lib/okno/attachments \
    OKNO_HTTP__HOST=0.0.0.0 \
    OKNO_HTTP__PORT=8080

WORKDIR /app
# Numeric, so that runtimes enforcing "run as non-root" can check it (10001 = okno).
USER 10001:10001
VOLUME ["/var/lib/okno"]
EXPOSE 8080

# No curl in slim images: python's urllib. urlopen raises on a refused connection, a timeout
# and any 4xx/5xx answer, which makes the check fail.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('OKNO_HTTP__PORT', '8080') + '/healthz', timeout=4)"]

ENTRYPOINT ["okno"]
CMD ["serve"]

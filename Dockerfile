# syntax=docker/dockerfile:1.7
# Build: install the locked dependencies into /app/.venv with uv; run: slim, non-root.
FROM python:3.11-slim AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY app ./app
COPY migrations ./migrations
COPY alembic.ini ./
RUN uv sync --frozen --no-dev

FROM python:3.11-slim AS runtime
RUN useradd --create-home --uid 10001 minishop
WORKDIR /app
COPY --from=build --chown=minishop:minishop /app /app
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MINISHOP_ENV=production \
    MINISHOP_VAR_DIR=/app/var \
    PORT=8000
RUN mkdir -p /app/var && chown minishop:minishop /app/var
USER minishop
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import os,urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\",\"8000\")}/healthz', timeout=2)" || exit 1
# Migrations first, then the server. Keys, the database and MINISHOP_PUBLIC_BASE_URL (the
# OAuth issuer) come from MINISHOP_* variables; start-up refuses to run without them.
CMD ["sh", "-c", "minishop migrate && exec minishop serve --host 0.0.0.0 --port ${PORT} --workers ${WEB_CONCURRENCY:-2}"]

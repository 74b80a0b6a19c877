# MiniShop Open Platform. Quick start: `make run`, then `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.9
PORT   ?= 8000
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))

.PHONY: install run serve worker migrate seed test test-pg browser label-tools lint format openapi openapi-check client-check lock clean bench fuzz fuzz-ci

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Byte-compiled at install: a process then starts in half the time, which the suite's server
# and worker processes feel most (PYTHONDONTWRITEBYTECODE would otherwise have every start
# compile the libraries again).
$(VENV)/.installed: pyproject.toml uv.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv sync --frozen --inexact --quiet --compile-bytecode
	@touch $@

install: $(VENV)/.installed ## Create .venv and install from the lock file

migrate: install ## Apply migrations (SQLite under var/ unless MINISHOP_DATABASE_URL is set)
	$(BIN)/minishop migrate

seed: migrate
	$(BIN)/minishop seed-demo --host 127.0.0.1 --port $(PORT)

# The demo approves submitted reviews at once (set MINISHOP_AUTO_APPROVE_REVIEWS=false to
# try the operator's review queue instead); the setting is off by default everywhere else.
run: export MINISHOP_AUTO_APPROVE_REVIEWS ?= true
# ... and sends webhooks to receivers on this machine (loopback), which production refuses.
run: export MINISHOP_WEBHOOK_ALLOW_PRIVATE ?= true
run: seed ## Migrate, load demo data and serve API + docs on 127.0.0.1:$(PORT)
	@$(BIN)/python -m app.banner --port $(PORT)
	$(BIN)/minishop serve --host 127.0.0.1 --port $(PORT) --with-worker

worker: install
	$(BIN)/minishop worker

browser: ## Chromium for the browser test (installed with apt-get when root)
	@scripts/ensure-chromium.sh

label-tools: ## CJK font, pdftoppm and zbarimg for shipping labels (installed with apt-get when root)
	@scripts/ensure-label-tools.sh

# The suite starts many processes of this repository's code: let them cache its bytecode
# (in the git-ignored __pycache__ folders) even where the shell says not to.
test test-pg fuzz fuzz-ci: export PYTHONDONTWRITEBYTECODE =

test: install browser label-tools ## The whole suite (SQLite; set MINISHOP_TEST_DATABASE_URL for PostgreSQL)
	$(BIN)/pytest -n 2 --dist loadfile -q

test-pg: install browser label-tools ## The whole suite on the local PostgreSQL
	MINISHOP_TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/postgres $(BIN)/pytest -n 2 --dist loadfile -q

# Schemathesis over every operation of openapi/openapi.json against a real seeded server
# (tests/test_fuzz.py). FUZZ_ARGS adds `st run` options, e.g. FUZZ_ARGS="--seed 1".
fuzz: install ## Long API fuzzing run (many examples per operation, stateful phase)
	MINISHOP_FUZZ=long MINISHOP_FUZZ_ARGS="$(FUZZ_ARGS)" $(BIN)/pytest tests/test_fuzz.py -p no:xdist -q -s

fuzz-ci: install ## The bounded fuzzing run of .ci/run (about 5 minutes)
	MINISHOP_FUZZ=ci MINISHOP_FUZZ_ARGS="$(FUZZ_ARGS)" $(BIN)/pytest tests/test_fuzz.py -p no:xdist -q

lint: install ## ruff, ruff format --check, mypy strict, import-linter
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

openapi: install ## Write openapi/openapi.json
	$(BIN)/minishop export-openapi

openapi-check: install ## Fail when openapi/openapi.json is out of date
	$(BIN)/minishop export-openapi --check

client-check: install ## Generate a client from openapi/openapi.json (openapi-python-client); fail on any warning
	$(BIN)/python scripts/client_check.py

bench: install label-tools ## Catalog, webhook, order and label benchmarks on the local PostgreSQL (writes bench/results/latest.json)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.webhooks
	$(BIN)/python -m bench.orders
	$(BIN)/python -m bench.labels
	$(BIN)/python -m bench.label_job

lock: ## Re-resolve uv.lock after changing pyproject.toml
	$(BIN)/uv lock

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

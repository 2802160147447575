# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed

# The suite starts the CLI and the server as subprocesses: let them reuse compiled bytecode.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install run test lint typecheck imports pytest browser bench lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

LOCKS := requirements/runtime.lock requirements/dev.lock

$(STAMP): $(BIN)/python $(LOCKS) pyproject.toml
	$(BIN)/uv pip sync --quiet --require-hashes --python $(BIN)/python $(LOCKS)
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/evbilling demo

lint: $(STAMP)
	$(BIN)/ruff check evbilling tests bench
	$(BIN)/ruff format --check evbilling tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

# Test processes (pytest-xdist): each has its own SQLite copies and PostgreSQL database.
PYTEST_WORKERS ?= 2

pytest: $(STAMP) browser
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --durations=15

# The browser tests (tests/browser/) drive Debian's chromium through Playwright: installed
# here when it is missing (non-interactive; needs root or sudo).
CHROMIUM := /usr/bin/chromium
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
		SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; \
	fi

test: lint typecheck imports browser pytest

# Runtime pins (what the wheel needs) and dev tools on top of them, both with hashes.
lock: $(BIN)/python
	$(BIN)/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 -o requirements/runtime.lock
	$(BIN)/uv pip compile requirements/dev.in --generate-hashes --python-version 3.11 -o requirements/dev.lock

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache

# tailwatch — the two commands of the README are `make demo` and `make test`.
# Each installs what it needs into .venv by itself.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP_FLAGS ?= --disable-pip-version-check -q

PEERS := $(VENV)/.peers

.PHONY: demo test lint typecheck bench clean venv peers web screenshots

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_FLAGS) --upgrade pip
	$(BIN)/python -m pip install $(PIP_FLAGS) -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Real programs the tests run against (dump1090-mutability, chromium); see the script.
$(PEERS): scripts/install-test-peers.sh | $(STAMP)
	bash scripts/install-test-peers.sh
	touch $(PEERS)

peers: $(PEERS)

demo: $(STAMP)
	$(BIN)/tailwatch demo $(DEMO_ARGS)

test: $(STAMP) $(PEERS)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP) $(PEERS)
	$(BIN)/python bench/decode.py
	$(BIN)/python bench/track.py

# Rebuild the web map's vendored assets from web/package-lock.json (needs Node.js and npm;
# the built assets are committed, so a fresh clone does not need this).
web: $(STAMP)
	$(BIN)/python -m tailwatch.serve.build_web

# Refresh the web map's pictures in docs/screenshots/ (the browser tests, told where to write;
# a plain `make test` writes its screenshots to a temporary folder and changes no tracked file).
screenshots: $(STAMP) $(PEERS)
	TAILWATCH_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q -m peer tests/browser

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

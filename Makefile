# Two commands do everything on a fresh Debian machine with Python 3.11, pip, npm and apt:
#   make run    create .venv, install systables, build the web shell, start the server
#   make test   create .venv, install test dependencies (and Chromium, etcd), run every test

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
WEB    := drivers/webshell
DATA   ?= systables_data
ARGS   ?=

.PHONY: run test test-fast lint-imports bench venv test-deps webshell driver-compat chromium etcd clean

$(VENV)/.base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.test: $(VENV)/.base
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

$(VENV)/.bench: $(VENV)/.base
	$(PY) -m pip install --quiet -e '.[bench]'
	touch $@

venv: $(VENV)/.base
test-deps: $(VENV)/.test

# The web shell's bundle (systables/web/shell/, not committed), built from the
# committed lockfile unless it was built from exactly the current sources
# (the same step the package build runs: buildsupport/webshell_build.py).
webshell:
	$(PYTHON) buildsupport/webshell_build.py

# The official JavaScript driver, for the compatibility tests.
driver-compat:
	cd drivers/compat && npm ci --no-audit --no-fund --loglevel=error

# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

# Debian's etcd for the cluster tests (a cluster of several servers coordinates through it).
etcd:
	@if ! command -v etcd >/dev/null 2>&1; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq etcd-server >/dev/null; \
	fi

run: venv webshell
	$(VENV)/bin/systables serve -d $(DATA) $(ARGS)

# The layering of systables/ (pyproject.toml, [tool.importlinter]).
lint-imports: test-deps
	$(VENV)/bin/lint-imports

test: test-deps webshell driver-compat chromium etcd lint-imports
	$(PY) -m pytest -q $(ARGS)

# Unit and protocol tests only, no server processes (under a minute).
test-fast: test-deps lint-imports
	$(PY) -m pytest -q -m "not slow" tests/protocol tests/storage tests/test_jsonparse.py tests/test_pipeline.py $(ARGS)

# Benchmarks (see README, Performance): make bench ARGS="--scale 10 --compare HOST:PORT"
bench: $(VENV)/.bench
	$(PY) -m bench $(ARGS)

clean:
	rm -rf $(VENV) $(WEB)/node_modules systables/web/shell dist drivers/compat/node_modules

# The two commands a new user needs: `make run` and `make test`.
# Set-up is idempotent: the venv is rebuilt only when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PLATE  ?=

.PHONY: run test bench bench-peers lint package package-test wheel-test clean setup

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "openhcs-gui: installing Python packages into $(VENV) (first time takes a few minutes)"
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)
	@bash scripts/system_deps.sh

run: setup
	@$(PY) -m openhcs_gui gui --demo-if-missing $(PLATE)

test: $(STAMP)
	@bash scripts/system_deps.sh --test
	@$(PY) -m pytest

bench: $(STAMP)
	@$(PY) -m benchmarks $(BENCH_ARGS)

# PolyStore 0.6.3 (the storage layer OpenHCS uses) in its own venv, measured beside ours.
PEERS := .venv-peers
$(PEERS)/.installed:
	@test -x $(PEERS)/bin/python || $(PYTHON) -m venv $(PEERS)
	@$(PEERS)/bin/python -m pip install -q --upgrade pip
	@$(PEERS)/bin/python -m pip install -q 'polystore==0.6.3' tifffile
	@touch $@

bench-peers: $(STAMP) $(PEERS)/.installed
	@$(PY) -m benchmarks --peers $(PEERS)/bin/python $(BENCH_ARGS)

# ruff, then the layer contracts of pyproject.toml [tool.importlinter] (also run by make test).
lint: $(STAMP)
	@$(VENV)/bin/ruff check openhcs_gui tests benchmarks
	@$(VENV)/bin/lint-imports --no-cache

# Installers for bench scientists (packaging/README.md). `package` always rebuilds;
# `package-test` rebuilds only when the sources changed since the last build, then
# runs the tar.gz and the .deb under Xvfb in a clean environment (packaging/test_bundle.sh)
# and the wheel in a fresh venv inside napari (packaging/test_wheel.sh = `make wheel-test`).
PKG_STAMP := dist/.package-built
PKG_SRC    = $(shell find openhcs_gui packaging -type f -not -path '*/__pycache__/*' -not -path 'packaging/ci/*' \
               -not -name '*.md' -not -name 'test_*.sh' -not -name 'check_*.py' -not -name lowest_constraints.py) \
               pyproject.toml

package: $(STAMP)
	@bash packaging/build.sh

$(PKG_STAMP): $(STAMP) $(PKG_SRC)
	@bash packaging/build.sh

package-test: $(PKG_STAMP)
	@bash scripts/system_deps.sh --test
	@bash packaging/test_bundle.sh
	@bash packaging/test_wheel.sh

wheel-test: $(STAMP)
	@bash scripts/system_deps.sh --test
	@bash packaging/test_wheel.sh

clean:
	rm -rf $(VENV) build dist *.egg-info

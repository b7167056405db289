# Two entry points for a fresh machine with Python 3.11: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --quiet --disable-pip-version-check
# Pulumi skips a `pulumi-*` package only when it finds <site-packages>/pulumi_foas_refjobs/
# pulumi-plugin.json ({"resource": false}); an editable install has no such directory, so link it.
MARK_NOT_A_PLUGIN = ln -sfn "$(CURDIR)/provider/pulumi_foas_refjobs" \
	"$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/pulumi_foas_refjobs"

.PHONY: demo test lint typecheck unit bench bench-hostile pythons soak dist-check clean engine engine-if-available bench-pulumi \
	sdk-matrix

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(MARK_NOT_A_PLUGIN)

$(VENV)/.demo-installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) -e '.[test]'
	touch $@

$(VENV)/.bench-installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) -e '.[bench]'
	touch $@

demo: $(VENV)/.demo-installed
	bash examples/demo.sh

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check provider tests examples benchmarks tools

typecheck: $(VENV)/.test-installed
	$(VENV)/bin/mypy

unit: $(VENV)/.test-installed engine-if-available
	$(VENV)/bin/pytest

test: lint typecheck unit

bench: $(VENV)/.bench-installed
	$(PY) benchmarks/bench_listing.py

# Release artifacts as CI checks them: build + twine check, sdist contents and its own tests,
# the wheel alone in a fresh virtualenv (see tools/check_release.py).
dist-check: $(VENV)/.test-installed
	$(PYTHON) tools/check_release.py --test-python $(PY)

bench-hostile: $(VENV)/.test-installed
	$(PY) benchmarks/bench_hostile.py

# The suite on every Python that requires-python admits (pyenv's builds), one venv each.
PYTHON_VERSIONS ?= 3.10.13 3.12.1 3.13.0
PYENV_ROOT ?= $(HOME)/.pyenv
pythons:
	@failed=""; for v in $(PYTHON_VERSIONS); do \
	  py="$(PYENV_ROOT)/versions/$$v/bin/python3"; \
	  test -x "$$py" || { echo "no Python $$v at $$py (pyenv install $$v)"; failed="$$failed $$v"; continue; }; \
	  venv=".venv-$$v"; \
	  test -x "$$venv/bin/python" || "$$py" -m venv "$$venv"; \
	  "$$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[test]' \
	    || { failed="$$failed $$v"; continue; }; \
	  ln -sfn "$(CURDIR)/provider/pulumi_foas_refjobs" \
	    "$$("$$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/pulumi_foas_refjobs"; \
	  echo "== Python $$v"; "$$venv/bin/python" -m pytest -q -p no:cacheprovider || failed="$$failed $$v"; \
	done; \
	test -z "$$failed" || { echo "failed on:$$failed"; exit 1; }

soak: $(VENV)/.test-installed
	FOAS_SOAK=large $(VENV)/bin/pytest tests -k soak

# The pulumi CLI from its Go modules into .tools/bin (nothing to do when current, or when a
# `pulumi` is on PATH), plus the dynamic-provider plugin script. See docs/pulumi.md.
engine:
	@bash tools/build-engine.sh

# For `make test`: the real-engine suite (tests/engine) runs whenever Go or a pulumi binary exists.
engine-if-available:
	@if command -v pulumi >/dev/null 2>&1 || command -v go >/dev/null 2>&1 || [ -x .tools/bin/pulumi ]; then \
		bash tools/build-engine.sh; \
	else \
		echo "real-engine suite skipped: neither Go nor a pulumi binary is available (make engine needs Go)"; \
	fi

# The Pulumi path under the real engine: wall times, listings per operation, Diff, state size.
bench-pulumi: $(VENV)/.test-installed engine
	$(PY) benchmarks/bench_pulumi.py

# The core of the real-engine suite with the oldest and the newest pulumi Python SDK.
sdk-matrix: engine
	@bash tools/sdk-matrix.sh

clean:
	rm -rf $(VENV) .venv-3.* .pytest_cache .mypy_cache .ruff_cache .hypothesis

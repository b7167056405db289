# Two entry points for a fresh machine with Python 3.11: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --quiet --disable-pip-version-check
# Pulumi skips a `pulumi-*` package only when it finds <site-packages>/pulumi_foas_refjobs/
# pulumi-plugin.json ({"resource": false}); an editable install has no such directory, so link it.
MARK_NOT_A_PLUGIN = ln -sfn "$(CURDIR)/provider/pulumi_foas_refjobs" \
	"$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/pulumi_foas_refjobs"

.PHONY: demo test lint typecheck unit bench soak dist-check clean

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
	$(VENV)/bin/ruff check provider tests examples benchmarks

typecheck: $(VENV)/.test-installed
	$(VENV)/bin/mypy

unit: $(VENV)/.test-installed
	$(VENV)/bin/pytest

test: lint typecheck unit

bench: $(VENV)/.bench-installed
	$(PY) benchmarks/bench_listing.py

# Release artifacts as CI checks them: build + twine check, sdist contents and its own tests,
# the wheel alone in a fresh virtualenv (see tools/check_release.py).
dist-check: $(VENV)/.test-installed
	$(PYTHON) tools/check_release.py --test-python $(PY)

soak: $(VENV)/.test-installed
	FOAS_SOAK=large $(VENV)/bin/pytest tests -k soak

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

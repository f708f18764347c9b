# Two commands do all the set-up: `make test` and `make demo`.
# Each creates .venv with the Python it finds, installs what it needs and runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: test lint checkmigrations format clean bench

test: lint checkmigrations
	$(BIN)/pytest $(PYTEST_ARGS)

checkmigrations: $(INSTALLED)
	PYTHONPATH=. $(BIN)/python -m django makemigrations --check --dry-run --settings=tests.settings

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The example project: Redis, a worker, beat (redbeat_run) and the admin; Ctrl-C stops them all.
.PHONY: demo
demo: $(INSTALLED)
	$(BIN)/python example_project/demo.py

$(INSTALLED): setup.cfg pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10+ is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(INSTALLED)

# The benchmark has its own environment (the peers are never installed into .venv):
# `make bench` runs the full mode, `make bench BENCH_ARGS=--quick` the quick one.
BENCH_VENV := bench/.venv
BENCH_INSTALLED := $(BENCH_VENV)/.installed

bench: $(BENCH_INSTALLED)
	PYTHONPATH=. $(BENCH_VENV)/bin/python -m bench $(BENCH_ARGS)

$(BENCH_INSTALLED): setup.cfg pyproject.toml bench/requirements.txt
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10+ is needed"'
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e . -r bench/requirements.txt
	touch $(BENCH_INSTALLED)

# The version matrix (noxfile.py). nox runs from a small environment of its own, not from .venv:
# it is a tool that makes environments, which neither the package nor its tests import, and in
# the test extra it would be installed into every matrix session as well.
# `make matrix` runs every session and writes the table to bench/results/matrix.md;
# `make matrix-ci` the oldest and the newest corner (what .ci/run runs); NOX_ARGS is passed on.
NOX_VENV := .venv-nox
NOX_INSTALLED := $(NOX_VENV)/.installed
NOX := $(NOX_VENV)/bin/nox --no-error-on-missing-interpreters

.PHONY: matrix matrix-ci
matrix: $(NOX_INSTALLED)
	MATRIX_SUMMARY=bench/results/matrix.md $(NOX) $(NOX_ARGS)

matrix-ci: $(NOX_INSTALLED)
	$(NOX) --tags ci $(NOX_ARGS)

$(NOX_INSTALLED):
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10+ is needed"'
	test -x $(NOX_VENV)/bin/python || $(PYTHON) -m venv $(NOX_VENV)
	$(NOX_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(NOX_VENV)/bin/python -m pip install --quiet 'nox>=2025.10.14'
	touch $(NOX_INSTALLED)

clean:
	rm -rf $(VENV) $(NOX_VENV) .nox .compat build *.egg-info

# celery-redbeat 2.4.2's own unit tests against django_redbeat (tests/compat/): fetched at run
# time into .compat/, never committed; COMPATIBILITY.rst says what still fails and why.
.PHONY: compat
compat: $(INSTALLED)
	$(BIN)/python -m tests.compat.celery_redbeat_suite

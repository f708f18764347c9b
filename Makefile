# Two commands do all the set-up: `make test` and (later) `make demo`.
# Each creates .venv with the Python it finds, installs what it needs and runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: test lint checkmigrations format clean

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

$(INSTALLED): setup.cfg pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10+ is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(INSTALLED)

clean:
	rm -rf $(VENV) build *.egg-info

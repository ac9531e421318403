# Two commands for a fresh machine: `make run` starts the bot, `make test` runs every check.
# Both create .venv and install the pinned requirements when they are missing or changed.
# For developers, `make test-fast` runs the same checks without the tests marked heavy (the long
# drills): under two minutes, for the edit-test loop; `make test` stays the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast bench

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python bot.py $(ARGS)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -m "not heavy" $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks

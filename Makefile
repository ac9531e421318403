# Two commands for a fresh machine: `make run` starts the bot, `make test` runs every check.
# Both create .venv and install the pinned requirements when they are missing or changed: `make
# run` only what the bot needs (requirements.txt), `make test` the test tools too.
# For developers, `make test-fast` runs the same checks without the tests marked heavy (the long
# drills): under two minutes, for the edit-test loop; `make test` stays the whole suite.
# For a server, `make install` sets up .venv with the runtime requirements and runs nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUNTIME_STAMP := $(VENV)/.installed-runtime
# No pip cache: on a server the bot's home is often the checkout, and a cache there is hundreds
# of megabytes in the work tree; the requirements change seldom enough to download again.
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-cache-dir

.PHONY: install run test test-fast bench

$(RUNTIME_STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements.txt
	touch $(RUNTIME_STAMP)

# requirements-dev.txt includes requirements.txt: the runtime is installed with it.
$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements-dev.txt
	touch $(STAMP) $(RUNTIME_STAMP)

install: $(RUNTIME_STAMP)

run: $(RUNTIME_STAMP)
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

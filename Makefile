# Entry points for a fresh machine with Python 3.11: `make run`, `make test`, `make test-all`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test test-all lint clean

$(BIN)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

run: $(BIN)/.installed
	$(BIN)/forecast run --pdf

# Both cores, one test module per worker at a time (module fixtures are built once; the
# scheduler in tests/conftest.py starts the longest first and gives the modules that read the
# shared kz_towns run to one worker). `make test` leaves out the tests marked slow (full runs:
# end to end, MLflow tracking and server, retraining, concurrent runs, the browser check; and
# the repeats of a leak or rebuild check whose first case stays in `make test`);
# `make test-all` runs everything, and is what CI (.ci/run) calls.
PYTEST := $(BIN)/python -m pytest -q -n 2 --dist loadfile

test: $(BIN)/.installed
	$(PYTEST) -m "not slow"

test-all: $(BIN)/.installed
	$(PYTEST)

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests scripts

clean:
	rm -rf $(VENV) runs models experiments/mlflow.db experiments/mlflow.db.lock experiments/mlartifacts

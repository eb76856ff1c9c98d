# Two entry points for a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint clean

$(BIN)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

run: $(BIN)/.installed
	$(BIN)/forecast run

# both cores, one test file per worker (module fixtures are built once); everything runs,
# including the tests marked slow (`pytest -m "not slow"` leaves those out while iterating)
test: $(BIN)/.installed
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests scripts

clean:
	rm -rf $(VENV) runs models experiments/mlflow.db experiments/mlflow.db.lock experiments/mlartifacts

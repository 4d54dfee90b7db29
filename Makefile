# `make run` trains the reference experiment, `make test` runs the checks; each builds .venv first
# when it is missing or out of date.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready

.PHONY: run test bench lint format clean

$(READY): pyproject.toml constraints.txt
	@sh scripts/ensure-graphviz.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(READY)

run: $(READY)
	$(BIN)/autogradlib train

test: $(READY)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n 2

bench: $(READY)
	$(BIN)/autogradlib bench

format: $(READY)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis runs

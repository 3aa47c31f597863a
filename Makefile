# Everyday targets. `make run` and `make test` are the whole set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install system run test lint format typecheck bench clean

$(BIN)/aiops-mcp: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

install: $(BIN)/aiops-mcp

system:
	./scripts/install-system-packages

run: install system
	$(BIN)/aiops-mcp demo run

test: install system
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

typecheck: install
	$(BIN)/mypy

bench: install system
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build dist src/*.egg-info test-artifacts

# The two quick-start commands: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck unit bench fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[demo]'
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[all,dev]'
	touch $@

demo: $(VENV)/.demo-installed
	$(BIN)/secure-auth demo

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

typecheck: lint

unit: $(VENV)/.dev-installed
	$(BIN)/pytest -q

test: $(VENV)/.dev-installed
	scripts/ensure-chromium.sh
	$(MAKE) lint
	$(BIN)/pytest -q -ra

bench: $(VENV)/.dev-installed
	$(BIN)/python -m benchmarks $(ARGS)

# Longer fuzzing outside CI (needs `pip install atheris`); see fuzz/README.md.
fuzz: $(VENV)/.dev-installed
	PYTHONPATH=src $(BIN)/python fuzz/fuzz_tokens.py -max_total_time=600

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

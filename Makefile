# Two commands on a fresh machine: `make demo` and `make test`.
# Each creates .venv when missing and installs the pinned dependencies first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test bench install clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable '.[test,numba,torch,minilm,report]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/approxify demo

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks --out BENCHMARKS.md --json BENCHMARKS.json

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache

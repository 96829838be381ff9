# The first two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run chat test lint typecheck unit bench transfer model clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/helpdesk serve

chat: $(STAMP)
	$(BIN)/helpdesk chat

lint: $(STAMP)
	$(BIN)/ruff format --check bot knowledge handlers escalation storage tests benchmarks
	$(BIN)/ruff check bot knowledge handlers escalation storage tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# The suite on up to four workers, each taking whole test files (a file's tests share
# their fixtures' servers and order); `pytest` alone still runs in one process.
unit: $(STAMP)
	$(BIN)/pytest -q -n auto --maxprocesses 4 --dist loadfile

test: lint typecheck unit

# PostgreSQL joins the throughput and ticket runs when HELPDESK_BENCH_POSTGRES names a
# server URL.
bench: $(STAMP)
	$(BIN)/python -m benchmarks.retrieval
	$(BIN)/python -m benchmarks.throughput $(if $(HELPDESK_BENCH_POSTGRES),--postgres $(HELPDESK_BENCH_POSTGRES))
	$(BIN)/python -m benchmarks.tickets $(if $(HELPDESK_BENCH_POSTGRES),--postgres $(HELPDESK_BENCH_POSTGRES))
	$(BIN)/python -m benchmarks.incidents $(if $(HELPDESK_BENCH_POSTGRES),--postgres $(HELPDESK_BENCH_POSTGRES))
	$(BIN)/python -m benchmarks.risk
	$(MAKE) transfer

# The campaigns this repository holds, each measured by a model trained on the others
# (docs/engine.md, "Measuring by campaign"), and the command that retrains what ships.
CAMPAIGNS := --corpus knowledge/data/corpus
EXTRA_SETS := knowledge/data/kb.yaml knowledge/data/queries.jsonl
NANSHAN := knowledge/data/extra/nanshan-vouchers.yaml knowledge/data/extra/nanshan-vouchers.jsonl

transfer: $(STAMP)
	$(BIN)/helpdesk eval $(CAMPAIGNS) --leave-one-out --campaign $(EXTRA_SETS) --campaign $(NANSHAN)

model: $(STAMP)
	$(BIN)/helpdesk kb train $(CAMPAIGNS) --set $(EXTRA_SETS) --set $(NANSHAN)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache

# Meshlens. `make run` starts the demo, `make test` runs the suite; both install
# what is missing first (see scripts/setup.sh).

SHELL := /bin/bash
VENV := .venv

# Extra arguments, e.g. `make test PYTEST_ARGS="-k health -x"`.
PYTEST_ARGS ?=
BENCH_ARGS ?=
# Which benchmark `make bench` runs: live_scale (the live page on the whole stack) or
# graph_build (one build against Prometheus alone) or page_render (the page drawing a
# big graph) or query_plan or build_memory (what a refreshing process holds) or load (200
# viewers and 50 API requests a second on the demo) or remote_read (the query plan's big
# queries by remote read, measured).
BENCH ?= live_scale

.PHONY: help setup run test lint bench clean distclean

help:
	@echo "make setup      install what is missing (Debian packages, .venv, npm), migrate"
	@echo "make run        setup, then the demo on http://127.0.0.1:$${PORT:-8000} (Ctrl-C stops it)"
	@echo "make test       setup, then ruff and the whole pytest suite"
	@echo "make lint       ruff check"
	@echo "make bench      setup, then bench/live_scale.py (BENCH=graph_build, page_render, query_plan, replay, find_hide, build_memory, build_cpu, load or remote_read for the others)"
	@echo "make clean      remove run state, caches and test output"
	@echo "make distclean  clean, plus .venv, node_modules and the database"

setup:
	@bash scripts/setup.sh

run: setup
	@bash scripts/run.sh

# ruff runs first but does not stop pytest, so the suite's closing line is always printed.
test: setup
	@lint=0; $(VENV)/bin/ruff check . || lint=$$?; \
	rc=0; $(VENV)/bin/pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ "$$lint" -ne 0 ]; then \
		echo "make test: ruff check failed (see above)" >&2; \
		if [ "$$rc" -eq 0 ]; then rc=1; fi; \
	fi; \
	exit $$rc

lint:
	@$(VENV)/bin/ruff check .

bench: setup
	@case "$(BENCH)" in live_scale|graph_build|page_render|query_plan|replay|find_hide|build_memory|build_cpu|load|remote_read) ;; \
		*) echo "make bench: BENCH=$(BENCH): use live_scale, graph_build, page_render, query_plan, replay, find_hide, build_memory, build_cpu, load or remote_read" >&2; exit 2;; esac
	@$(VENV)/bin/python bench/$(BENCH).py $(BENCH_ARGS)

clean:
	rm -rf .run .pytest_cache .ruff_cache .staticfiles test-results bench/results
	find . \( -path ./.venv -o -path ./node_modules -o -path ./.git \) -prune \
		-o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) node_modules db.sqlite3 *.egg-info

# kctl: the entry points a developer and CI use. `make test` is what CI runs.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: help setup lint test demo bench
.NOTPARALLEL:

help:
	@echo "make demo   set up, start a cluster on SQLite and apply manifests/web.yaml"
	@echo "make test   set up, lint, run the test suite"
	@echo "make setup  install what is missing (apt, pip -e '.[test]')"
	@echo "make lint   ruff, import-linter (layering contracts), mypy"
	@echo "make bench  run the benchmarks (benchmarks/run.py), record benchmarks/RESULTS.md"

setup:
	bash scripts/setup.sh

lint:
	ruff check kctl reconciler node tests benchmarks
	lint-imports --no-cache --no-logo
	mypy kctl reconciler node

test: setup lint
	$(PYTHON) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

demo: setup
	bash scripts/demo.sh

# benchmarks/run.py runs every benchmark in its own process and rewrites
# benchmarks/RESULTS.md; BENCH_ARGS=--quick for the small variants, or name benchmarks.
bench: setup
	$(PYTHON) -m benchmarks.run $(BENCH_ARGS)

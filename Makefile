# kctl: the entry points a developer and CI use. `make test` is what CI runs.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: help setup lint test demo bench proto
.NOTPARALLEL:

help:
	@echo "make demo   set up, start a cluster on SQLite and apply manifests/web.yaml"
	@echo "make test   set up, lint, run the test suite"
	@echo "make setup  install what is missing (apt, pip -e '.[test]')"
	@echo "make lint   ruff, import-linter (layering contracts), mypy"
	@echo "make bench  run the benchmarks (benchmarks/run.py), record benchmarks/RESULTS.md"
	@echo "make proto  regenerate node/runtime/cri/api_pb2*.py from api.proto (grpcio-tools)"

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

# The CRI subset's generated modules are committed; regenerate after editing api.proto.
# Run from the checkout's root so the generated code imports `node.runtime.cri.api_pb2`.
# Generated files carry `ruff: noqa` and `fmt: off` headers: they are not ours to restyle.
CRI_PROTO := node/runtime/cri/api.proto
proto:
	$(PYTHON) -m grpc_tools.protoc -I. --python_out=. --pyi_out=. --grpc_python_out=. $(CRI_PROTO)
	@for f in $(CRI_PROTO:.proto=_pb2.py) $(CRI_PROTO:.proto=_pb2.pyi) $(CRI_PROTO:.proto=_pb2_grpc.py); do \
	  sed -i '1{/^# ruff: noqa/!s/^/# ruff: noqa\n# fmt: off\n/}' $$f; \
	done

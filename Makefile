# Infera — one entry point for humans. `make` lists the targets.
SHELL := /bin/bash
ROOT := $(CURDIR)
BIN := $(ROOT)/.infera/bin
PY := $(BIN)/python
VALIDATORS ?= 1
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install install-browser demo demo-zk test test-kernels test-slow test-all fuzz lint format proto proto-check bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-12s %s\n", $$1, $$2}'

install: ## set up everything (cached): venv, CometBFT, generated code
	@bash scripts/install.sh

install-browser: ## Debian's Chromium for the explorer's browser test (needs root; once per machine)
	@test -x /usr/bin/chromium || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver)
	@/usr/bin/chromium --version

demo: install ## run the main job end to end on a local network (VALIDATORS=4 for four)
	@$(PY) scripts/demo.py --validators $(VALIDATORS)

demo-zk: install ## a digits job finalized by a zero-knowledge proof (zk module, one local node)
	@$(PY) scripts/demo_zk.py

test: install ## the default test suite (fast; real CometBFT nodes included)
	@$(PY) -m pytest -q $(PYTEST_ARGS)

test-kernels: install ## the worker and verifier tests again under other CPU kernels than torch picks here
	@pins="ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=SSE41 MKL_ENABLE_INSTRUCTIONS=SSE4_2"; \
	grep -qw avx512f /proc/cpuinfo 2>/dev/null && \
	  pins="ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2"; \
	echo "$$pins"; \
	env $$pins $(PY) -m pytest -q tests/inference_worker $(PYTEST_ARGS)

test-slow: install ## the slow suites only (real models, long networks)
	@$(PY) -m pytest -q -m slow $(PYTEST_ARGS)

test-all: install ## every suite
	@$(PY) -m pytest -q -m "slow or not slow" $(PYTEST_ARGS)

fuzz: install ## long fuzz campaign of the ABCI entry points (FUZZ_EXAMPLES=100000 inputs each, FUZZ_TARGETS=a,b)
	@FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-100000} $(PY) -m tests.chain.fuzz.campaign

lint: install ## ruff (format check + lint) and mypy
	@$(PY) -m ruff format --check chain modules inference_worker tests bench scripts
	@$(PY) -m ruff check chain modules inference_worker tests bench scripts
	@$(PY) -m mypy chain modules inference_worker

format: install ## apply ruff formatting and safe fixes
	@$(PY) -m ruff format chain modules inference_worker tests bench scripts
	@$(PY) -m ruff check --fix chain modules inference_worker tests bench scripts

proto: install ## regenerate Python code from proto/
	@$(PY) scripts/gen_proto.py

proto-check: install ## fail when generated protobuf code is stale
	@$(PY) scripts/gen_proto.py --check

bench: install ## run the benchmarks (tables printed, JSON in bench/results/)
	@$(PY) bench/run_all.py

clean: ## remove local build outputs (the shared cache in ~/.cache/infera stays)
	rm -rf .infera .venv bench/results .pytest_cache .ruff_cache .mypy_cache

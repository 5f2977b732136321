# Two commands that set everything up on a fresh machine: `make fit` trains a config (CONFIG, the 3-digit one unless
# told: `make fit CONFIG=configs/2digit.yaml`), `make test` runs every test. Both create the virtual environment
# $(VENV) first when it is missing or older than pyproject.toml; `source .venv/bin/activate` then gives its python.
#
# torch is installed first, pinned: on the project's CPU machines the pin resolves to the local CPU wheel, and on a
# Linux machine with PyPI access it resolves to PyPI's CUDA build, so GPU users get theirs as usual. Set TORCH to
# use another build, e.g. `make fit TORCH=torch==2.9.1`.

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
ARGS ?=
CONFIG ?= configs/3digit.yaml
BIN := $(VENV)/bin

CHROMIUM := /usr/bin/chromium

.PHONY: fit test lint chromium

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

fit: $(VENV)/.installed
	$(BIN)/python -m lit_addition fit --config $(CONFIG) $(ARGS)

test: $(VENV)/.installed chromium
	$(BIN)/python -m pytest -m "slow or not slow" $(ARGS)

# The demo's browser test drives Debian's Chromium (Playwright's own browser download is not reachable here). As root
# with apt, a missing Chromium is installed; otherwise one line says how to get it, and that one test skips.
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null && \
	     DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	     DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null; then \
	    echo "installed chromium for the demo's browser test"; \
	  else \
	    echo "note: $(CHROMIUM) is missing, so the demo's browser test will skip: sudo apt-get install chromium"; \
	  fi; \
	fi

lint: $(VENV)/.installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

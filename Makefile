# Two commands on a fresh machine: `make lab` (learn) and `make test` (what CI runs).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]-*.ipynb))
JUPYTER_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)
PYTEST := $(BIN)/python -m pytest
NBVAL  := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval-sanitize.cfg --nbval-cell-timeout=300

.PHONY: lab test test-browser up down status clean refresh servers venv bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

servers:
	@bash scripts/install-servers.sh

up: venv servers
	@$(BIN)/python -m helpers.lab up

status:
	@$(BIN)/python -m helpers.lab status

# Stops only the lab's own processes, by the pids it recorded.
down:
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m helpers.lab down; else echo "no .venv: nothing to stop"; fi

# The venv's bin goes first on PATH, so `python` in a JupyterLab terminal is the lab's Python.
lab: up
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 $(JUPYTER_ROOT) notebooks/00-start-here.ipynb

# Unit tests, notebook hygiene, the browser test (tests/browser), then strict nbval over every
# notebook in order.
# pytest's exit code 5 means it collected no tests: a failure, said plainly.
test: up
	@$(PYTEST) -q helpers tests $(NOTEBOOKS) $(NBVAL); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; fi; exit $$rc

# Only the real-browser test: JupyterLab in Debian's Chromium runs notebooks 00 and 03 through its
# UI on a fresh private lab. Installs chromium if missing; if it cannot, it says
# "BROWSER TEST SKIPPED: <why>". `make test` runs it too.
test-browser: venv servers
	@$(PYTEST) -q -m browser tests/browser; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test-browser: pytest collected no tests" >&2; fi; exit $$rc

# Re-execute every notebook in order and store its outputs (then review the diff).
refresh: up
	@for nb in $(NOTEBOOKS); do echo "refresh $$nb"; \
	  $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=600 --ExecutePreprocessor.kernel_name=python3 $$nb || exit 1; done

# Notebook 08's measurements as a script (about a minute): writes .lab/bench.json (the lab folder)
# with hit_overhead_ratio, pipeline_speedup, expensive_query_speedup, the raw numbers and the machine.
bench: up
	@$(BIN)/python -m helpers.bench

clean: down
	rm -rf .lab $(VENV) *.egg-info

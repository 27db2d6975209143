# Two commands for everyone: `make lab` (students) and `make test` (everyone else).
# Both create the environment in .venv on first use, with nothing but Python 3.11 on the machine.

PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8888
# nbgrader runs `alembic` from PATH, and TensorFlow must stay quiet (nbgrader zeroes test cells
# that write to stderr): every recipe runs with the environment's bin first on PATH.
export PATH := $(abspath $(BIN)):$(PATH)
export TF_CPP_MIN_LOG_LEVEL ?= 3
export PYTHONWARNINGS ?= ignore::DeprecationWarning
# The instructors' extra (Dask) where the tooling is: not in the student bundle, which has no course_tools.
comma  := ,
EXTRAS := test$(if $(wildcard course_tools/__init__.py),$(comma)instructor)

.PHONY: lab test lint env system release site bench clean

$(BIN)/.installed: pyproject.toml $(wildcard course_utils/labextension/*.json course_utils/labextension/static/* course_utils/jupyter_config/*)
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11 ...'"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $@

env: $(BIN)/.installed

lab: env
	@echo "Starting JupyterLab on notebooks/ at http://localhost:$(PORT)/lab  (Ctrl-C stops it)"
	$(BIN)/jupyter lab --notebook-dir=notebooks --port=$(PORT) --ServerApp.port_retries=0 \
		$(if $(DISPLAY),,--no-browser) $(if $(filter 0,$(shell id -u)),--allow-root,)

# System packages the tests use: Chromium (browser tests) and bubblewrap (grading sandbox).
# As root they are installed with apt-get; otherwise each step says what to install and fails.
system: env
	$(BIN)/python -m course_tools.browser_setup
	$(BIN)/python -m course_tools.grading.sandbox_setup

lint: env
	$(BIN)/ruff check course_utils course_tools tests benchmarks
	$(BIN)/ruff format --check course_utils course_tools tests benchmarks

test: env lint system
	$(BIN)/python -m pytest -n 2 --dist loadfile

release: env
	$(BIN)/course release

# The static course site in site/ (every release notebook run once), ready to publish.
site: env
	$(BIN)/course site

bench: env
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache artifacts site

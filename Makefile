# Every target sets up what it needs: a bare clone needs only python3 (>= 3.11) and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
MINUTES ?= 10
ROUTINE ?= full
VOICE ?= piper-joe
BENCH_ARGS ?=  # e.g. --quick (5 and 20 min only), --minutes 10,20

.PHONY: install session test lint format bench clean browser bytecode

install: $(STAMP) bytecode

# pmr's own modules compiled to bytecode, as `pip install` of a wheel would: an editable install
# leaves them as source, and where PYTHONDONTWRITEBYTECODE is set (as in many containers) every
# `pmr` run compiled all of them again, 0.15 CPU s a build. Only changed files are recompiled.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q pipeline

# Re-install whenever the project's metadata changes (a stale venv is rebuilt in place).
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "pmr needs Python >= 3.11 (found $$($(PYTHON) --version))" >&2; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,dask]'
	touch $(STAMP)

session: $(STAMP) bytecode
	$(BIN)/pmr build $(ROUTINE) --minutes $(MINUTES) --voice $(VOICE)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# One worker per core; a file's tests stay on one worker (its module fixtures are built once).
test: lint browser
	$(BIN)/python -m pytest -q -n auto --dist loadfile

# Debian packages for the tests that read outputs back: headless Chromium (index page),
# zbar-tools (zbarimg decodes the share QR code) and mp3val (checks chunked MP3s). Installed
# when missing and we are root, as on CI; elsewhere those tests are skipped and say why.
browser:
	@command -v chromium >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends chromium >/dev/null; } || \
		echo "chromium could not be installed: the index page browser test will be skipped" >&2
	@command -v zbarimg >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends zbar-tools >/dev/null; } || \
		echo "zbar-tools could not be installed: the QR code tests will be skipped" >&2
	@command -v mp3val >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends mp3val >/dev/null; } || \
		echo "mp3val could not be installed: the chunked MP3 validity test will be skipped" >&2

bench: $(STAMP) bytecode
	$(BIN)/python scripts/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build dist *.egg-info
	find output -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

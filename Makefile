# Two commands work on a fresh machine: `make preview` (the main job) and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STACK  ?= local
STAMP  := $(VENV)/.installed

.PHONY: setup preview test lint bench pulumi-cli clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

preview: setup
	$(VENV)/bin/preflight preview --stack $(STACK)

test: setup
	$(PY) -m ruff check .
	$(PY) -m pytest -q

lint: setup
	$(PY) -m ruff check .

pulumi-cli: setup
	bash scripts/install-pulumi-cli.sh

clean:
	rm -rf rendered out .pytest_cache

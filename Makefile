# Two commands work on a fresh machine: `make preview` (the main job) and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STACK  ?= local
STAMP  := $(VENV)/.installed

.PHONY: setup preview test lint bench pulumi-cli clean

setup: $(STAMP)
	@# Byte-compile our own sources at install time, as pip does for site-packages: with PYTHONDONTWRITEBYTECODE
	@# set, every pack and program process would otherwise recompile ~200 modules on start (issue 17).
	@$(PY) -m compileall -q components preflight packages policy_packs/guardrails/__main__.py policy_packs/guardrails/guardrails_pack

LIBS   := packages/core packages/predict packages/supply-chain

# The first install downloads a few hundred MB (Pulumi SDKs and providers, XGBoost, SciPy): pip's own progress
# (one line per package, bars on a terminal) shows it is moving; later runs reuse .venv and are quiet.
$(STAMP): pyproject.toml $(addsuffix /pyproject.toml,$(LIBS))
	@test -x $(PY) || { echo "== creating $(VENV) and installing the project (first run: a few minutes)"; \
	  python3 -m venv $(VENV); }
	@$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --progress-bar on $(addprefix -e ,$(LIBS)) -e '.[dev,aws]'
	@# The pack names its own virtualenv (policy_packs/guardrails/venv); here it is the project's.
	@ln -sfn ../../$(VENV) policy_packs/guardrails/venv
	@touch $(STAMP)

# Exit 1 (gate blocked) is a result, not a failure of the job: the report says what to fix. Exit 2 fails.
preview: setup
	@$(VENV)/bin/preflight preview --stack $(STACK); rc=$$?; \
	  if [ $$rc -eq 1 ]; then echo "gate: BLOCK (exit 1) - report in out/preflight-$(STACK).json"; fi; \
	  [ $$rc -le 1 ]

test: setup
	$(PY) -m ruff check .
	$(PY) -m pytest -q

lint: setup
	$(PY) -m ruff check .

pulumi-cli: setup
	bash scripts/install-pulumi-cli.sh

clean:
	rm -rf rendered out .pytest_cache

# FusionHub: `make run` starts the whole site, `make test` runs every test.
# Both set up what they need first (virtual environment, Python and npm packages).

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
STAMP_NPM := node_modules/.installed
# Security lint: a finding of medium severity or higher fails (pyproject.toml's [tool.bandit]).
BANDIT := $(VENV)/bin/bandit -c pyproject.toml -r agencies dissemination sharing eoc liaison fusionhub scripts -ll -q

.PHONY: run test lint format bench clean venv packages

venv: $(PY)

$(PY):
	@echo "==> venv: creating $(VENV) with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	@$(PIP) install --quiet --upgrade pip

$(STAMP_RUN): requirements.txt | $(PY)
	@echo "==> packages: installing Python packages (requirements.txt)"
	@$(PIP) install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(STAMP_DEV): requirements.txt requirements-dev.txt | $(PY)
	@echo "==> packages: installing Python test packages (requirements-dev.txt)"
	@$(PIP) install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP_RUN) $@

$(STAMP_NPM): package.json package-lock.json
	@echo "==> packages: installing front-end packages (npm ci)"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

packages: $(STAMP_RUN) $(STAMP_NPM)

run: $(STAMP_RUN) $(STAMP_NPM)
	@$(PY) scripts/run.py

test: $(STAMP_DEV) $(STAMP_NPM)
	@scripts/ensure-chromium.sh
	@echo "==> lint: ruff check, ruff format --check, bandit"
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(BANDIT)
	@echo "==> migrations: makemigrations --check"
	@DEBUG=true $(PY) manage.py makemigrations --check --dry-run
	@echo "==> tests: pytest"
	@$(VENV)/bin/pytest --create-db $(PYTEST_ARGS)

# The bench: its own database and Redis database (BENCH_DATABASE_URL, BENCH_REDIS_URL); seeds the
# region once (a few minutes), then runs every scenario (BENCH_ARGS="--only feed search" for some).
bench: $(STAMP_DEV) $(STAMP_NPM)
	@scripts/bench/ensure-wrk.sh
	@$(PY) -m scripts.bench $(BENCH_ARGS)

lint: $(STAMP_DEV)
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(BANDIT)

format: $(STAMP_DEV)
	@$(VENV)/bin/ruff check --fix .
	@$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) node_modules staticfiles test-output

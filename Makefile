# The two commands a new user needs: `make demo` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed-$(shell cat requirements.txt | cksum | cut -d' ' -f1)

.PHONY: demo test lint install clean-demo

install: $(INSTALLED)

$(INSTALLED): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

# Runs the site on embedded defaults: SQLite and Celery's filesystem broker under var/.
# DEBUG=1 lets the demo generate its own secret key (kept in var/secret_key).
demo: $(INSTALLED)
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py build_demo_corpus --if-absent
	DEBUG=1 $(PY) manage.py ensure_demo_campaign
	DEBUG=1 $(PY) manage.py create_demo_accounts
	DEBUG=1 $(PY) -m emolab.demo_runner

test: $(INSTALLED)
	$(PY) -m pytest

# Lint and format (ruff, configured in pyproject.toml) and the import graph's cycles; CI runs it first.
lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) scripts/import_cycles.py

clean-demo:
	rm -rf var/

# Qinglian: the two front-door commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
QL := $(VENV)/bin/qinglian
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
CATALOGS := $(patsubst %.po,%.mo,$(wildcard web/translations/*/LC_MESSAGES/messages.po))
CHROMIUM := /usr/bin/chromium
SLAPD := /usr/sbin/slapd
# LibreOffice headless turns official documents (公文) into PDF; Noto CJK stands in for 仿宋/小标宋.
SOFFICE := /usr/bin/soffice
# LibreOffice's UNO binding for Debian's Python: the resident office (engine/documents/office.py).
UNO := /usr/lib/python3/dist-packages/uno.py
# pg_dump/pg_restore for `qinglian backup` on PostgreSQL (Debian's client matches server 15)
PG_CLIENT := /usr/bin/pg_dump
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test bench install clean translations serve-prod loadtest

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Front-end packages (bpmn-js) come from npm at set-up and are served from node_modules; the
# modeler's tools (bpmnlint with our rules, bpmn-js-differ) are bundled for the browser with esbuild.
MODELER_TOOLS := web/static/build/modeler-tools.js

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(MODELER_TOOLS): web/assets/modeler-tools.js $(NODE_STAMP)
	node_modules/.bin/esbuild $< --bundle --minify --format=iife --target=es2019 --log-level=warning --outfile=$@

# Message catalogs (English; Chinese is the source language) compiled for Flask-Babel.
web/translations/%/LC_MESSAGES/messages.mo: web/translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(VENV)/bin/pybabel compile --use-fuzzy -i $< -o $@ >/dev/null

# Browser tests drive Debian's Chromium through Playwright.
$(CHROMIUM):
	$(SUDO) apt-get -o DPkg::Lock::Timeout=600 update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium fonts-noto-cjk >/dev/null

# LDAP sign-in tests start a real OpenLDAP server in a temporary folder.
$(SLAPD):
	$(SUDO) apt-get -o DPkg::Lock::Timeout=600 update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get -o DPkg::Lock::Timeout=600 install -y -qq slapd ldap-utils >/dev/null
$(SOFFICE):
	$(SUDO) apt-get -o DPkg::Lock::Timeout=600 update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends libreoffice-writer-nogui fonts-noto-cjk >/dev/null
$(UNO): $(SOFFICE)
	$(SUDO) apt-get -o DPkg::Lock::Timeout=600 update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends python3-uno >/dev/null

install: $(STAMP) $(NODE_STAMP) $(MODELER_TOOLS) $(CATALOGS)

translations: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _ -k gettext -k lazy_gettext -o web/translations/messages.pot --no-location --omit-header . >/dev/null
	$(VENV)/bin/pybabel update -i web/translations/messages.pot -d web/translations -l en --no-fuzzy-matching

run: install $(SOFFICE) $(UNO)
	$(QL) init-db --demo
	@echo ""
	@echo "  Qinglian is starting: open http://127.0.0.1:5000 and sign in with a demo login above"
	@echo "  (password qinglian2026), e.g. neike_head to fill in 内科's monthly report,"
	@echo "  jijian to review it, admin for 组织与人员. The REST API is at /api/v1 (openapi.json)."
	@echo ""
	$(QL) serve --host 127.0.0.1 --port 5000

# Compiled modules are kept (in the venv, outside the sources) even where the environment says not
# to write them: the test run starts dozens of Python processes (schedulers, CLI, gunicorn) that
# would otherwise compile the engine again each time.
test: install $(CHROMIUM) $(SLAPD) $(PG_CLIENT) $(SOFFICE) $(UNO)
	PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(CURDIR)/$(VENV)/pycache $(PY) -m pytest -n auto

bench: install $(SOFFICE) $(UNO)
	$(PY) -m bench --output bench/results/latest.json

# Production serving: gunicorn (QINGLIAN_WORKERS workers) and a scheduler process; see docs/operations.md.
serve-prod: install
	$(QL) init-db
	$(QL) serve --prod --host $${QINGLIAN_HOST:-127.0.0.1} --port $${QINGLIAN_PORT:-8000}

$(PG_CLIENT):
	$(SUDO) apt-get -o DPkg::Lock::Timeout=600 update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get -o DPkg::Lock::Timeout=600 install -y -qq postgresql-client >/dev/null

# The multi-node load and fault test (a few minutes; not part of `make test`): a fresh PostgreSQL
# database (QINGLIAN_LOAD_PG_URL, default qinglian_load), 2 app nodes, 2 schedulers, kill -9 and restart.
# Figures go to bench/results/loadtest.json.
loadtest: install $(PG_CLIENT)
	$(PY) -m bench.loadtest $(LOADTEST_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache node_modules test-artifacts web/static/build

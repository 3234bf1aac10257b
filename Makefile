# Qinglian: the two front-door commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
QL := $(VENV)/bin/qinglian
STAMP := $(VENV)/.installed

.PHONY: run test bench install clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(QL) init-db --demo
	@echo ""
	@echo "  Qinglian is starting on http://127.0.0.1:5000  (health: http://127.0.0.1:5000/healthz)"
	@echo "  The web inbox is not built yet; work with the demo from a second terminal:"
	@echo "    $(QL) tasks                         # open tasks"
	@echo "    $(QL) claim TASK --as neike_head    # demo users: admin, jijian, neike_head"
	@echo "    $(QL) complete TASK --as neike_head --data '{\"month\": \"2026-11-01\", \"progress\": \"...\"}'"
	@echo ""
	$(QL) serve --host 127.0.0.1 --port 5000

test: install
	$(PY) -m pytest

bench: install
	$(QL) bench --output bench/results/latest.json

clean:
	rm -rf $(VENV) instance .pytest_cache

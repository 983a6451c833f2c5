# Two commands on a fresh machine:
#   make demo   installs everything into .venv and runs the demo (local mock, SQLite, bundled model)
#   make test   installs everything into .venv and runs the test suite (what CI runs), with a
#               throw-away PostgreSQL server beside it (scripts/pg-test-cluster.sh)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint install train bench browser-deps

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python -m classifiers.jieba_dict || echo "note: the compact jieba dictionary was not built; the first process that needs it writes it"
	touch $@

demo: install
	$(BIN)/dianhua demo

browser-deps:
	@bash scripts/browser-deps.sh

test: install browser-deps
	@bash scripts/pg-test-cluster.sh $(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check bot classifiers connectors tests
	$(BIN)/mypy bot classifiers connectors

train: install
	$(BIN)/dianhua train

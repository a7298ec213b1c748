# tmb-analys: the front door. `make help` lists the targets.
# Needs only Python 3.11+, make and git; everything else goes into .venv/.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STORE  ?= data/processed
SAMPLE ?= data/sample
LAN    ?= 21
OUT    ?= reports

.DEFAULT_GOAL := help
.PHONY: help setup reports sample test lint docs lab bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "tmb-analys needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

setup: $(STAMP) ## create .venv/ and install the package with its dependencies

sample: setup ## write the example data to data/sample/ and import it into the store
	$(BIN)/tmb sample --out $(SAMPLE)
	$(BIN)/tmb import $(SAMPLE) --store $(STORE)

reports: setup ## build Gävleborg's reports into reports/ (imports the example data if the store is empty)
	@if [ ! -f $(STORE)/crime.parquet ] && [ ! -f $(STORE)/survey.parquet ]; then \
		echo "the store $(STORE) is empty: writing and importing the example data"; \
		$(BIN)/tmb sample --out $(SAMPLE) && $(BIN)/tmb import $(SAMPLE) --store $(STORE); \
	fi
	$(BIN)/tmb build --lan $(LAN) --store $(STORE) --out $(OUT)
	@echo "open $(OUT)/index.html"

# Modules held to the line length (ruff's E501). The layout (`ruff format`) holds for the whole package
# and the tests; the long Swedish sentences of the report modules are still to be wrapped by hand.
FORMATTED := tmb_analysis/build.py tmb_analysis/interrupts.py tmb_analysis/report_themes.py tmb_analysis/store tmb_analysis/config.py tmb_analysis/results.py tmb_analysis/benchmarks.py \
	tmb_analysis/comparisons.py tmb_analysis/testing.py tmb_analysis/statistics tmb_analysis/site tmb_analysis/sources \
	tmb_analysis/charts tmb_analysis/tables tmb_analysis/priorities tmb_analysis/report

lint: setup ## ruff: the lint rules on the package and the tests, the layout on the formatted modules
	$(BIN)/ruff check tmb_analysis tests
	$(BIN)/ruff check --select E501 $(FORMATTED)
	$(BIN)/ruff format --check tmb_analysis tests

test: setup lint ## lint, then run the test suite (browser tests run when Debian chromium is installed)
	$(BIN)/python -m pytest

docs: setup ## the API reference from the docstrings into docs/api/ (pdoc, from the docs extra)
	@$(BIN)/python -c 'import pdoc' 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[docs]'
	$(BIN)/pdoc --docformat restructuredtext -o docs/api tmb_analysis
	@echo "open docs/api/index.html"

lab: setup ## open the notebooks in JupyterLab
	$(BIN)/jupyter lab notebooks/

bench: setup ## run the speed benchmarks in benchmarks/
	$(BIN)/python benchmarks/run.py

clean: ## remove generated reports and the processed store (keeps .venv/)
	rm -rf $(OUT)/*.html $(OUT)/assets $(OUT)/data $(OUT)/manifest.json $(STORE)/*.parquet $(STORE)/*.json $(STORE)/.cache

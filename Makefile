# Two commands set up and check everything on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test test-fast test-slow bench mutation install clean translations i18n-extract i18n-update

# message catalogues (api/translations): .po in the repository, .mo compiled here (not committed)
I18N := api/translations
PO := $(wildcard $(I18N)/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)
I18N_KEYWORDS := -k _ -k N_ -k _t:2 -k gettext:2

$(STAMP): setup.cfg pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel setuptools
	$(BIN)/pip install -q -e '.[dev,pg,redis,dist]'
	touch $(STAMP)

install: $(STAMP) translations

$(I18N)/%/LC_MESSAGES/messages.mo: $(I18N)/%/LC_MESSAGES/messages.po | $(STAMP)
	$(BIN)/pybabel compile -f -d $(I18N) -l $* -D messages

translations: $(MO)

i18n-extract: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg $(I18N_KEYWORDS) --no-wrap --sort-by-file --project=ipledge \
		-o $(I18N)/messages.pot .

i18n-update: i18n-extract
	$(BIN)/pybabel update -i $(I18N)/messages.pot -d $(I18N) -D messages --no-wrap

run: $(STAMP) translations
	$(BIN)/ipledge serve --host $(HOST) --port $(PORT)

test: $(STAMP) translations
	$(BIN)/python -m pytest -q

test-fast: $(STAMP) translations
	$(BIN)/python -m pytest -q -m "not slow"

# mutation testing (docs/testing.md; slow, not part of `make test`): every file in mutation.toml, or
# `make mutation MODULES=risk/credit.py`; MUTATION_ARGS=--report / --rerun-survivors / --resume
MODULES ?=
MUTATION_ARGS ?=
$(VENV)/.mutation-installed: $(STAMP) setup.cfg
	$(BIN)/pip install -q -e '.[dev,pg,redis,dist,mutation]'
	touch $@

mutation: $(VENV)/.mutation-installed
	nice -n 10 $(BIN)/python tools/mutation.py $(MUTATION_ARGS) $(MODULES)

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

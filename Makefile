# Two commands set up and check everything on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test test-fast test-slow bench mutation install clean translations i18n-extract i18n-update lock schema-doc faults

# message catalogues (reports/translations): .po in the repository, .mo compiled here (not committed)
I18N := reports/translations
PO := $(wildcard $(I18N)/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)
I18N_KEYWORDS := -k _ -k N_ -k _t:2 -k gettext:2

# Reproducible installs: every package (and the build tools) at the version of requirements.lock, then ipledge
# itself, editable, without resolving again. setup.cfg keeps the ranges for library users; `make lock` re-pins.
$(STAMP): setup.cfg pyproject.toml requirements.lock
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

lock: $(STAMP)
	$(BIN)/pip install -q pip-tools
	$(BIN)/pip-compile --quiet --no-emit-index-url --no-emit-find-links --allow-unsafe --strip-extras \
		--extra dev --extra pg --extra redis --extra dist --extra mutation -o requirements.lock setup.cfg requirements-build.in

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

test-slow: $(STAMP) translations
	$(BIN)/python -m pytest -q -m slow

# docs/schema.md and docs/examples/approval.json from the pydantic models (tests/test_readme.py checks them)
schema-doc: $(STAMP)
	$(BIN)/python -m ipledge.api.schema_doc

# each seeded fault of tests/faults in a copy of the tree, with the tests that must catch it (docs/testing.md)
faults: $(STAMP)
	$(BIN)/python -m tests.faults

# mutation testing (docs/testing.md; slow, not part of `make test`): every file in mutation.toml, or
# `make mutation MODULES=risk/credit.py`; MUTATION_ARGS=--report / --rerun-survivors / --resume
MODULES ?=
MUTATION_ARGS ?=
mutation: $(STAMP)
	nice -n 10 $(BIN)/python tools/mutation.py $(MUTATION_ARGS) $(MODULES)

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

# golden outputs (tests/expected, docs/testing.md): rewrite them from fresh runs and print every moved
# number; e.g. `make expected ARGS="--case tcm_formulation --check"`
.PHONY: expected
expected: $(STAMP)
	$(BIN)/python -m tests.update_expected $(ARGS)

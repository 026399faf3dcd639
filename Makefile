# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test render check bench clean schemas

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch==2.13.0 (the [train] extra) installs a CPU build on these machines; [registry] is MLflow.
	$(BIN)/pip install --quiet -e '.[dev,train,registry]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/modelops render
	$(BIN)/modelops render --check
	$(BIN)/modelops check
	$(BIN)/modelops status
	$(BIN)/modelops plan support-chat --env prod
	$(BIN)/modelops report --output build/report.html
	@echo "HTML report: build/report.html"
	$(BIN)/python scripts/demo_promotion.py

# Lint and types first: quiet when clean, so the test output is the only output. The suite
# runs in TEST_JOBS processes; --dist loadfile keeps a file's tests (and its module-scoped
# training runs and servers) in one process. TEST_JOBS=0 runs it in this process alone.
TEST_JOBS ?= 2
test: $(STAMP)
	sh scripts/install-test-deps.sh
	$(BIN)/ruff check --quiet generator tests bench scripts
	$(BIN)/mypy --no-error-summary
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_JOBS) --dist loadfile

render: $(STAMP)
	$(BIN)/modelops render

check: $(STAMP)
	$(BIN)/modelops check

schemas: $(STAMP)
	$(BIN)/modelops schema model > schemas/model.schema.json
	$(BIN)/modelops schema environment > schemas/environment.schema.json

bench: $(STAMP)
	$(BIN)/python bench/check_bench.py

clean:
	rm -rf $(VENV) .pytest_cache

# The two commands of the README: `make run` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.test-installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: run test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==24.3.1
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): $(STAMP) scripts/install-test-deps.sh tests/console/package-lock.json
	$(BIN)/pip install --quiet -e '.[test]'
	bash scripts/install-test-deps.sh
	npm ci --prefix tests/console --no-audit --no-fund --silent
	touch $@

run: $(STAMP)
	bash scripts/install-run-deps.sh
	$(BIN)/rocketstack serve

test: $(TEST_STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

$(BENCH_STAMP): $(TEST_STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	touch $@

# Every figure of docs/benchmarks.md, about 50 minutes; see that page for shorter runs.
bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .rocketstack

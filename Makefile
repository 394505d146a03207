# fogbank: `make run` starts the server, `make test` runs the whole suite. Both install what they need.
PY := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: run test test-slow lint bench-s3 setup setup-test clean

setup:
	@scripts/setup.sh

setup-test:
	@scripts/setup.sh --test

run: setup
	.venv/bin/fogbank serve $(ARGS)

test: setup-test
	$(PY) -m pytest -n 2 -q $(PYTEST_ARGS)

test-slow: setup-test
	$(PY) -m pytest -q -m slow $(PYTEST_ARGS)

lint: setup-test
	.venv/bin/ruff check src tests bench
	.venv/bin/mypy

bench-s3: setup-test
	$(PY) bench/s3.py $(ARGS)

clean:
	rm -rf .venv .fogbank .pytest_cache .mypy_cache .ruff_cache

# pushgrasp: the two commands a newcomer runs are `make demo` and `make test`.
# Both first run `make setup`, which is idempotent (it installs only what is missing).
SHELL := /bin/bash
SEED ?= 0
PYTEST_ARGS ?=
IN_ENV := source env.sh &&

.PHONY: setup demo test lint lock clean

setup:
	@bash tools/setup.sh

demo: setup
	@$(IN_ENV) pushgrasp demo --seed $(SEED) --out demo_out

test: setup
	@$(IN_ENV) python -m pytest $(PYTEST_ARGS)

lint: setup
	@$(IN_ENV) python -m pytest tests/test_lint.py

# Re-pin the Python stack after changing tools/requirements*.txt.
lock:
	@bash tools/lock.sh

clean:
	rm -rf build install log demo_out

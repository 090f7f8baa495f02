# visavis: every target starts with the set-up, so each works on a fresh machine.
PY := .venv/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup setup-test test lint demo bench fuzz eval train clean

setup:
	@bash scripts/setup.sh

setup-test:
	@bash scripts/setup.sh --with-browser

lint: setup-test
	.venv/bin/ruff check audio avatars renderer service tools tests clients
	.venv/bin/mypy audio avatars renderer service tools
	.venv/bin/lint-imports

test: lint
	$(PY) -m pytest -q

demo: setup
	$(PY) -m service.cli demo --host $(HOST) --port $(PORT)

bench: setup
	$(PY) -m tools.bench

fuzz: setup-test
	$(PY) -m tools.fuzz

eval: setup
	$(PY) -m tools.evaluate

train: setup
	$(PY) -m avatars.train

clean:
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache build *.egg-info

# visavis: every target starts with the set-up, so each works on a fresh machine.
PY := .venv/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup setup-test test test-plugin lint demo bench fuzz eval train clean

setup:
	@bash scripts/setup.sh

setup-test:
	@bash scripts/setup.sh --with-browser

lint: setup-test
	.venv/bin/ruff check audio avatars renderer service tools tests clients
	.venv/bin/mypy audio avatars renderer service tools clients/livekit-plugin/livekit clients/examples \
	  clients/python/visavis_client
	.venv/bin/lint-imports

# the LiveKit plugin's tests at its livekit-agents floor and at the newest release, in cached venvs
test-plugin:
	@bash scripts/test-plugin-versions.sh

test: lint test-plugin
	$(PY) -m pytest -q

demo: setup
	$(PY) -m service.cli demo --host $(HOST) --port $(PORT)

bench: setup
	$(PY) -m tools.bench

fuzz: setup-test
	$(PY) -m tools.fuzz

eval: setup
	$(PY) -m tools.evaluate
	$(PY) -m tools.faceset.evaluate

train: setup
	$(PY) -m avatars.train

clean:
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache build *.egg-info

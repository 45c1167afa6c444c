# Each target creates .venv on first use; nothing is installed outside it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
WATCH_LIST ?= $(if $(wildcard watch.toml),watch.toml,watch.example.toml)

.PHONY: run test demo check lint typecheck bench clean

$(BIN)/mentionbot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev,teams]"
	@touch $@

run: $(BIN)/mentionbot  ## install, then start the bot on the watch list (alerts print here without Slack tokens)
	WATCH_LIST=$(WATCH_LIST) $(BIN)/mentionbot run

test: $(BIN)/mentionbot  ## install, then run the whole test suite (and name the slowest tests)
	$(BIN)/python -m pytest --durations=15

demo: $(BIN)/mentionbot  ## offline: replay bundled sample feeds and print the alerts
	$(BIN)/mentionbot demo

check: $(BIN)/mentionbot  ## validate settings, watch list, database and Slack tokens
	WATCH_LIST=$(WATCH_LIST) $(BIN)/mentionbot check

lint: $(BIN)/mentionbot  ## ruff: lint and formatting
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench

typecheck: $(BIN)/mentionbot  ## mypy on bot/ (settings in pyproject.toml)
	$(BIN)/mypy

bench: $(BIN)/mentionbot  ## print performance figures (see README, Performance)
	@for script in bench/[!_]*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache

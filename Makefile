# NovaCart: `make run` serves the API with demo data on SQLite; `make test` runs every test.
PYTHON ?= python3.11
VENV ?= .venv
# make run PORT=8001 when 8000 is taken.
PORT ?= 8000
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: run test lint migrate seed clean bench worker beat

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	@touch $(STAMP)

run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

migrate: $(STAMP)
	$(PY) manage.py migrate --noinput

seed: $(STAMP)
	$(PY) manage.py seed_demo

# Background work against Redis (set REDIS_URL; without it tasks run inline and these are not needed).
worker: $(STAMP)
	$(VENV)/bin/celery -A backend worker --loglevel INFO

beat: $(STAMP)
	$(VENV)/bin/celery -A backend beat --loglevel INFO

bench: $(STAMP)
	bash bench/run.sh

clean:
	rm -rf $(VENV) db.sqlite3 media staticfiles

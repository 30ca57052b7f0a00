.PHONY: run test setup lock lint

run:  ## serve the app on http://localhost:5000 (SQLite, development)
	scripts/run.sh

test:  ## ruff, mypy, then pytest on SQLite and on PostgreSQL + Redis
	scripts/test.sh

setup:  ## create .venv: requirements-dev.lock, then the project (editable)
	scripts/setup.sh

lock:  ## refresh requirements.lock and requirements-dev.lock from pyproject.toml (uv, hashes)
	scripts/lock.sh

lint:
	.venv/bin/ruff check .
	.venv/bin/mypy app config.py serving.py wsgi.py

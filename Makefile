.PHONY: run test setup lint

run:  ## serve the app on http://localhost:5000 (SQLite, development)
	scripts/run.sh

test:  ## ruff, mypy, then pytest on SQLite and on PostgreSQL + Redis
	scripts/test.sh

setup:  ## create .venv and install the project with its dev extras
	scripts/setup.sh

lint:
	.venv/bin/ruff check .
	.venv/bin/mypy app config.py serving.py wsgi.py

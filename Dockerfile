# Production image: gunicorn (gthread workers) serving wsgi:app with gunicorn.conf.py.
#   docker build -t saas-foundation .
#   docker run -p 8000:8000 -e AUTH__SECRET=... -e DATABASE_URL=postgresql://... saas-foundation
# The API reference page's Scalar bundle: the pinned version from npm, checked against its pinned hash.
FROM node:20-slim AS scalar
WORKDIR /build
COPY scripts/fetch_scalar.sh scripts/
COPY app/modules/auth/scalar_bundle.py app/modules/auth/
RUN scripts/fetch_scalar.sh

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    APP_ENV=production \
    PORT=8000 \
    # argon2's 19 MiB buffers return to the system after each hash instead of staying in glibc's
    # arenas: about 60 MB less resident memory per worker (bench/README.md).
    MALLOC_MMAP_THRESHOLD_=131072 \
    MALLOC_ARENA_MAX=2

WORKDIR /srv/app

# Dependencies first, from the hash-pinned lock (scripts/lock.sh refreshes it): a layer that
# changes only with the lock, and a build that installs the same bytes every time.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md config.py serving.py wsgi.py gunicorn.conf.py ./
COPY app ./app
COPY --from=scalar /build/app/modules/auth/static/scalar-standalone.js ./app/modules/auth/static/
COPY migrations ./migrations
# Then the project alone: its dependencies are all in the lock, and setuptools (its build backend)
# too, so nothing unpinned is fetched. gunicorn and flask import the sources in WORKDIR, where
# migrations/ sits beside app/. `pip check` fails the build when the lock misses a dependency.
RUN pip install --no-deps --no-build-isolation . && pip check && rm -rf build *.egg-info

RUN useradd --system --uid 10001 --home-dir /srv/app --shell /usr/sbin/nologin app \
    && mkdir -p /srv/app/instance \
    && chown -R app:app /srv/app/instance
USER app

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/v1/healthz' % os.environ.get('PORT', '8000'), timeout=4)"

# Run `flask --app wsgi db upgrade` once per release (a job, or: docker run IMAGE flask --app wsgi db upgrade).
# python -m serving checks every setting (one line, exit 2), then runs gunicorn -c gunicorn.conf.py wsgi:app.
CMD ["python", "-m", "serving"]

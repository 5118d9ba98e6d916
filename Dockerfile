# Meshlens: daphne (web) by default; the same image runs the Celery worker and beat:
#   docker run IMAGE                                            web on :8000
#   docker run IMAGE celery -A dashboard worker --loglevel=INFO  worker (as many as wanted)
#   docker run IMAGE celery -A dashboard beat --loglevel=INFO --schedule=/tmp/celerybeat-schedule
#                                                               beat (exactly one)
#   docker run IMAGE python manage.py migrate --noinput          the database's tables
# Settings come from the environment (README, "Running in production").

# The page's vendored JavaScript (Cytoscape.js, cytoscape-dagre, uPlot), as package-lock.json pins it.
FROM node:22-bookworm-slim AS js
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim-bookworm
# Graphviz draws format=svg of /api/v1/graph.
RUN apt-get update \
    && apt-get install -y --no-install-recommends graphviz \
    && rm -rf /var/lib/apt/lists/*
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=dashboard.settings
WORKDIR /app
COPY pyproject.toml README.md ./
COPY graph graph
COPY dashboard dashboard
COPY demo demo
# Editable: settings find templates/, static/ and node_modules/ beside the code, in /app.
# psycopg (the postgres extra) for DATABASE_URL=postgres://...
RUN pip install --no-cache-dir -e '.[postgres]'
# The compiled loops (graph/*.pyx, Cython): the JSON writer's, which every build needs, and
# remote read's decoder (MESHLENS_REMOTE_READ). Compiled as `make setup` compiles them,
# against the image's Python headers, with a compiler removed again after; each one imported.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && cythonize --inplace --force -3 graph/*.pyx \
    && rm -rf graph/*.c build \
    && apt-get purge -y --auto-remove gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/* \
    && python -c "import importlib, pathlib; [importlib.import_module('graph.' + p.stem) for p in pathlib.Path('graph').glob('*.pyx')]"
COPY manage.py ./
COPY templates templates
COPY static static
COPY --from=js /build/node_modules node_modules
# SQLite, when no DATABASE_URL is given, in a volume-able folder the user owns.
ENV MESHLENS_DB=/var/lib/meshlens/db.sqlite3
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin meshlens \
    && install -d -o meshlens -g meshlens /var/lib/meshlens
USER 10001
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "dashboard.asgi:application"]

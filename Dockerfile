# FusionHub's one image: the web server, the Celery worker and beat all run from it
# (docker-compose.yml). Front-end packages come from npm and are served by the app itself.

FROM node:20-slim AS frontend
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error


FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH

RUN useradd --create-home --uid 10001 --user-group fusionhub \
    && python -m venv /opt/venv

COPY requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt && rm /tmp/requirements.txt

WORKDIR /app
COPY --from=frontend /build/node_modules ./node_modules
COPY . .

# The static files and their manifest of hashed names are built here, with DEBUG off as in
# production; this throw-away key only lets the settings load and signs nothing.
RUN DEBUG=false SECRET_KEY=collectstatic-only-never-used-at-runtime \
        python manage.py collectstatic --noinput \
    && mkdir -p /app/.data/media \
    && chown -R fusionhub:fusionhub /app/.data

USER fusionhub
EXPOSE 8000
CMD ["uvicorn", "fusionhub.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--no-access-log"]

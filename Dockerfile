# dlcm GitHub App: `dlcm serve` in one small image.
#
#   docker build -t dlcm .
#   docker run -p 3000:3000 -v dlcm-data:/data \
#     -e DLCM_APP_ID=123456 -e DLCM_WEBHOOK_SECRET=... -e DLCM_PRIVATE_KEY="$(cat app.pem)" dlcm
#
# State (the SQLite database: job queue, idempotency indexes, change requests) lives in
# the /data volume. See docs/app.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# git: `dlcm check --base <ref>` and `dlcm rollback-test` in the same image; the App itself
# reads repositories through the GitHub API.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY pyproject.toml README.md ./
COPY checks ./checks
COPY bot ./bot
COPY dlcm ./dlcm
COPY templates ./templates
RUN pip install . \
    && rm -rf /src

RUN useradd --system --uid 10001 --user-group --home-dir /data --create-home --shell /usr/sbin/nologin dlcm
USER dlcm
WORKDIR /data
VOLUME ["/data"]

ENV DLCM_DB=/data/dlcm.sqlite3 \
    DLCM_HOST=0.0.0.0 \
    PORT=3000
EXPOSE 3000

# /healthz answers 200 while the database answers, 503 otherwise (slim has no curl).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"]

CMD ["dlcm", "serve"]

# escalation-bot: `serve` on port 3000 by default.
# The base is python:3.11-slim (Python 3.11.16, Debian trixie) pinned by the digest of its
# multi-platform index. To refresh it: `docker buildx imagetools inspect python:3.11-slim`
# and put the "Digest:" it prints here.
FROM python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 bot
WORKDIR /app

# Dependencies and the build backend only from requirements.lock (scripts/lock), each file
# checked against its hash; then the bot alone, built with that backend.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md alembic.ini ./
COPY bot ./bot
COPY migrations ./migrations
RUN pip install --no-deps --no-build-isolation .

COPY policies ./policies

USER 10001
ENV POLICIES_PATH=/app/policies \
    DATABASE_URL=sqlite:////home/bot/escalation-bot.db
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["escalation-bot"]
CMD ["serve", "--host", "0.0.0.0", "--port", "3000"]

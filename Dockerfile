# nzbot in a container, built from its wheel (what `pip install .` gets, templates and all).
#   docker build -t nzbot .
#   docker run --env-file nzbot.env -v nzbot-data:/data -p 3000:3000 nzbot
# The database lives on the volume (/data/nzbot.db): a container's own disk is gone at
# each restart, and with it every open case and decision.
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY alma alma
COPY bot bot
COPY nzbot nzbot
COPY templates templates
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.12-slim
RUN useradd --create-home --uid 10001 nzbot && mkdir /data && chown nzbot /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER nzbot
WORKDIR /data
ENV NZBOT_DB=/data/nzbot.db PORT=3000 PYTHONUNBUFFERED=1
VOLUME ["/data"]
EXPOSE 3000
# Healthy: the database can be written and the bot's rounds run (nzbot/status.py).
HEALTHCHECK --interval=60s --timeout=20s --start-period=60s --retries=3 CMD ["nzbot", "status"]
CMD ["nzbot", "run"]

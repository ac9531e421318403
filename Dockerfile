# tradepilot in a container: `docker compose up -d` (docker-compose.yml, docs/deploy.md).
# Only the runtime requirements are installed; TA-Lib comes as a binary wheel from PyPI
# (ta-lib 0.8.2 ships the C library inside its manylinux wheels for amd64 and arm64), so
# the image needs no compiler and no Debian package beyond the base's.
# The base is a build argument only so that a machine that cannot reach Docker Hub can build
# on a local image of the same Debian and Python; the image is made for python:3.11-slim.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}

# The bot's user; UID/GID match the owner of the bind-mounted folders on the host (the first
# user of a Debian system is 1000): `docker compose build --build-arg UID=$(id -u)`.
ARG UID=1000
ARG GID=1000

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH \
    HEARTBEAT_FILE=/tmp/tradepilot.heartbeat \
    MPLCONFIGDIR=/tmp/matplotlib \
    DATABASE_URL=sqlite:////srv/tradepilot/database/tradepilot.sqlite

RUN groupadd --system --gid "${GID}" tradepilot \
    && useradd --system --uid "${UID}" --gid tradepilot --home-dir /srv/tradepilot \
       --shell /usr/sbin/nologin tradepilot

# Requirements first: the layer is rebuilt only when they change, not with every code edit.
COPY requirements.txt /opt/tradepilot/requirements.txt
RUN python3 -m venv /opt/venv \
    && pip install --no-cache-dir -r /opt/tradepilot/requirements.txt \
    && python3 -c "import numpy, talib; print('TA-Lib', talib.__ta_version__.decode(), talib.SMA(numpy.arange(5.0), 3)[-1])"

# The code belongs to root: the bot can read it, not change it.
COPY . /opt/tradepilot/

# The working directory holds what the bot writes and what the owner edits: each a volume,
# the strategies and candles seeded with the shipped ones (a new named volume starts with them).
WORKDIR /srv/tradepilot
RUN mkdir -p config strategies data database \
    && cp -a /opt/tradepilot/strategies/. strategies/ \
    && cp -a /opt/tradepilot/data/. data/ \
    && chown -R tradepilot:tradepilot data database \
    && chmod 0700 database
VOLUME ["/srv/tradepilot/config", "/srv/tradepilot/strategies", "/srv/tradepilot/data", \
        "/srv/tradepilot/database"]

# Numeric, so that the host (and runAsNonRoot checks) can tell it is not root.
USER ${UID}:${GID}
HEALTHCHECK --interval=30s --timeout=10s --start-period=2m --retries=3 \
    CMD ["python3", "/opt/tradepilot/bot.py", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["python3", "/opt/tradepilot/bot.py"]
CMD ["run", "--config", "config/config.json"]

# syntax=docker/dockerfile:1
# The peer-support-bridge image: one image, every process (`peer-support worker`, `ingest`,
# `sink <channel>`, `answers`, `topics create`), chosen by the container's arguments.
#
#   docker build -t peer-support-bridge:0.1.0 .
#
# Two stages: `build` makes a virtual environment from wheels only (no compiler anywhere; the
# dependency pins are the project's constraints.txt); `runtime` is the same slim Python base
# with that environment copied in, a non-root user, and nothing written at run time outside
# /tmp and the worker's data directory, so it runs with a read-only root filesystem.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/peer-support
COPY pyproject.toml constraints.txt README.md ./
COPY schemas ./schemas
COPY runtime ./runtime
COPY streams ./streams
COPY connectors ./connectors
COPY peer_support ./peer_support
# Our own wheel first (pure Python), then it and its dependencies as binary wheels only.
RUN pip wheel --no-deps --wheel-dir /wheels . \
 && /opt/peer-support/bin/pip install --only-binary=:all: --constraint constraints.txt /wheels/*.whl \
 && /opt/peer-support/bin/python -m compileall -q /opt/peer-support/lib \
 && /opt/peer-support/bin/pip uninstall --yes pip

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="peer-support-bridge" \
      org.opencontainers.image.description="Incident reports in, peer-support offers out; nothing of the patient in between." \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 psb \
 && useradd --system --uid 10001 --gid psb --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin psb \
 && install --directory --owner=10001 --group=10001 --mode=0750 /var/lib/peer-support/worker
COPY --from=build /opt/peer-support /opt/peer-support
ENV PATH=/opt/peer-support/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    PSB_WORKER_DATA_DIR=/var/lib/peer-support/worker
WORKDIR /tmp
USER 10001:10001
# worker health/metrics, ingest, sink health, answers
EXPOSE 6066 8080 8081 8082
ENTRYPOINT ["peer-support"]
CMD ["--help"]

# syntax=docker/dockerfile:1
# The peer-support-bridge image: one image, every process (`peer-support worker`, `ingest`,
# `sink <channel>`, `answers`, `topics create`), chosen by the container's arguments.
#
#   docker build -t peer-support-bridge:0.1.0 \
#     --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" .
#
# Only the runtime dependencies are installed: none of the extras (`demo`: the embedded broker
# and the demo's mail server; `strict`: the official FHIR models of `minimize --strict`).
#
# Two stages: `build` makes a virtual environment from wheels only (no compiler anywhere; the
# dependency pins are the project's constraints.txt); `runtime` is the same slim Python base
# with that environment copied in, a non-root user, and nothing written at run time outside
# /tmp and the worker's data directory, so it runs with a read-only root filesystem.

# The base, pinned by the digest of its multi-platform index (Python 3.11.17, October 2026), so
# a rebuild gets the same base until the pin is moved on purpose. To move it to the tag's
# current image (Debian security updates, Python patch releases):
#   docker buildx imagetools inspect python:3.11-slim-bookworm
# and put its "Digest:" in place of the sha256 below (or pass it for one build:
# --build-arg PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:<digest>).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:0a310eeecf4e1f5a0743f9a6520c90c88d089c903ca5fd283f501e3a805f5f89
# What the image's labels say it was built from; CI passes the tag and the commit. SOURCE is
# the repository, as the chart's Chart.yaml `sources` names it.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=https://github.com/peer-support-bridge/peer-support-bridge

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
# Our own wheel first (pure Python), then it and its runtime dependencies (no extras) as
# binary wheels only.
RUN pip wheel --no-deps --wheel-dir /wheels . \
 && /opt/peer-support/bin/pip install --only-binary=:all: --constraint constraints.txt /wheels/*.whl \
 && /opt/peer-support/bin/python -m compileall -q /opt/peer-support/lib \
 && /opt/peer-support/bin/pip uninstall --yes pip

FROM ${PYTHON_IMAGE} AS runtime
ARG VERSION
ARG REVISION
ARG SOURCE
LABEL org.opencontainers.image.title="peer-support-bridge" \
      org.opencontainers.image.description="Incident reports in, peer-support offers out; nothing of the patient in between." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
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

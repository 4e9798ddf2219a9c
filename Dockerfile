# One image for every MPPI process: the gateway, the four services and the migration Jobs. Each Kubernetes
# Deployment / Job gives its own command (deploy/k8s), e.g. `python -m gateway.main`,
# `python -m mppi.runtime.runner services.tenants.service:TenantsService`, `python -m mppi.runtime.migrations tenants`.
# The base is pinned by tag (pin the digest too where the registry is reachable: FROM python:…@sha256:…).
FROM python:3.11.7-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/tmp

WORKDIR /build
COPY pyproject.toml README.md ./
COPY mppi ./mppi
COPY services ./services
COPY gateway ./gateway
COPY devtools ./devtools
# the project and its pinned dependencies into site-packages (bytecode compiled now: the root filesystem is
# read-only at run time), then the build tree goes
RUN pip install "setuptools<81" wheel \
    && pip install . \
    && rm -rf /build

# uid/gid 10001, as the pods' runAsUser/runAsGroup; owns nothing in the image
RUN groupadd --system --gid 10001 mppi \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin mppi
WORKDIR /app
USER 10001:10001
EXPOSE 8000 9100

# syntax=docker/dockerfile:1
# natter in a container, for linux/amd64 and linux/arm64 (see the Docker
# section of docs/operations.md):
#   docker build -t natter .                                        this machine's platform
#   docker buildx build --platform linux/amd64,linux/arm64 -t natter .
# The build stage runs on the target platform (buildx emulates a foreign one),
# so npm ci installs that platform's Bun and libSQL addon and build.ts picks
# them by TARGETARCH. Litestream comes from its official multi-arch image, the
# same v0.3.13 as the npm package (which npm publishes for linux-x64 only).
ARG LITESTREAM_IMAGE=litestream/litestream:0.3.13

FROM ${LITESTREAM_IMAGE} AS litestream

FROM node:20-bookworm-slim AS build
ARG TARGETARCH
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# .dockerignore keeps the host's node_modules, data/ (admin token, shards), dist/ and .git out.
COPY . .
RUN node_modules/.bin/bun scripts/build.ts --arch "${TARGETARCH:-$(uname -m)}" --no-litestream

FROM debian:bookworm-slim
# ca-certificates: S3/GCS/Azure replicas and libSQL servers over TLS.
# tini: PID 1 that forwards SIGTERM to natter and reaps Litestream's children.
# curl: the health check.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tini curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin natter \
 && mkdir -p /data \
 && chown natter:natter /data
COPY --from=litestream /usr/local/bin/litestream /usr/local/bin/litestream
COPY --from=build /src/dist/natter /usr/local/bin/natter
ENV NATTER_DATA=/data \
    NATTER_HOST=0.0.0.0 \
    NATTER_PORT=8080 \
    NATTER_LITESTREAM=/usr/local/bin/litestream
USER natter
WORKDIR /data
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${NATTER_PORT}/healthz" >/dev/null || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/natter"]
CMD ["serve"]

# Multi-stage build of the Keiko portal. No Docker engine runs on the development machines,
# so this file is kept correct by reading: it repeats what `make build` does.

FROM rust:1.95-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# scripts/setup.sh installs the wasm target, wasm-bindgen-cli and wasm-opt (npm binaryen).
RUN make build

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/keiko --create-home keiko
WORKDIR /opt/keiko
COPY --from=build /src/target/release/keiko-portal /opt/keiko/keiko-portal
COPY --from=build /src/target/site /opt/keiko/site
ENV KEIKO_LISTEN=0.0.0.0:3000 \
    KEIKO_DATA_DIR=/var/lib/keiko \
    KEIKO_SITE_ROOT=/opt/keiko/site
USER keiko
EXPOSE 3000
VOLUME ["/var/lib/keiko"]
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS http://127.0.0.1:3000/healthz || exit 1
ENTRYPOINT ["/opt/keiko/keiko-portal"]
CMD ["serve"]

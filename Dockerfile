# syntax=docker/dockerfile:1
# kefu in a container: the one binary on debian:bookworm-slim.
#   docker build -t kefu .
#   docker run -d --name kefu -p 8080:8080 -v kefu-data:/data kefu
# See docs/deploy.md.

# ---- build -------------------------------------------------------------------
FROM rust:1-bookworm AS builder

# build.rs fetches the pinned htmx packages (assets/vendor.lock) with `npm pack`.
RUN apt-get update \
 && apt-get install -y --no-install-recommends npm \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Crates first: this layer is reused until Cargo.toml or Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
RUN cargo fetch --locked

# Then the sources. The target/ cache mount (BuildKit) keeps compiled
# dependencies and the downloaded htmx tarballs between builds.
COPY . .
RUN --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked \
 && install -D -m 0755 target/release/kefu /out/kefu

# ---- run ---------------------------------------------------------------------
FROM debian:bookworm-slim

# CA certificates for the HTTPS calls to WeChat's API; nothing else is needed
# (SQLite, templates, assets and the time-zone database are in the binary).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 kefu \
 && useradd --system --uid 10001 --gid kefu --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin kefu \
 && mkdir -p /data \
 && chown kefu:kefu /data \
 && chmod 0750 /data

COPY --from=builder /out/kefu /usr/local/bin/kefu

ENV KEFU_DATA=/data \
    KEFU_LISTEN=0.0.0.0:8080
VOLUME ["/data"]
WORKDIR /data
USER 10001:10001
EXPOSE 8080

# `kefu healthcheck` asks http(s)://127.0.0.1:<port of KEFU_LISTEN>/healthz.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
    CMD ["kefu", "healthcheck"]

ENTRYPOINT ["kefu"]
CMD ["serve"]

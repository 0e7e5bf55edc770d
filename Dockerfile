# syntax=docker/dockerfile:1
# bosun's image: `bosun` (the controllers, the DNS server) and the `kubectl-bosun` plugin, both
# static musl binaries, on distroless/static as uid 65532 with no shell.
#
#   docker build -t bosun:dev .        (make image)

# Build on Alpine: its Rust targets x86_64/aarch64-unknown-linux-musl natively and links
# statically by default (crt-static), so no cross toolchain is needed. (Checked off-image:
# `cargo build --target x86_64-unknown-linux-musl -p bosun` gives static-pie binaries with no
# NEEDED entry; on a glibc host ring needs CC_x86_64_unknown_linux_musl=cc.)
ARG RUST_VERSION=1.95
FROM docker.io/library/rust:${RUST_VERSION}-alpine AS build
# A C toolchain for ring (rustls' crypto); cmake and perl in case a dependency brings aws-lc-sys.
RUN apk add --no-cache build-base musl-dev cmake perl
WORKDIR /src
# Smaller binaries: no symbols in the image.
ENV CARGO_PROFILE_RELEASE_STRIP=symbols
COPY . .
# Cache mounts keep the registry and the target directory between builds; the binaries are
# copied out of the cached target directory inside the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p bosun --bins \
 && mkdir -p /out \
 && cp target/release/bosun target/release/kubectl-bosun /out/ \
 && if readelf -d /out/bosun /out/kubectl-bosun | grep -q NEEDED; then \
      echo "the binaries are not static" >&2; exit 1; fi \
 && /out/bosun --version

# distroless/static: CA certificates, /etc/passwd with `nonroot` (65532), tzdata; nothing else.
FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="bosun" \
      org.opencontainers.image.description="Kubernetes' core controllers as custom resources, and a DNS server" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/bosun /out/kubectl-bosun /usr/local/bin/
USER 65532:65532
# The DNS server's unprivileged port and the metrics ports (the chart maps 53 to 5353).
EXPOSE 5353/udp 5353/tcp 8080 8081
ENTRYPOINT ["/usr/local/bin/bosun"]
CMD ["run"]

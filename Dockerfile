# syntax=docker/dockerfile:1
# bosun's image: `bosun` (the controllers, the DNS server) and the `kubectl-bosun` plugin, both
# static musl binaries, as uid 65532 with no shell: the files hack/image/build.sh puts in its
# OCI archive (`make image`, no Docker needed), for those who build with Docker.
#
#   docker build -t bosun:dev .        (make docker-image)

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
 && mkdir -p /out/usr/local/bin /out/etc /out/tmp \
 && chmod 1777 /out/tmp \
 && cp target/release/bosun target/release/kubectl-bosun /out/usr/local/bin/ \
 && cp images/bosun/passwd images/bosun/group /out/etc/ \
 && if readelf -d /out/usr/local/bin/bosun /out/usr/local/bin/kubectl-bosun | grep -q NEEDED; then \
      echo "the binaries are not static" >&2; exit 1; fi \
 && /out/usr/local/bin/bosun --version

# The same files as hack/image/build.sh's archive: the two binaries, /etc/passwd and /etc/group
# with `nonroot` (65532), an empty /tmp; nothing else.
FROM scratch
LABEL org.opencontainers.image.title="bosun" \
      org.opencontainers.image.description="Kubernetes' core controllers as custom resources, and a DNS server" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/ /
USER 65532:65532
# The DNS server's unprivileged port and the metrics ports (the chart maps 53 to 5353).
EXPOSE 5353/udp 5353/tcp 8080 8081
ENTRYPOINT ["/usr/local/bin/bosun"]
CMD ["run"]

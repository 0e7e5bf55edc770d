# bosun: every entry point. `make demo` (the README's first command) and `make test` (its second).
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

export BOSUN_CACHE ?= $(HOME)/.cache/bosun
export BOSUN_CLUSTER_DIR ?= $(BOSUN_CACHE)/cluster
export KUBECONFIG ?= $(BOSUN_CLUSTER_DIR)/kubeconfig
export PATH := $(BOSUN_CACHE)/bin:$(HOME)/.cargo/bin:$(PATH)
# make bench: clusters of its own (each run destroys its cluster), beside a dev cluster.
BENCH_CLUSTER_DIR ?= $(BOSUN_CACHE)/bench/cluster
BENCH_PORT_OFFSET ?= 50
# Two cores: keep cargo from starving the cluster while tests run.
E2E_THREADS  ?= 4

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

.PHONY: deps
deps: ## install what the project needs from the registries (apt, Go module proxy, crates.io)
	hack/deps.sh

.PHONY: binaries
binaries: ## build the pinned upstream binaries into ~/.cache/bosun/bin (once per version)
	hack/cluster/build.sh

.PHONY: node-binaries
node-binaries: ## build the real node's binaries (kubelet, kube-proxy, containerd, runc) and install its packages
	hack/deps.sh node

.PHONY: cluster-up
cluster-up: deps ## start the local real control plane with kwok nodes (BOSUN_REAL_NODES=1: and a real node) (idempotent)
	hack/cluster/up.sh

.PHONY: cluster-down
cluster-down: ## stop the local cluster (and its real node) and remove its state
	hack/cluster/down.sh

.PHONY: crds
crds: ## regenerate crds/ from the Rust types (and the chart's copies)
	cargo run -q -p bosun -- crds --out-dir crds
	hack/chart-crds.sh

.PHONY: generate
generate: crds ## regenerate every generated file: the CRDs, and the chart's controller RBAC and controllers enum from the registry
	BOSUN_GENERATE=1 cargo test -q -p bosun --lib -- generated_

.PHONY: build
build: ## build bosun
	cargo build --workspace --bins

.PHONY: demo
demo: deps ## bring up the cluster, install bosun's CRDs and show an example (README's first command)
	hack/demo.sh

.PHONY: lint
lint: ## cargo fmt --check and clippy with warnings as errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

.PHONY: unit
unit: ## unit tests (no cluster needed), including the CRD drift check
	cargo test --workspace --exclude bosun-e2e

.PHONY: e2e
e2e: ## end-to-end tests against the cluster KUBECONFIG names (starts the local one if needed)
	hack/e2e.sh

.PHONY: diff-long
diff-long: ## the differential test alone, 50 random sequences, on the cluster KUBECONFIG names
	cargo build -p bosun
	BOSUN_DIFF_SEQUENCES=$${BOSUN_DIFF_SEQUENCES:-50} cargo test -p bosun-e2e --test differential -- --nocapture

.PHONY: chart-crds
chart-crds: ## regenerate the Helm chart's CRD templates from crds/
	hack/chart-crds.sh

.PHONY: chart-lint
chart-lint: ## helm lint (also --strict) the chart and check its CRDs match crds/
	hack/chart-crds.sh --check
	helm lint --strict charts/bosun

.PHONY: release-lint
release-lint: ## the release, no cluster: actionlint on the workflows, image tag = appVersion, krew's manifest validator
	hack/lint-workflows.sh
	cargo test -p bosun-e2e --test release
	hack/release/check-krew.sh

export IMAGE ?= bosun:dev
.PHONY: image
image: ## build the images as OCI archives in target/images (bosun as IMAGE, default bosun:dev; pause; echo), no Docker; into the real node if it runs
	hack/image/build.sh

.PHONY: docker-image
docker-image: ## the same bosun image with Docker: docker build -t IMAGE .
	docker build -t $(IMAGE) .

.PHONY: test
test: deps lint chart-lint release-lint unit e2e ## everything: lint, unit tests, CRD drift, chart lint, release checks, end-to-end on the local cluster

.PHONY: bench-quick
bench-quick: ## every benchmark scenario once at reduced sizes (minutes): target/bench-quick.md; the README's figures stay make bench's
	BENCH_QUICK=1 BOSUN_REAL_NODES=0 BOSUN_CLUSTER_DIR=$(BENCH_CLUSTER_DIR) BOSUN_PORT_OFFSET=$(BENCH_PORT_OFFSET) bench/run.sh

.PHONY: bench-slice-writes
bench-slice-writes: ## the API server's CPU per EndpointSlice write, by method, size and CRD schema variant, bosun's and built-in: docs/slice-writes.md
	BOSUN_REAL_NODES=0 BOSUN_CLUSTER_DIR=$(BENCH_CLUSTER_DIR) BOSUN_PORT_OFFSET=$(BENCH_PORT_OFFSET) python3 bench/slice_writes.py --cbor --variants

.PHONY: bench
bench: ## every benchmark beside kube-controller-manager and CoreDNS: bench/results.json, docs/benchmarks.md, docs/slice-writes.md
	BOSUN_REAL_NODES=0 BOSUN_CLUSTER_DIR=$(BENCH_CLUSTER_DIR) BOSUN_PORT_OFFSET=$(BENCH_PORT_OFFSET) bench/run.sh

.PHONY: bench-scale
bench-scale: ## only the scale scenarios (10,000 Pods; 1,000 Services of 10), merged into bench/results.json, docs/benchmarks.md
	BOSUN_REAL_NODES=0 BOSUN_CLUSTER_DIR=$(BENCH_CLUSTER_DIR) BOSUN_PORT_OFFSET=$(BENCH_PORT_OFFSET) bench/run.sh --scenarios scale-deploy,scale-eps,scale-dns --merge bench/results.json

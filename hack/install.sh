#!/usr/bin/env bash
# Install bosun's chart on the local cluster the way its users run it: bosun's own image (built by
# hack/image/build.sh and imported into the real node, no registry), the controllers (2 replicas,
# leader election) and `bosun dns` (2 replicas) as Pods on the real node, bosun dns as the
# cluster's DNS (the Service at 10.96.0.10, the address the real node's kubelet gives Pods).
#
#   hack/install.sh            build the images, then `helm upgrade --install` and wait
#   BOSUN_SKIP_IMAGES=1        use the archives already in target/images (imported again)
#
# Needs the local cluster (make cluster-up). Without a real node (BOSUN_REAL_NODES=0) it installs
# the chart's CRDs, RBAC and Services with both Deployments scaled to 0.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=cluster/lib.sh
. "$here/cluster/lib.sh"
export KUBECONFIG=$KUBECONFIG_PATH
top=$(cd "$here/.." && pwd)
RELEASE=${BOSUN_RELEASE:-bosun}
NS=${BOSUN_RELEASE_NAMESPACE:-bosun-system}
IMAGE=${IMAGE:-bosun:dev}
export IMAGE
CLUSTER_DNS_IP=10.96.0.10

if [ "$REAL_NODES" != 0 ] && ! "$here/cluster/node.sh" status; then
  log "the real node is not running: make cluster-up"
  exit 1
fi

if [ "$REAL_NODES" = 0 ]; then
  : # no image: the chart's Pods are scaled to 0 below
elif [ "${BOSUN_SKIP_IMAGES:-0}" = 1 ]; then
  "$here/cluster/node.sh" import "$top/target/images/bosun.tar" "$top/target/images/echo.tar" \
    "$top/target/images/coredns.tar"
else
  "$here/image/build.sh"
fi

# CRDs applied by the tests (`make e2e` outside the demo) belong to no release, or to a release
# since uninstalled (the chart keeps its CRDs): hand them to this one, as Helm documents for
# adopting objects. If another live release owns them, leave them to it.
crd_flags=()
for crd in deployments.apps.bosun.dev replicasets.apps.bosun.dev endpointslices.discovery.bosun.dev dnsrecordsets.dns.bosun.dev; do
  kubectl get crd "$crd" >/dev/null 2>&1 || continue
  owner=$(kubectl get crd "$crd" -o jsonpath='{.metadata.annotations.meta\.helm\.sh/release-name}')
  owner_ns=$(kubectl get crd "$crd" -o jsonpath='{.metadata.annotations.meta\.helm\.sh/release-namespace}')
  if [ -n "$owner" ] && { [ "$owner/$owner_ns" = "$RELEASE/$NS" ] || helm status "$owner" -n "$owner_ns" >/dev/null 2>&1; }; then
    [ "$owner/$owner_ns" = "$RELEASE/$NS" ] || crd_flags=(--set crds.install=false)
    continue
  fi
  kubectl label --overwrite crd "$crd" app.kubernetes.io/managed-by=Helm >/dev/null
  kubectl annotate --overwrite crd "$crd" meta.helm.sh/release-name="$RELEASE" meta.helm.sh/release-namespace="$NS" >/dev/null
done

# The image is on the real node only (pullPolicy Never); the real node is tainted, so both
# components select and tolerate it. bosun dns forwards to the node's resolv.conf, whose
# nameserver answers nothing: no question leaves this machine.
if [ "$REAL_NODES" = 0 ]; then
  # kwok's nodes cannot run containers, so the chart's own Pods would only be played by kwok:
  # scale them to 0; hack/demo.sh runs the same binary on the host with the chart's
  # ServiceAccounts.
  printf '\n\033[1m$ helm upgrade --install %s charts/bosun -n %s --set controller.replicas=0 --set dns.replicas=0 --wait\033[0m\n' "$RELEASE" "$NS"
  helm upgrade --install "$RELEASE" "$top/charts/bosun" --namespace "$NS" --create-namespace \
    --set controller.replicas=0 --set dns.replicas=0 "${crd_flags[@]}" --wait
  exit 0
fi
values=(
  --set image.repository="${IMAGE%:*}" --set image.tag="${IMAGE##*:}" --set image.pullPolicy=Never
  --set controller.replicas=2 --set dns.replicas=2
  --set dns.clusterDNS.enabled=true --set dns.clusterDNS.clusterIP=$CLUSTER_DNS_IP
)
# The tag stays (bosun:dev) while the contents change from build to build: the manifest's digest
# as a Pod annotation makes `helm upgrade` roll the Pods when, and only when, the image changed.
digest=$(tar -xOf "$top/target/images/bosun.tar" index.json | python3 -c 'import json,sys; print(json.load(sys.stdin)["manifests"][0]["digest"])')
for c in controller dns; do
  values+=(--set-string "$c.podAnnotations.bosun\.dev/image-digest=${digest#sha256:}")
  values+=(--set-string "$c.nodeSelector.bosun\.dev/real-node=true"
    --set "$c.tolerations[0].key=bosun.dev/real-node" --set "$c.tolerations[0].operator=Exists"
    --set "$c.tolerations[0].effect=NoSchedule")
done
t0=$SECONDS
printf '\n\033[1m$ helm upgrade --install %s charts/bosun -n %s --set image.repository=%s --set image.tag=%s ... --wait\033[0m\n' \
  "$RELEASE" "$NS" "${IMAGE%:*}" "${IMAGE##*:}"
if ! helm upgrade --install "$RELEASE" "$top/charts/bosun" --namespace "$NS" --create-namespace \
  "${values[@]}" "${crd_flags[@]}" --wait --timeout 3m; then
  log "ERROR: the chart's Pods did not become ready"
  kubectl -n "$NS" get pods -o wide >&2 || true
  kubectl -n "$NS" describe pods >&2 | tail -n 40 || true
  exit 1
fi
log "bosun installed from $IMAGE on $(kubectl get nodes -l bosun.dev/real-node=true -o name | head -n1) in $((SECONDS - t0))s"

#!/usr/bin/env bash
# Point a cluster's kube-dns Service at bosun dns's Pods, or back at CoreDNS's: the switch of a
# kind or minikube cluster to bosun dns that needs no kubelet change (README, "bosun dns as the
# cluster's DNS"). The in-cluster test suite runs it against a kind-shaped kube-dns.
#
#   hack/dns-switch.sh to-bosun | to-coredns
#
#   NAMESPACE (kube-system)  where the kube-dns Service and the bosun release both are: a Service
#                            selects Pods of its own namespace only
#   SERVICE   (kube-dns)     the Service to move
#   RELEASE   (bosun)        the Helm release whose DNS Pods take over
#   DNS_PORT  (5353)         the port bosun dns listens on in its Pods (the chart's dns.containerPort)
#
# Only the selector and the target port of the Service's port-53 entries change; its ClusterIP,
# which every Pod's resolv.conf names, stays, so running Pods follow without a restart.
set -euo pipefail
NAMESPACE=${NAMESPACE:-kube-system}
SERVICE=${SERVICE:-kube-dns}
RELEASE=${RELEASE:-bosun}
DNS_PORT=${DNS_PORT:-5353}
usage() { echo "usage: hack/dns-switch.sh to-bosun|to-coredns" >&2; exit 2; }
[ $# -eq 1 ] || usage
case $1 in
  to-bosun)
    selector="{\"app.kubernetes.io/instance\": \"$RELEASE\", \"app.kubernetes.io/component\": \"dns\"}"
    target=$DNS_PORT ;;
  to-coredns)
    selector='{"k8s-app": "kube-dns"}'
    target=53 ;;
  *) usage ;;
esac
ports=$(kubectl -n "$NAMESPACE" get service "$SERVICE" -o jsonpath='{.spec.ports[*].port}')
ops=("{\"op\": \"replace\", \"path\": \"/spec/selector\", \"value\": $selector}")
i=0
for p in $ports; do
  [ "$p" = 53 ] && ops+=("{\"op\": \"replace\", \"path\": \"/spec/ports/$i/targetPort\", \"value\": $target}")
  i=$((i + 1))
done
if [ ${#ops[@]} -eq 1 ]; then
  echo "service $NAMESPACE/$SERVICE has no port 53 (ports: ${ports:-none})" >&2
  exit 1
fi
patch=$(IFS=,; echo "[${ops[*]}]")
kubectl -n "$NAMESPACE" patch service "$SERVICE" --type=json -p "$patch"

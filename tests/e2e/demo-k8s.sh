#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# `make demo-k8s`: lbd as the LoadBalancer provider of a (fake) Kubernetes
# cluster. The demo topology (tests/e2e/README.md) plus a fake kube-apiserver
# (tests/k8s/fakeapi) in lbd-lb that describes it: three Ready nodes with
# kube-proxy-style NodePort rules, and "pods" (the nodes' nginx on 8080).
#
# Starts lbd with config/demo-k8s.conf (no static frontend), creates a
# Service of type LoadBalancer with kubectl against the fake API server,
# waits for lbd to give it a VIP and write it into the Service's status,
# sends HTTP requests to that VIP from lbd-client, then shows kubectl's and
# lbctl's view. Everything is torn down on exit.
#
# Environment: LBD_BUILD (default <repo>/build), DEMO_REQUESTS (default 20),
# KUBECTL (default: kubectl on PATH, else the Python client of tests/k8s).

set -u
set -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD=${LBD_BUILD:-$REPO/build}
LBD=$BUILD/app/lbd/lbd
LBCTL=$BUILD/app/lbctl/lbctl
REQUESTS=${DEMO_REQUESTS:-20}
PY=/usr/bin/python3
KUBECTL=${KUBECTL:-$(command -v kubectl || true)}

TMP=
LBD_PID=
API_PID=
FAILED=0
CLEANED=0

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() {
	echo "demo-k8s: error: $*" >&2
	FAILED=1
	exit 1
}
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
stop_pid() {
	local pid=$1 i
	alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done
	alive "$pid" && kill -KILL "$pid"
	wait "$pid" 2>/dev/null
}

cleanup() {
	local rc=$?
	[ "$CLEANED" = 1 ] && return
	CLEANED=1
	trap - EXIT INT TERM HUP
	stop_pid "$LBD_PID"
	stop_pid "$API_PID"
	if { [ "$FAILED" = 1 ] || [ "$rc" != 0 ]; } && [ -n "$TMP" ]; then
		for f in lbd.log api/fakeapi.log; do
			[ -s "$TMP/$f" ] || continue
			echo "---- last lines of $f ----" >&2
			tail -n 25 "$TMP/$f" >&2
		done
	fi
	"$HERE/topo.sh" down >/dev/null 2>&1 || echo "demo-k8s: topo.sh down failed" >&2
	[ -n "$TMP" ] && rm -rf "$TMP"
	[ "$rc" = 0 ] && [ "$FAILED" = 1 ] && rc=1
	exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "demo-k8s: interrupted" >&2; FAILED=1; exit 130' INT TERM HUP

[ "$(id -u)" = 0 ] || fail "run as root (network namespaces); try: sudo make demo-k8s"
[ -x "$LBD" ] || fail "$LBD not built (make build)"
command -v curl >/dev/null || fail "curl missing (make deps)"

TMP=$(mktemp -d /tmp/lbd-demo-k8s.XXXXXX)
mkdir -p "$TMP/api"

say "building the topology (namespaces lbd-*)"
"$HERE/topo.sh" down >/dev/null 2>&1
"$HERE/topo.sh" up || fail "topology failed"
# Local-policy Services: the nodes route client-bound replies through lbd
for n in 1 2 3; do ip -n "lbd-node$n" route add 192.0.2.0/24 via 198.51.100.1 || fail "route"; done

say "starting the fake kube-apiserver in lbd-lb (tests/k8s/fakeapi)"
(cd "$REPO/tests/k8s" && exec ip netns exec lbd-lb $PY -m fakeapi serve --dir "$TMP/api" --port 0 \
	</dev/null >"$TMP/api/fakeapi.log" 2>&1) &
API_PID=$!
for i in $(seq 1 100); do
	[ -S "$TMP/api/control.sock" ] && [ -s "$TMP/api/server.json" ] && break
	alive "$API_PID" || fail "the fake API server exited"
	sleep 0.1
done
api() { (cd "$REPO/tests/k8s" && $PY -m fakeapi ctl --dir "$TMP/api" "$@"); }
# kubectl runs where the API server listens (its loopback is lbd-lb's)
kc() {
	if [ -n "$KUBECTL" ]; then
		ip netns exec lbd-lb "$KUBECTL" --kubeconfig "$TMP/api/kubeconfig" "$@"
	else
		echo "(no kubectl: $*)"
	fi
}
for n in 1 2 3; do
	api create "$(cd "$REPO/tests/k8s" && $PY -c "import json; from fakeapi import objects as O; print(json.dumps(O.node('node$n', '198.51.100.1$n')))")" >/dev/null ||
		fail "cannot create node$n"
done
kc get nodes -o wide

say "starting lbd in lbd-lb (config/demo-k8s.conf)"
sed -e "s#/run/lbd-e2e/fakeapi/kubeconfig#$TMP/api/kubeconfig#" -e "s#/run/lbd/demo-k8s.sock#$TMP/lbd.sock#" \
	"$REPO/config/demo-k8s.conf" >"$TMP/lbd.conf"
"$LBD" --check-config "$TMP/lbd.conf" || fail "lbd rejects the config"
ip netns exec lbd-lb "$LBD" -c "$TMP/lbd.conf" </dev/null >"$TMP/lbd.log" 2>&1 &
LBD_PID=$!
ctl() { "$BUILD/app/lbctl/lbctl" -s "$TMP/lbd.sock" "$@"; }
for i in $(seq 1 150); do
	alive "$LBD_PID" || fail "lbd exited during start-up"
	ctl status >/dev/null 2>&1 && break
	[ "$i" = 150 ] && fail "lbd did not answer within 30 s"
	sleep 0.2
done

say "kubectl apply: a Service of type LoadBalancer, class lbd.io/lbd, nodePort 30080"
cat >"$TMP/web.yaml" <<YAML
{"apiVersion": "v1", "kind": "Service",
 "metadata": {"name": "web", "namespace": "default"},
 "spec": {"type": "LoadBalancer", "loadBalancerClass": "lbd.io/lbd",
          "selector": {"app": "web"},
          "ports": [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080}]}}
YAML
if [ -n "$KUBECTL" ]; then
	kc apply -f "$TMP/web.yaml" || fail "kubectl apply failed"
else
	api create "$(cat "$TMP/web.yaml")" >/dev/null || fail "cannot create the Service"
fi

VIP=
for i in $(seq 1 100); do
	VIP=$(api get services web default | $PY -c '
import json, sys
s = json.load(sys.stdin) or {}
ing = ((s.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
print(ing[0]["ip"] if ing else "")')
	[ -n "$VIP" ] && break
	alive "$LBD_PID" || fail "lbd died"
	sleep 0.2
done
[ -n "$VIP" ] || fail "lbd did not write status.loadBalancer.ingress"
echo "lbd gave the Service $VIP and wrote it into its status:"
kc get service web -o wide
api get services web default | $PY -c 'import json,sys; s=json.load(sys.stdin); print("  status:", json.dumps(s["status"])); print("  finalizers:", s["metadata"].get("finalizers"))'

for i in $(seq 1 30); do
	ip netns exec lbd-client curl -s --max-time 1 -o /dev/null "http://$VIP/" && break
	alive "$LBD_PID" || fail "lbd died"
	[ "$i" = 30 ] && fail "the VIP does not answer"
	sleep 0.5
done

say "$REQUESTS HTTP requests from lbd-client to http://$VIP/"
declare -A COUNT=([node1]=0 [node2]=0 [node3]=0)
for i in $(seq 1 "$REQUESTS"); do
	out=$(ip netns exec lbd-client curl -sS --max-time 3 -w ' %{http_code}' "http://$VIP/") ||
		fail "request $i failed"
	read -r node code <<<"${out//$'\n'/ }"
	[ "$code" = 200 ] || fail "request $i: HTTP $code"
	COUNT[$node]=$(( ${COUNT[$node]:-0} + 1 ))
done
for n in node1 node2 node3; do echo "  $n served ${COUNT[$n]}"; done

say "lbctl services / frontends / targets"
ctl services
ctl frontends
ctl targets default/web:http
say "lbctl status"
ctl status

say "kubectl delete service web: lbd withdraws the frontend, releases $VIP and removes its finalizer"
if [ -n "$KUBECTL" ]; then kc delete service web --wait=false; else api delete services web default >/dev/null; fi
for i in $(seq 1 100); do
	gone=$(api get services web default)
	[ "$gone" = "null" ] && break
	sleep 0.2
done
[ "$gone" = "null" ] || fail "the Service is still there (finalizer not removed)"
ctl frontends
alive "$LBD_PID" || fail "lbd died"
say "done; tearing down"

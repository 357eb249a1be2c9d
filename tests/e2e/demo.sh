#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# `make demo`: lbd balancing real HTTP between three nginx "nodes", all in
# network namespaces on this machine (tests/e2e/README.md has the drawing).
#
# Builds the topology, starts lbd in lbd-lb with config/demo.conf, sends
# $DEMO_REQUESTS (40) requests with curl from lbd-client to the VIP, shows who
# served each one and how that compares with the weights, then lbctl's view.
# Everything is torn down on exit: success, failure, Ctrl-C, or lbd dying.
#
# Environment: LBD_BUILD (default <repo>/build), LBD_DEMO_CONF (default
# <repo>/config/demo.conf), DEMO_REQUESTS (default 40).

set -u
set -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD=${LBD_BUILD:-$REPO/build}
LBD=$BUILD/app/lbd/lbd
LBCTL=$BUILD/app/lbctl/lbctl
CONF=${LBD_DEMO_CONF:-$REPO/config/demo.conf}
REQUESTS=${DEMO_REQUESTS:-40}
PY=/usr/bin/python3
VIP=192.0.2.10

TMP=
LBD_PID=
FAILED=0
CLEANED=0

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() {
	echo "demo: error: $*" >&2
	FAILED=1
	exit 1
}

lbd_alive() { [ -n "$LBD_PID" ] && kill -0 "$LBD_PID" 2>/dev/null; }

cleanup() {
	local rc=$? i
	[ "$CLEANED" = 1 ] && return
	CLEANED=1
	trap - EXIT INT TERM HUP
	if [ -n "$LBD_PID" ]; then
		if lbd_alive; then
			kill -TERM "$LBD_PID" 2>/dev/null
			for i in $(seq 1 100); do lbd_alive || break; sleep 0.1; done
			lbd_alive && { echo "demo: lbd ignores SIGTERM, killing it" >&2; kill -KILL "$LBD_PID"; }
		fi
		wait "$LBD_PID" 2>/dev/null
	fi
	if [ "$FAILED" = 1 ] || [ "$rc" != 0 ]; then
		if [ -n "$TMP" ] && [ -s "$TMP/lbd.log" ]; then
			echo "---- last lines of lbd's log ----" >&2
			tail -n 30 "$TMP/lbd.log" >&2
			echo "---------------------------------" >&2
		fi
	fi
	"$HERE/topo.sh" down >/dev/null 2>&1 || echo "demo: topo.sh down failed" >&2
	[ -n "$TMP" ] && rm -rf "$TMP"
	[ "$rc" = 0 ] && [ "$FAILED" = 1 ] && rc=1
	exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted" >&2; FAILED=1; exit 130' INT TERM HUP

[ "$(id -u)" = 0 ] || fail "run as root (network namespaces); try: sudo make demo"
[ -x "$LBD" ] || fail "$LBD not built (make build)"
[ -x "$LBCTL" ] || fail "$LBCTL not built (make build)"
[ -r "$CONF" ] || fail "$CONF missing"
command -v curl >/dev/null || fail "curl missing (make deps)"

TMP=$(mktemp -d /tmp/lbd-demo.XXXXXX)
SOCK=$($PY "$HERE/lbdconf.py" socket "$CONF") || fail "cannot read lbd.socket from $CONF"

say "checking $CONF"
"$LBD" --check-config "$CONF" || fail "lbd rejects $CONF"

say "building the topology (namespaces lbd-*)"
# From a clean slate: this also stops whatever an interrupted run left behind.
"$HERE/topo.sh" down >/dev/null 2>&1
"$HERE/topo.sh" up || fail "topology failed"

say "starting lbd in lbd-lb"
ip netns exec lbd-lb "$LBD" -c "$CONF" </dev/null >"$TMP/lbd.log" 2>&1 &
LBD_PID=$!
echo "lbd pid $LBD_PID, log $TMP/lbd.log, socket $SOCK"
ctl() { "$LBCTL" -s "$SOCK" "$@"; }
for i in $(seq 1 150); do
	lbd_alive || fail "lbd exited during start-up"
	ctl status >/dev/null 2>&1 && break
	[ "$i" = 150 ] && fail "lbd did not answer on $SOCK within 30 s"
	sleep 0.2
done
ctl status

# The first request also makes the client resolve the VIP and lbd resolve
# the nodes; give that a few tries.
for i in $(seq 1 30); do
	ip netns exec lbd-client curl -s --max-time 1 -o /dev/null "http://$VIP/" && break
	lbd_alive || fail "lbd died"
	[ "$i" = 30 ] && fail "the VIP does not answer"
	sleep 0.5
done

say "$REQUESTS HTTP requests from lbd-client (192.0.2.2) to http://$VIP/"
declare -A COUNT=([node1]=0 [node2]=0 [node3]=0)
for i in $(seq 1 "$REQUESTS"); do
	lbd_alive || fail "lbd died"
	out=$(ip netns exec lbd-client curl -sS --max-time 3 \
		-w ' %{http_code} %{remote_ip}:%{remote_port} %header{x-client-addr}:%header{x-client-port}' \
		"http://$VIP/") || fail "request $i failed"
	read -r node code remote seen <<<"${out//$'\n'/ }"
	[ "$code" = 200 ] || fail "request $i: HTTP $code"
	printf '  %3d  %-6s  (answer from %s; %s saw the client as %s)\n' "$i" "$node" "$remote" "$node" "$seen"
	COUNT[$node]=$(( ${COUNT[$node]:-0} + 1 ))
done

say "summary"
ctl -o json targets web >"$TMP/targets.json" || fail "lbctl targets failed"
for node in node1 node2 node3; do echo "$node ${COUNT[$node]}"; done |
	$PY -c '
import json, sys
tg = json.load(open(sys.argv[1]))
tg = tg.get("result", tg)["targets"]
total_w = sum(t["weight"] for t in tg if not t.get("drained")) or 1
node_of = {"198.51.100.11": "node1", "198.51.100.12": "node2", "198.51.100.13": "node3"}
want = {node_of.get(t["address"], t["address"]): t["weight"] / total_w for t in tg}
n = int(sys.argv[2])
print("  node    served   share   expected (weight share)")
for line in sys.stdin:
    node, got = line.split()
    print("  %-6s  %6s  %5.1f %%  %5.1f %%" % (node, got, 100.0 * int(got) / n, 100.0 * want.get(node, 0)))
print("  (%d requests: expect the shares to wander a few points around the weights)" % n)
' "$TMP/targets.json" "$REQUESTS" || fail "summary failed"

say "lbctl stats"
ctl stats || fail "lbctl stats failed"
say "lbctl targets web"
ctl targets web || fail "lbctl targets failed"

lbd_alive || fail "lbd died"
say "done; tearing down"

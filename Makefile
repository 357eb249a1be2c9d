# SPDX-License-Identifier: BSD-3-Clause
# A thin layer over meson, in the spirit of VPP's top-level Makefile. Every
# target installs and builds what it needs first, so `make demo` and
# `make test` work on a fresh Debian 12 machine as root.

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
MESON      ?= meson
NINJA      ?= ninja
PYTHON     ?= /usr/bin/python3

# Debian 12 packages: build, run, test and demo.
DEB_PKGS := build-essential meson ninja-build pkg-config \
	dpdk dpdk-dev libdpdk-dev libconfig-dev libjson-c-dev libcurl4-openssl-dev libyaml-dev \
	libcmocka-dev libpcap-dev \
	python3-scapy python3-pytest python3-kubernetes openssl clang libclang-rt-14-dev \
	iproute2 iptables ethtool curl nginx-light procps kmod \
	libmicrohttpd-dev prometheus tmux man-db wrk

FUZZ_TARGETS := fuzz_pkt fuzz_dp fuzz_ctl fuzz_config
# Seconds per target in make fuzz-smoke (four targets: under 1.5 minutes).
FUZZ_SECONDS ?= 20

.PHONY: all deps build build-asan fuzz fuzz-smoke test test-unit test-pkt test-e2e test-k8s-fake \
	test-kapi test-k8s demo demo-k8s hugepages bench clean

all: build

# Installs missing packages only, so repeated runs are quick and offline-safe.
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing $$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root to install packages" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
		case " $$missing " in *" prometheus "*) \
			if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then \
				echo "make deps: stopping the Prometheus server Debian's package started (the tests run their own)"; \
				systemctl disable --now prometheus; \
			fi ;; \
		esac; \
	fi

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD)

$(BUILD_ASAN)/build.ninja:
	$(MESON) setup $(BUILD_ASAN) -Db_sanitize=address,undefined -Db_lundef=false

build: deps $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)

build-asan: deps $(BUILD_ASAN)/build.ninja
	$(NINJA) -C $(BUILD_ASAN)

# libFuzzer targets (tests/fuzz/README.md): clang, ASan + UBSan, every library
# instrumented; no DPDK needed.
$(BUILD_FUZZ)/build.ninja:
	CC=clang $(MESON) setup $(BUILD_FUZZ) -Ddpdk=disabled -Dfuzz=true \
		-Db_sanitize=address,undefined -Db_lundef=false

fuzz: deps $(BUILD_FUZZ)/build.ninja
	$(NINJA) -C $(BUILD_FUZZ) $(addprefix tests/fuzz/,$(FUZZ_TARGETS))

# Each target for FUZZ_SECONDS from the committed seeds; fails on any finding.
fuzz-smoke: fuzz
	tests/fuzz/smoke.sh $(BUILD_FUZZ) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Unit tests run under ASan + UBSan.
test-unit: build-asan
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 $(MESON) test -C $(BUILD_ASAN) --suite unit --print-errorlogs

# Packet tests (root): the ASan build of lbd on net_pcap files and on
# net_af_packet in network namespaces, crafted frames, every output field
# checked. Skips with the reason when not root or scapy is missing.
test-pkt: build-asan
	PYTHONDONTWRITEBYTECODE=1 LBD_BUILD=$(abspath $(BUILD_ASAN)) \
		$(PYTHON) -m pytest -p no:cacheprovider -v -rs --durations=15 tests/pkt

# End-to-end (root): network namespaces, real TCP clients and nginx "nodes",
# lbd in between on af_packet ports; issue 7's port reuse runs (wrk, about
# two minutes; their rates are printed). Skips with the reason when not root.
test-e2e: build
	PYTHONDONTWRITEBYTECODE=1 LBD_BUILD=$(abspath $(BUILD)) \
		$(PYTHON) -m pytest -p no:cacheprovider -v -rs tests/e2e/test_e2e.py tests/e2e/test_e2e_k8s.py \
		tests/e2e/test_port_reuse.py

# The fake Kubernetes API server checked on its own (no root, ~40 s): raw
# HTTP/1.1 over TLS, kubectl (every version found; Debian's kubernetes-client
# is installed when there is none) and python3-kubernetes.
test-k8s-fake: deps
	@command -v kubectl >/dev/null || [ "$$(id -u)" != 0 ] || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubernetes-client; }
	cd tests/k8s && PYTHONDONTWRITEBYTECODE=1 $(PYTHON) -m pytest -p no:cacheprovider -v -rs test_fakeapi.py

# lib/kapi (the Kubernetes API client) against the fake API server, through
# kapi_probe from the ASan build: list/watch, 410s, faults, tokens, TLS,
# requests (no root, ~20 s). tests/kapi/README.md.
test-kapi: build-asan
	PYTHONDONTWRITEBYTECODE=1 LBD_BUILD=$(abspath $(BUILD_ASAN)) \
		$(PYTHON) -m pytest -p no:cacheprovider -v -rs tests/kapi

# lbd against the fake API server (root: lbd runs on DPDK vdevs): the
# Service lifecycle, endpoints, nodes, ownership, Events, fail static,
# tokens, 409s with the ASan build; then scale and convergence (1,000
# Services x 20 endpoints, 1,000 changes) with the release build, whose
# figures it prints. tests/k8s/README.md.
test-k8s: build build-asan test-k8s-fake
	PYTHONDONTWRITEBYTECODE=1 LBD_BUILD=$(abspath $(BUILD_ASAN)) \
		$(PYTHON) -m pytest -p no:cacheprovider -v -rs tests/k8s/test_lbd_service.py \
		tests/k8s/test_lbd_faults.py
	PYTHONDONTWRITEBYTECODE=1 LBD_BUILD=$(abspath $(BUILD)) \
		$(PYTHON) -m pytest -p no:cacheprovider -v -rs -s tests/k8s/test_lbd_scale.py

# The same topology, 40 curl requests through the VIP, lbctl's view (root).
demo: build
	LBD_BUILD=$(abspath $(BUILD)) tests/e2e/demo.sh

# The same topology driven by a fake Kubernetes API: a Service created with
# kubectl gets a VIP and its status, and answers (root).
demo-k8s: build
	LBD_BUILD=$(abspath $(BUILD)) tests/e2e/demo-k8s.sh

test: test-unit fuzz-smoke test-kapi test-pkt test-k8s test-e2e

# Benchmarks (root; not part of make test): lbd against dpdk-testpmd io and
# 5tswap on the same cores and vdevs (net_pcap infinite_rx -> net_null), the
# testpmd-driven net_memif run, Maglev build and disruption, snapshot churn.
# Prints a table, then one JSON object per line (tests/bench/README.md).
# BENCH_QUICK=1: every part once, short windows (a few minutes); the full run
# takes about half an hour. On a shared machine hold the heavy lock:
#   flock /tmp/lbd-heavy.lock make bench
# linux-perf (for the profiles) is installed when missing, if possible.
bench: build
	@command -v perf >/dev/null || [ "$$(id -u)" != 0 ] || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends linux-perf || true; }
	BENCH_QUICK=$(BENCH_QUICK) LBD_BUILD=$(abspath $(BUILD)) $(PYTHON) tests/bench/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)

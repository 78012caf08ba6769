#!/usr/bin/env bash
# Installs every Debian 12 package Turnpike needs to build, run and test.
# Idempotent: packages already present are left alone, and apt is only asked
# when something is missing.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config ccache clang libclang-rt-14-dev
  clang-format clang-tidy
  # libraries
  libevent-dev libssl-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev
  nlohmann-json3-dev libidn-dev zlib1g-dev prometheus-cpp-dev libhiredis-dev
  # sd_notify for the systemd unit
  libsystemd-dev
  # the eBPF fast path: libbpf, and bpftool for its skeleton (clang is above)
  libbpf-dev bpftool
  # the call control plane: HTTP parsing, WebSocket framing, embedded store
  libhttp-parser-dev libwslay-dev libsqlite3-dev
  # push: HTTP/2 to APNs and FCM (nghttp2 frames on libevent's TLS bufferevents)
  libnghttp2-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev libsrtp2-dev
  # independent STUN/TURN clients for interop tests
  coturn stun-client python3-aioice golang-go golang-github-pion-turn.v2-dev openssl
  # network namespaces for tests of what crosses the host's own addresses;
  # ethtool sets veth checksum offload for the fast path tests
  iproute2 ethtool
  # independent HTTP/WebSocket clients for the call API tests
  python3-websockets python3-jwt python3-cryptography python3-aiohttp python3-yaml
  python3-jsonschema openapi-specification
  # local HTTP/2 fakes of APNs and FCM, and nghttp2's tools for the push benchmark
  python3-h2 nghttp2-server nghttp2-client curl
  # usage records reach a real Redis in the tests
  redis-server
  # the browser test: Debian's Chromium, driven from Node.js by playwright-core
  chromium nodejs
  # packaging: the .deb and its checks, promtool for the alert rules, yamllint
  # for the manifests, and mmdebstrap for the container's root filesystem
  debhelper fakeroot lintian prometheus yamllint mmdebstrap
  # podman builds and runs the image; runc, because podman's default crun
  # cannot start containers on hosts with hybrid cgroups (v1 plus v2)
  podman runc
)
# kubectl renders the Kustomize overlays; Debian's kubernetes-client only
# where no kubectl is installed (another one may own /usr/bin/kubectl).
if ! command -v kubectl >/dev/null 2>&1; then
  packages+=(kubernetes-client)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# playwright-core for the browser test, pinned by tests/browser/package-lock.json.
install_node_modules() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
  if [ ! -d "$dir/node_modules/playwright-core" ]; then
    echo "install-deps: npm ci in tests/browser"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  install_node_modules
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
# coturn's package would start its own turnserver on 3478 where an init system
# runs; policy-rc.d keeps package scripts from starting any service.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod +x "$policy"
  created_policy=1
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
if [ $created_policy -eq 1 ]; then $SUDO rm -f "$policy"; fi
install_node_modules

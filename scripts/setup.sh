#!/usr/bin/env bash
# Installs what tripline needs to build and test on Debian/Ubuntu:
# libpcap (capture, filter compilation), pkg-config, iproute2 (namespace
# tests), p0f (its fingerprint database, /etc/p0f/p0f.fp, for OS
# fingerprinting), graphviz (link graph layout) and the tools the tests compare against. Idempotent; quiet when all
# is already there.
set -euo pipefail

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in build-essential pkg-config libpcap-dev iproute2 tcpdump python3 p0f tshark python3-aiosmtpd openssl chromium chromium-driver nftables iptables ipset graphviz; do
  have_pkg "$p" || need+=("$p")
done

if [ "${#need[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

command -v cargo >/dev/null || { echo "setup: cargo not found; install Rust 1.95+ (rustup)" >&2; exit 1; }

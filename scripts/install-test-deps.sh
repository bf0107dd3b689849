#!/usr/bin/env bash
# Installs the system packages the test suite needs: Debian's Chromium for the Console
# tests, iptables for the sandbox's "outbound" network policy, tini as the init of each
# instance and wrk for the benchmark's quick mode. Runs apt-get only for what is missing.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v tini >/dev/null 2>&1 || missing+=(tini)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-deps: missing ${missing[*]}; run as root or install them with apt-get" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

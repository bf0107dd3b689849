#!/usr/bin/env bash
# Installs the system package `make run` needs: Debian's tini, the init of each instance.
# Without root or apt-get it only prints a hint; the server then warns and runs without it.
set -uo pipefail

command -v tini >/dev/null 2>&1 && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-run-deps: tini is missing; install it (apt-get install tini) so instances reap their orphans" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq --no-install-recommends tini >/dev/null \
    || echo "install-run-deps: installing tini failed; the server runs without it" >&2
exit 0

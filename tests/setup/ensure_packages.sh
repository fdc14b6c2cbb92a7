#!/bin/sh
# tests/setup/ensure_packages.sh: make sure `dig` (dnsutils) is installed; idempotent.
# Used by DNS tests (which skip with a message when this fails) and by hand before benches.
# Must never: install anything when the tool is already there.
set -e
command -v dig >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != "0" ]; then echo "ensure_packages: need root to install dnsutils" >&2; exit 1; fi
(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dnsutils) >/dev/null 2>&1 || {
  echo "ensure_packages: apt-get install dnsutils failed" >&2; exit 1; }
command -v dig >/dev/null 2>&1

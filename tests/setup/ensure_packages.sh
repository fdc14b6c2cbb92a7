#!/bin/sh
# tests/setup/ensure_packages.sh [tool...]: make sure the named tools are installed from Debian's
# packages; idempotent. Tools: dig (dnsutils, the default when no tool is named), victoria-metrics
# (victoria-metrics), dnsperf (dnsperf), python-consul (python3-consul: the `consul` module for Debian's /usr/bin/python3).
# Used by the DNS and discovery tests (which skip with a message when this fails) and by hand
# before benches.
# Must never: install anything when the tool is already there, or install a package not listed here.
set -e
[ "$#" -eq 0 ] && set -- dig
# have TOOL: whether the tool is already usable.
have() {
  case "$1" in
    python-consul) /usr/bin/python3 -c 'import consul' >/dev/null 2>&1 ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}
missing=""
for tool in "$@"; do
  case "$tool" in
    dig) pkg=dnsutils ;;
    victoria-metrics) pkg=victoria-metrics ;;
    dnsperf) pkg=dnsperf ;;
    python-consul) pkg=python3-consul ;;
    *) echo "ensure_packages: unknown tool $tool" >&2; exit 2 ;;
  esac
  have "$tool" || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != "0" ]; then echo "ensure_packages: need root to install$missing" >&2; exit 1; fi
# Try the package lists already on the machine first; refresh them only when that fails.
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
apt-get install -y -qq -o DPkg::Lock::Timeout=180 $missing >/dev/null 2>&1 || (apt-get update -qq -o DPkg::Lock::Timeout=180 && apt-get install -y -qq -o DPkg::Lock::Timeout=180 $missing) >/dev/null 2>&1 || {
  echo "ensure_packages: apt-get install$missing failed" >&2; exit 1; }
for tool in "$@"; do have "$tool" || { echo "ensure_packages: $tool still missing" >&2; exit 1; }; done

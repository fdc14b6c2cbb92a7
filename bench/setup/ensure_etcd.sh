#!/bin/sh
# bench/setup/ensure_etcd.sh: makes `etcd` and `etcdctl` available for `npm run bench -- raft`
# (the side-by-side etcd 3-member reference). Idempotent: does nothing when both are on PATH.
# Installs Debian's etcd-server and etcd-client packages (apt-get update once, then install).
# Must never: install anything else, or fail silently (exit 1 with a reason when etcd cannot be had).
set -u
if command -v etcd >/dev/null 2>&1 && command -v etcdctl >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_etcd: apt-get not found; install etcd (server + etcdctl) by hand" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "ensure_etcd: not root and no sudo; cannot install etcd" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null || { echo "ensure_etcd: apt-get update failed" >&2; exit 1; }
# --no-install-recommends and policy-rc.d: the package's service must not be started by apt.
POLICY=/usr/sbin/policy-rc.d
CREATED=0
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null && $SUDO chmod +x "$POLICY" && CREATED=1
fi
$SUDO apt-get install -y -q --no-install-recommends etcd-server etcd-client >/dev/null
RC=$?
if [ "$CREATED" = "1" ]; then $SUDO rm -f "$POLICY"; fi
if [ "$RC" != "0" ]; then
  echo "ensure_etcd: apt-get install etcd-server etcd-client failed (exit $RC)" >&2
  exit 1
fi
command -v etcd >/dev/null 2>&1 && command -v etcdctl >/dev/null 2>&1 || { echo "ensure_etcd: installed, but etcd/etcdctl not on PATH" >&2; exit 1; }
exit 0

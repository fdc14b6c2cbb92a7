#!/bin/sh
# tests/setup/ensure_mlpeer.sh [OUT]: make sure the mlpeer binary (a real HashiCorp memberlist 0.2.2 /
# serf 0.9.4 peer, built offline from Debian's golang packages by shared/interop/memberlist/build.sh)
# exists; idempotent. OUT defaults to <repo>/.cache/mlpeer/mlpeer (or $MLPEER_BIN when set).
# Prints the binary's path on stdout when it is ready; exits non-zero with one clear line on stderr
# when it cannot be built (the interop tests then skip with that message).
# Must never: install anything when the binary is already there, or install packages other than the
# Go toolchain and the memberlist/serf library packages build.sh needs.
set -e
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-${MLPEER_BIN:-$root/.cache/mlpeer/mlpeer}}"
if [ -x "$out" ]; then echo "$out"; exit 0; fi
build="${MLPEER_BUILD_SH:-$root/../shared/interop/memberlist/build.sh}"
[ -f "$build" ] || build="/work/shared/interop/memberlist/build.sh"
if [ ! -f "$build" ]; then echo "ensure_mlpeer: build.sh not found (looked next to the repo and in /work/shared)" >&2; exit 1; fi
pkgs="golang-go golang-github-hashicorp-memberlist-dev golang-github-hashicorp-serf-dev"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" != "0" ]; then echo "ensure_mlpeer: need root to install$missing" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086
  apt-get install -y -qq $missing >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq $missing) >/dev/null 2>&1 || {
    echo "ensure_mlpeer: apt-get install$missing failed (no package mirror?)" >&2; exit 1; }
fi
mkdir -p "$(dirname "$out")"
# Build to a temp name first so a concurrent or interrupted build never leaves a half-written binary.
tmp="$out.tmp.$$"
if ! bash "$build" "$tmp" >"$out.build.log" 2>&1; then
  rm -f "$tmp"
  echo "ensure_mlpeer: build.sh failed, see $out.build.log" >&2
  exit 1
fi
mv -f "$tmp" "$out"
echo "$out"

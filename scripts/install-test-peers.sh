#!/usr/bin/env bash
# Installs the real peers the tests run against (Debian packages): dump1090-mutability (a C
# Mode S decoder that speaks Beast/AVR/SBS) and chromium (for the web map's browser test).
# Without root or apt-get, it says so; the peer tests then fail with that reason.
set -u
pkgs=(dump1090-mutability chromium)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-peers: no apt-get here; install ${missing[*]} by hand" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "install-test-peers: not root; install ${missing[*]} by hand" >&2; exit 0
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null 2>&1 || true
# dump1090-mutability's post-install wants to start a service; policy-rc.d keeps it off.
if [ -d /usr/sbin ] && [ "$(id -u)" -eq 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || echo "install-test-peers: apt-get install ${missing[*]} failed" >&2
exit 0

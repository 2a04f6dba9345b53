#!/usr/bin/env bash
# Creates a Debian trixie root with GIMP 3.0 and its Python bindings, for the bridge's end-to-end
# test (Debian 12 only ships GIMP 2.10 without Python). Idempotent: an existing root is reused.
#   GIMP_ROOT=/path plugins/gimp-bridge/scripts/setup-gimp-chroot.sh   (default: <repo>/.cache/gimp-root)
# Needs root (mmdebstrap --mode=root, chroot). About a minute and ~500 MB on first run. Xvfb is
# included so the plug-in's dialog can be tested with GIMP's GUI, and Mesa's lavapipe (software
# Vulkan) with the Vulkan loader so the WebGPU backend runs for real on a CPU-only machine
# (test/webgpu/node-lavapipe; Debian 12's Mesa 22 is refused by Dawn).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
ROOT="${GIMP_ROOT:-$REPO/.cache/gimp-root}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

# Complete means GIMP 3 and its Python bindings are there (a root made by hand with the same
# mmdebstrap command counts too).
if [ -x "$ROOT/usr/bin/gimp-console-3.0" ] && [ -d "$ROOT/usr/lib/python3/dist-packages/gi" ]; then
  # Xvfb (GIMP's GUI for the dialog test) and lavapipe (WebGPU tests): older roots get them once.
  add=()
  [ -x "$ROOT/usr/bin/Xvfb" ] || add+=(xvfb xauth)
  [ -e "$ROOT/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so" ] && [ -e "$ROOT/usr/lib/x86_64-linux-gnu/libvulkan.so.1" ] || add+=(mesa-vulkan-drivers libvulkan1)
  if [ ${#add[@]} -gt 0 ]; then
    echo "Adding ${add[*]} to the GIMP 3 root at $ROOT"
    chroot "$ROOT" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive chroot "$ROOT" apt-get install -y -qq --no-install-recommends "${add[@]}" >/dev/null
    chroot "$ROOT" apt-get clean
    rm -rf "$ROOT"/var/lib/apt/lists/*
  fi
  echo "GIMP 3 root already present at $ROOT"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "setup-gimp-chroot.sh: must run as root (mmdebstrap --mode=root and chroot need it)" >&2
  exit 1
fi

# Never delete something we did not make: an incomplete, non-empty target is left to the user.
if [ -e "$ROOT" ] && [ -n "$(ls -A "$ROOT" 2>/dev/null)" ]; then
  echo "setup-gimp-chroot.sh: $ROOT exists but has no GIMP 3 in it; remove it or set GIMP_ROOT elsewhere" >&2
  exit 1
fi
rmdir "$ROOT" 2>/dev/null || true

if ! command -v mmdebstrap >/dev/null 2>&1; then
  echo "Installing mmdebstrap with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq mmdebstrap >/dev/null
fi
mkdir -p "$(dirname "$ROOT")"

# Built beside the target and renamed when complete, so an interrupted run leaves no half root.
TMP="$ROOT.tmp.$$"
trap 'rm -rf --one-file-system "$TMP"' EXIT
echo "Creating GIMP 3 root at $ROOT (Debian trixie, about a minute)"
mmdebstrap --variant=minbase --mode=root \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/gimp/3.0/help/*' \
  --include=gimp,python3-gi,gir1.2-gimp-3.0,xvfb,xauth,mesa-vulkan-drivers,libvulkan1 \
  trixie "$TMP" "$MIRROR"
mv "$TMP" "$ROOT"
trap - EXIT
echo "GIMP 3 root ready at $ROOT"

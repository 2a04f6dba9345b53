#!/usr/bin/env bash
# Creates a Debian trixie root with GIMP 3.0 and its Python bindings, for the bridge's end-to-end
# test (Debian 12 only ships GIMP 2.10 without Python). Idempotent: an existing root is reused.
#   GIMP_ROOT=/path scripts/setup-gimp-chroot.sh   (default: <repo>/.cache/gimp-root)
# Needs root (mmdebstrap --mode=root, chroot). About a minute and ~460 MB on first run.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="${GIMP_ROOT:-$REPO/.cache/gimp-root}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [ -x "$ROOT/usr/bin/gimp-console-3.0" ] && [ -f "$ROOT/.byteedit-complete" ]; then
  echo "GIMP 3 root already present at $ROOT"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "setup-gimp-chroot.sh: must run as root (mmdebstrap --mode=root and chroot need it)" >&2
  exit 1
fi

if ! command -v mmdebstrap >/dev/null 2>&1; then
  echo "Installing mmdebstrap with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq mmdebstrap >/dev/null
fi

# A half-made root (interrupted run) is removed and built again: mmdebstrap wants an empty target.
if [ -e "$ROOT" ]; then
  echo "Removing incomplete root at $ROOT"
  rm -rf --one-file-system "$ROOT"
fi
mkdir -p "$(dirname "$ROOT")"

TMP="$ROOT.tmp.$$"
trap 'rm -rf --one-file-system "$TMP"' EXIT
echo "Creating GIMP 3 root at $ROOT (Debian trixie, about a minute)"
mmdebstrap --variant=minbase --mode=root \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/gimp/3.0/help/*' \
  --include=gimp,python3-gi,gir1.2-gimp-3.0 \
  trixie "$TMP" "$MIRROR"
touch "$TMP/.byteedit-complete"
mv "$TMP" "$ROOT"
trap - EXIT
echo "GIMP 3 root ready at $ROOT"

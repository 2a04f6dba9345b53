#!/usr/bin/env bash
# Installs what the full test suite needs on a fresh Debian 12 machine (idempotent; needs root for
# apt). Called by `npm run test:full` and so by .ci/run. Nothing here is downloaded from outside the
# Debian archive and the npm registry.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: the training recipe's tiny CI run and the fixture generator (PyTorch, ONNX,
# numpy, Pillow, OpenCV for the fill baseline; OpenBLAS, since Debian's torch calls the system BLAS
# and the reference libblas3 makes its matrix products 3x slower), clip-art data and its rasterizer, mmdebstrap for
# the GIMP 3 chroot, Chromium for the browser tests (CORS from a real page, the Figma UI).
PACKAGES=(python3-torch libopenblas0-pthread python3-onnx python3-numpy python3-pil python3-opencv librsvg2-bin openclipart-svg mmdebstrap chromium)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# GIMP 3 (Debian trixie) in a chroot for the plug-in's end-to-end test; reused when present.
bash plugins/gimp-bridge/scripts/setup-gimp-chroot.sh
echo "setup: test dependencies ready" >&2

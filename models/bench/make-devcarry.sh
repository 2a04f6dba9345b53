#!/usr/bin/env bash
# Builds what models/bench/gpu-run.sh needs on a GPU host that has python3 + torch but no node/npm,
# within the device tool's 64 MiB working-tree carry (see docs/performance.md, "GPU rows"):
#
#   .devcarry/node.xz                     this machine's node binary, xz'd (~24 MB)
#   .devcarry/libonnxruntime.so.1.xz      onnxruntime-node's native library, xz'd (~13 MB)
#   .devcarry/node_modules/onnxruntime-node/{package.json,dist,bin/napi-v6/linux/x64/*.node}
#   .devcarry/node_modules/onnxruntime-common/{package.json,dist}   (used through NODE_PATH)
#   .gl/*.deb                             the Vulkan loader and GL vendor libraries (WebGPU via Vulkan)
#   core/dist/node                        the built core (bench.js, index.js)
#
# All three are ignored by git (.git/info/exclude). Run here, then from the session:
#   run(command="bash models/bench/gpu-run.sh", carry=[".devcarry", ".gl", "core/dist/node"], timeout_s=580)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
ORT=node_modules/onnxruntime-node
[ -d "$ORT" ] || { echo "make-devcarry: $ORT missing: run npm ci first" >&2; exit 1; }

exclude=$(git rev-parse --git-path info/exclude)
for p in /.devcarry/ /.gl/; do grep -qxF "$p" "$exclude" 2>/dev/null || echo "$p" >>"$exclude"; done

rm -rf .devcarry/node_modules
mkdir -p .devcarry/node_modules/onnxruntime-node/bin/napi-v6/linux/x64 .devcarry/node_modules/onnxruntime-common
# xz -9 of ~140 MB takes minutes on 2 busy cores: reuse archives newer than their sources.
pack() { [ "$2" -nt "$1" ] || { nice -n 19 xz -T2 -9 -c "$1" >"$2.tmp" && mv "$2.tmp" "$2"; }; }
pack "$(readlink -f "$(command -v node)")" .devcarry/node.xz
pack $ORT/bin/napi-v6/linux/x64/libonnxruntime.so.1 .devcarry/libonnxruntime.so.1.xz
cp -r $ORT/package.json $ORT/dist .devcarry/node_modules/onnxruntime-node/
cp $ORT/bin/napi-v6/linux/x64/onnxruntime_binding.node .devcarry/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/
COMMON=$ORT/node_modules/onnxruntime-common  # nested when versions differ, else hoisted
[ -d "$COMMON" ] || COMMON=node_modules/onnxruntime-common
cp -r "$COMMON/package.json" "$COMMON/dist" .devcarry/node_modules/onnxruntime-common/

# The Vulkan loader and the GLVND libraries NVIDIA's Vulkan ICD needs (amd64 packages from Debian).
if [ "$(ls .gl/*.deb 2>/dev/null | wc -l)" -lt 7 ]; then
  mkdir -p .gl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  # shellcheck disable=SC2086
  apt-get $o update -qq
  # shellcheck disable=SC2086
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi

nice -n 19 node core/build.mjs

tree=$( (git ls-files -z; git ls-files -z -o --exclude-standard) | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
carry=$(du -cb .devcarry .gl core/dist/node | tail -1 | cut -f1)
echo "make-devcarry: working tree $((tree / 1048576)) MiB + carry $((carry / 1048576)) MiB (limit 64 MiB)"
[ $((tree + carry)) -lt $((64 * 1048576)) ] || { echo "make-devcarry: over the 64 MiB carry limit" >&2; exit 1; }
echo "make-devcarry: ready in $ROOT/.devcarry, .gl, core/dist/node"

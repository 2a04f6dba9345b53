#!/usr/bin/env bash
# The GPU rows of docs/performance.md (issue #10), in one run on a lent GPU host:
#   run(command="bash models/bench/gpu-run.sh", carry=[".devcarry", ".gl", "core/dist/node"], timeout_s=580)
# after `bash models/bench/make-devcarry.sh` here. The host has python3 with torch 2.x, onnx and
# onnxruntime (python), an NVIDIA driver, and no node: node and onnxruntime-node come from
# .devcarry (NODE_PATH), the Vulkan loader from .gl.
#
# Phases, most important first, each skipped when the time budget (BUDGET_S, default 450 s) is
# spent; results are merged into $OUT/gpu-rows.json after every phase, so a cut-off run still
# returns what it measured:
#   1. the SD-1.5-shaped pack, fp32 + fp16 from one export (make_sd15_pack.py), state dict, reference
#   2. PyTorch eager fp16 reference, 512² and 1024² model resolution (torch_reference.py)
#   3. core bench, WebGPU fp16: 512² (pack native 512) and 1024² (same files, native 1024)
#   4. core bench, WebGPU fp16, 4 steps at 512² (the issue's end-to-end goal)
#   5. ONNX on WebGPU vs PyTorch, one call of each component, fp32 and fp16 packs
#   6. core bench, WebGPU fp32 512²; PyTorch fp32 512²
#   7. core bench --device cuda (onnxruntime-node's CUDA provider libraries are not carried: this
#      records the core's message), then the CPU provider baseline (fp32 512², 1 warm run)
# Env: OUT (results), WORK (scratch, default /tmp/be-gpu), STEPS (8), RUNS (3), BUDGET_S (450).
# SMOKE=1 checks the script itself on a machine without a GPU: the --width-div 8 pack at 128²/256²,
# the CPU provider in place of WebGPU, torch on the CPU, no .deb unpacking.
set -uo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
OUT=${OUT:-/tmp/be-gpu-out}
WORK=${WORK:-/tmp/be-gpu}
STEPS=${STEPS:-8}
RUNS=${RUNS:-3}
BUDGET_S=${BUDGET_S:-450}
SMOKE=${SMOKE:-0}
if [ "$SMOKE" = 1 ]; then
  S1=128 S2=256 DEV=cpu TORCH="--device cpu" HALF=fp32 GEN_EXTRA="--width-div 8" PY=${PY:-/usr/bin/python3} SCALE=${SCALE:-6}
else
  S1=512 S2=1024 DEV=webgpu TORCH="--device cuda" HALF=fp16 GEN_EXTRA="" PY=${PY:-python3}
fi
mkdir -p "$OUT" "$WORK/json"
exec > >(tee -a "$OUT/log.txt") 2>&1
export PYTHONUNBUFFERED=1
T0=$(date +%s)
elapsed() { echo $(($(date +%s) - T0)); }
left() { echo $((BUDGET_S - $(elapsed))); }
# phase NAME MAX_S CMD...: runs CMD under `timeout min(MAX_S, time left)`, or skips it.
phase() {
  local name=$1 max=$(($2 * ${SCALE:-1}))
  shift 2
  local t
  t=$(left)
  [ "$t" -gt "$max" ] && t=$max
  if [ "$t" -lt 15 ]; then
    echo "== [$(elapsed) s] SKIP $name (budget spent)"
    echo "{\"phase\":\"$name\",\"status\":\"skipped\"}" >>"$WORK/json/phases.jsonl"
    return 1
  fi
  echo "== [$(elapsed) s] $name (limit ${t} s)"
  local s rc
  s=$(date +%s)
  timeout -k 5 "$t" "$@"
  rc=$?
  echo "{\"phase\":\"$name\",\"rc\":$rc,\"seconds\":$(($(date +%s) - s))}" >>"$WORK/json/phases.jsonl"
  merge
  return $rc
}
merge() {
  python3 - "$WORK/json" "$OUT/gpu-rows.json" <<'PY'
import glob, json, os, sys
src, dst = sys.argv[1], sys.argv[2]
out = {"rows": [], "checks": [], "runs": {}, "phases": []}
for f in sorted(glob.glob(os.path.join(src, "*.json"))):
    try:
        d = json.load(open(f))
    except Exception as e:
        out["runs"][os.path.basename(f)] = {"error": str(e)}
        continue
    name = os.path.basename(f)[:-5]
    if "machine" in d:
        out["runs"][name] = d["machine"]
    for r in d.get("rows", []):
        r["run"] = name
        (out["checks"] if "component" in r else out["rows"]).append(r)
    if name == "env":
        out["env"] = d
p = os.path.join(src, "phases.jsonl")
if os.path.exists(p):
    out["phases"] = [json.loads(l) for l in open(p) if l.strip()]
json.dump(out, open(dst, "w"), indent=1)
PY
}

echo "== [0 s] setup: GL/Vulkan loader, node, onnxruntime-node"
if [ "$SMOKE" != 1 ]; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
ORT_BIN=.devcarry/node_modules/onnxruntime-node/bin/napi-v6/linux/x64
[ -f "$ORT_BIN/libonnxruntime.so.1" ] || xz -dc .devcarry/libonnxruntime.so.1.xz >"$ORT_BIN/libonnxruntime.so.1"
[ -x "$WORK/node" ] || { xz -dc .devcarry/node.xz >"$WORK/node" && chmod +x "$WORK/node"; }
export NODE_PATH=$REPO/.devcarry/node_modules
NODE=$WORK/node
{
  echo "{\"gpu\": \"$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1)\","
  echo " \"cpu\": \"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)\", \"cores\": $(nproc),"
  echo " \"node\": \"$($NODE --version)\", \"python\": \"$(python3 --version 2>&1)\","
  echo " \"torch\": \"$("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null)\","
  echo " \"ort_backends\": \"$($NODE -e "console.log(require('onnxruntime-node/dist/binding.js').binding.listSupportedBackends().map(b => b.name + (b.bundled ? '' : ' (not bundled)')).join(', '))" 2>&1 | tr -d '"')\"}"
} >"$WORK/json/env.json"
cat "$WORK/json/env.json"
ls /usr/lib/x86_64-linux-gnu/libvulkan.so.1 >/dev/null || echo "setup: no Vulkan loader: the WebGPU rows will fail"

P32=$WORK/sd15
P16=$WORK/sd15-fp16
# 1. The packs: one export, fp32 + fp16 copies, the state dict for the torch reference, and the
#    PyTorch outputs at 256² for the ONNX check.
# shellcheck disable=SC2086
phase generate 240 "$PY" models/tools/make_sd15_pack.py $GEN_EXTRA --out "$P32" --fp16-out "$P16" --seed 0 \
  --save-state "$WORK/sd15.pt" --reference "$WORK/ref" --reference-size 256 || { echo "generation failed"; exit 1; }
# The same ONNX files with resolution.native 1024: the plan then runs the models at 1024².
for p in "$P32" "$P16"; do
  mkdir -p "$p-1024"
  for c in tokenizer text_encoder unet vae_encoder vae_decoder; do ln -sfn "$p/$c" "$p-1024/$c"; done
  python3 -c "import json,sys; m=json.load(open(sys.argv[1])); m['resolution']['native']=int(sys.argv[3]); m['name']+='-'+sys.argv[3]; json.dump(m,open(sys.argv[2],'w'),indent=2)" "$p/pack.json" "$p-1024/pack.json" "$S2"
done

# The core bench's arguments for one row (timeout runs programs, not shell functions).
bench_args() { # NAME PACK DEVICE SIZE STEPS RUNS UNET_RUNS
  echo "core/dist/node/bench.js --pack $2 --device $3 --size $4 --steps $5 --runs $6 --unet-runs $7 --fill-runs 0 --json $WORK/json/$1.json"
}
# 2. PyTorch eager fp16 (the reference the issue's goals are measured against).
# shellcheck disable=SC2086
phase torch-fp16 90 "$PY" models/bench/torch_reference.py $TORCH $GEN_EXTRA --state "$WORK/sd15.pt" --dtype "$HALF" --size "$S1" --size "$S2" \
  --steps "$STEPS" --runs "$RUNS" --unet-runs 20 --hash --json "$WORK/json/torch-fp16.json"
# 3-4. The core on WebGPU, fp16.
# shellcheck disable=SC2046
phase webgpu-fp16-512 90 "$NODE" $(bench_args webgpu-fp16-512 "$P16" "$DEV" "$S1" "$STEPS" "$RUNS" 20)
# shellcheck disable=SC2046
phase webgpu-fp16-1024 120 "$NODE" $(bench_args webgpu-fp16-1024 "$P16-1024" "$DEV" "$S2" "$STEPS" "$RUNS" 10)
# shellcheck disable=SC2046
phase webgpu-fp16-512-4steps 60 "$NODE" $(bench_args webgpu-fp16-512-4steps "$P16" "$DEV" "$S1" 4 "$RUNS" 5)
# 5. Numerics on the GPU: one call of each component, ONNX on WebGPU vs PyTorch (fp32 modules).
phase check-fp16 60 "$NODE" models/bench/check_reference.mjs --pack "$P16" --reference "$WORK/ref" --device "$DEV" --json "$WORK/json/check-fp16.json"
phase check-fp32 60 "$NODE" models/bench/check_reference.mjs --pack "$P32" --reference "$WORK/ref" --device "$DEV" --tolerance 1e-2 --json "$WORK/json/check-fp32.json"
# 6. fp32 on both sides.
# shellcheck disable=SC2046
phase webgpu-fp32-512 90 "$NODE" $(bench_args webgpu-fp32-512 "$P32" "$DEV" "$S1" "$STEPS" "$RUNS" 10)
# shellcheck disable=SC2086
phase torch-fp32 60 "$PY" models/bench/torch_reference.py $TORCH $GEN_EXTRA --state "$WORK/sd15.pt" --dtype fp32 --size "$S1" \
  --steps "$STEPS" --runs "$RUNS" --unet-runs 10 --json "$WORK/json/torch-fp32.json"
# 7. CUDA (expected to report its missing provider libraries), then the CPU baseline.
# shellcheck disable=SC2046
phase cuda-512 30 "$NODE" $(bench_args cuda-fp16-512 "$P16" cuda "$S1" "$STEPS" 1 2)
# shellcheck disable=SC2046
phase cpu-fp32-512 150 "$NODE" $(bench_args cpu-fp32-512 "$P32" cpu "$S1" "$STEPS" 1 2)
merge
echo "== [$(elapsed) s] done: $OUT/gpu-rows.json"
python3 - "$OUT/gpu-rows.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for r in d["rows"]:
    print(f"{r['run']:>24} {r['device']:>12} {r['size']:>5}² {r['steps']} steps: cold {r['coldMs']:.0f} ms, warm {r['warmMs']:.1f} ms, "
          f"step {r['stepMs']:.2f} ms, UNet {r['unetCallMs']:.2f} ms ({r['unetInput']}), RSS {r['peakRssMb']:.0f} MB"
          + (f", GPU {r['peakGpuMb']:.0f} MB" if r.get("peakGpuMb") else ""))
for c in d["checks"]:
    print(f"check {c['run']}: {c['component']}.{c['output']} on {c['device']}: rel err {c['relErr']:.2e}, corr {c['corr']:.6f}, ok {c['ok']}")
PY

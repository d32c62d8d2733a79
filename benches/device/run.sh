#!/usr/bin/env bash
# On a machine lent through the workplace's `device` tool (after benches/device/prepare.sh
# here): which adapter wgpu finds and what it offers (`ddpm info`), the GPU-against-f64 check matrix (`ddpm check`), the loop
# and noise tests, `ddpm bench` as a table and as JSON, and the UNet's conv variants with
# the tuner's choices (`--variants`), f16 storage and naga's runtime checks. On the lent machine it fails unless the adapter is the
# NVIDIA GPU. Everything it prints is also
# written to $OUT/device.txt, the JSON to $OUT/bench.json. Run locally (no nvidia-smi) it
# skips the loader set-up and uses whatever adapter this machine has; DDPM_DEVICE_QUICK=1
# makes the bench `--quick` for such dry runs.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-/tmp/ddpm-device}"
mkdir -p "$OUT"

if command -v nvidia-smi >/dev/null 2>&1; then
  for deb in .gl/*.deb; do dpkg -x "$deb" /; done
  ldconfig
  nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -f "$nvidia_icd" ] && [ -z "${VK_DRIVER_FILES:-}" ]; then
    export VK_DRIVER_FILES="$nvidia_icd"
    export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  fi
fi
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"
export DDPM_REQUIRE_GPU=1 DDPM_EXPECT_BACKEND="$WGPU_BACKEND" XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
quick=()
[ -n "${DDPM_DEVICE_QUICK:-}" ] && quick=(--quick)

exec > >(tee "$OUT/device.txt") 2>&1
failed=0
step() {
  echo "== $*"
  "$@" || { echo "FAILED ($?): $*"; failed=1; }
}
date -u
if command -v nvidia-smi >/dev/null 2>&1; then nvidia-smi -L; fi
step .device/ddpm info
# On the lent machine the figures must come from the NVIDIA adapter, never from a software
# one that wgpu fell back to.
if command -v nvidia-smi >/dev/null 2>&1; then
  adapter=$(.device/ddpm info 2>/dev/null | grep -i '^adapter')
  echo "$adapter"
  if ! echo "$adapter" | grep -qi nvidia || echo "$adapter" | grep -qi llvmpipe; then
    echo "FAILED: the adapter is not the NVIDIA GPU: $adapter"
    failed=1
  fi
fi
step .device/ddpm check
for test in .device/tests/*; do
  step "$test"
done
step .device/ddpm bench "${quick[@]}"
# The UNet: google/ddpm-cifar10-32's architecture (synthetic weights) at batch 1, 16 and 64, a
# 50-step DDIM and a 100-step respaced DDPM loop; then the embedded digits model at 1 and 256.
step .device/ddpm bench --model synthetic:cifar10 --batch 1 --batch 16 --batch 64
echo "== .device/ddpm bench --model synthetic:cifar10 --json > $OUT/unet.json"
.device/ddpm bench --model synthetic:cifar10 --batch 16 --json > "$OUT/unet.json" || { echo "FAILED: unet --json"; failed=1; }
# f16 storage against the f32 rows above (issue 23: f16 at least 1.6x f32), then every kernel
# with naga's runtime checks kept (DDPM_SHADER_CHECKS=all) against the audited kernels without
# them (the default, the rows above), both at B = 64, forward only.
step .device/ddpm bench --model synthetic:cifar10 --batch 64 --precision f16 --ddim-steps 0 \
  --ddpm-steps 0 --dpm-steps 0 --unipc-steps 0
step env DDPM_SHADER_CHECKS=all .device/ddpm bench --model synthetic:cifar10 --batch 64 \
  --ddim-steps 0 --ddpm-steps 0 --dpm-steps 0 --unipc-steps 0
# Each sampler at the model evaluations benches/samplers.md picked (--loop picked).
step .device/ddpm bench --model embedded:digits --batch 1 --batch 256 --loop picked
# Classifier-free guidance: each forward and DPM-Solver++ 2M loop row unguided then guided at
# w = 2 (issue 22's bound: a guided step at most 2.1x an unguided one).
step .device/ddpm bench --model embedded:digits-cond --batch 16 --batch 256 --ddim-steps 0 \
  --ddpm-steps 0 --unipc-steps 0 --guidance-scale 2
# The conv variants per layer shape (issue 23): each one's time and GFLOP/s, the tuner's
# choice (every variant timed: --tune full), and the tuned forward against the fixed rule's.
step .device/ddpm bench --model synthetic:cifar10 --batch 1 --batch 64 --tune full --variants \
  --ddim-steps 0 --ddpm-steps 0 --dpm-steps 0 --unipc-steps 0
echo "== .device/ddpm bench --model synthetic:cifar10 --variants --json > $OUT/variants.json"
.device/ddpm bench --model synthetic:cifar10 --batch 64 --variants --json --ddim-steps 0 \
  --ddpm-steps 0 --dpm-steps 0 --unipc-steps 0 > "$OUT/variants.json" ||
  { echo "FAILED: variants --json"; failed=1; }
step .device/ddpm bench --model embedded:digits --batch 1 --batch 16 --variants \
  --ddim-steps 0 --ddpm-steps 0 --dpm-steps 0 --unipc-steps 0
# The attention's two paths at B = 64, each forced (the one-pass kernel is the GPUs' default).
for path in attention_scores attention_flash; do
  echo "== DDPM_KERNEL=$path"
  step env DDPM_KERNEL=$path .device/ddpm bench --model synthetic:cifar10 --batch 64 --profile \
    --ddim-steps 0 --ddpm-steps 0 --dpm-steps 0 --unipc-steps 0
done
# DDIM-50 samples/s at B = 256 with the tuner's kernels.
step .device/ddpm bench --model synthetic:cifar10 --batch 256 --ddpm-steps 0 --dpm-steps 0 \
  --unipc-steps 0
step .device/ddpm sample --count 64 --out "$OUT/digits.png"
step .device/ddpm sample --class 0,1,2,3,4,5,6,7,8,9 --count 40 --out "$OUT/classes.png"
echo "== .device/ddpm bench --json > $OUT/bench.json"
.device/ddpm bench --json "${quick[@]}" > "$OUT/bench.json" || { echo "FAILED: bench --json"; failed=1; }
date -u
exit "$failed"

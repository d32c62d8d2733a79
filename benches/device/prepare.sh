#!/usr/bin/env bash
# Packs what benches/device/run.sh needs on a machine lent through the workplace's `device`
# tool, which has an NVIDIA GPU but no Rust toolchain, no Vulkan loader and no network: the
# release `ddpm` binary and the loop, sampler and noise test binaries (stripped, into .device/), and
# the Vulkan/EGL loader packages (into .gl/). Both folders are ignored through
# .git/info/exclude, so they travel only when a run names them in `carry`. Then, in one call:
#   run(command="bash benches/device/run.sh", carry=[".device", ".gl"], timeout_s=480)
# Everything that travels must stay under the tool's 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/../.."

mkdir -p .git/info
for dir in /.device/ /.gl/; do
  grep -qxF "$dir" .git/info/exclude 2>/dev/null || echo "$dir" >> .git/info/exclude
done

rm -rf .device && mkdir -p .device/tests
cargo build --release --bin ddpm
cp target/release/ddpm .device/
# Test binaries that need no file of the checkout at run time (the paths compiled into the
# others point at this machine's checkout).
for test in sample_loop samplers fused_steps ddim_step gaussian_denoiser noise philox_bits; do
  exe=$(cargo test --release --test "$test" --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("profile", {}).get("test") and m.get("executable"):
        print(m["executable"])')
  cp "$exe" ".device/tests/$test"
done
strip .device/ddpm .device/tests/*

# The loaders, as the device tool's README gives them (the driver itself is on the machine).
rm -rf .gl && mkdir -p .gl /tmp/amd64/partial
apt=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
apt-get "${apt[@]}" update -qq
(cd .gl && apt-get "${apt[@]}" download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)

du -sh .device .gl

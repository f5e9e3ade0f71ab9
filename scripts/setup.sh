#!/usr/bin/env bash
# Installs what the tests and the benchmark need on a fresh Debian machine: Chromium (its
# SwiftShader Vulkan driver gives WebGPU without a GPU; puppeteer-core drives it), the Vulkan
# loader for Dawn in Node, and the npm dependencies. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
[ -x /usr/lib/chromium/chromium ] || need+=(chromium)
ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1' || need+=(libvulkan1)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${need[*]}; run: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # The onnxruntime-node baseline downloads nothing at install time (package.json allowScripts says so too).
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
fi
npm run build >/dev/null

#!/usr/bin/env bash
# Installs what the tests and the benchmark need on a fresh Debian machine: Chromium (its
# SwiftShader Vulkan driver gives WebGPU without a GPU; puppeteer-core drives it), the Vulkan
# loader for Dawn in Node, Mesa's lavapipe (the second software adapter), and the npm dependencies.
# Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
[ -x /usr/lib/chromium/chromium ] || need+=(chromium)
# grep reads all of ldconfig's output: with -q it may exit first, and pipefail would count the SIGPIPE.
ldconfig -p 2>/dev/null | grep 'libvulkan.so.1' >/dev/null || need+=(libvulkan1)
# The second software adapter of the GPU tests: Mesa's lavapipe (≥ 24: subgroups, shader-f16), from
# bookworm-backports on Debian 12 (a later Debian has it in main).
lvp=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
need_lvp=false
if [ ! -f /usr/share/vulkan/icd.d/lvp_icd.json ] || [ -z "$lvp" ] || dpkg --compare-versions "$lvp" lt 24; then need_lvp=true; fi
codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
if $need_lvp; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: Mesa's lavapipe (mesa-vulkan-drivers >= 24) is missing; as root run:" >&2
    [ "$codename" = bookworm ] && echo "  echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list" >&2
    echo "  apt-get update && apt-get install -y ${codename:+-t $codename-backports} mesa-vulkan-drivers" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  target=()
  if [ "$codename" = bookworm ]; then
    grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ ||
      echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list
    target=(-t bookworm-backports)
  fi
  echo "setup: installing mesa-vulkan-drivers ${target[*]} (lavapipe)"
  apt-get update -qq
  apt-get install -y -qq "${target[@]}" mesa-vulkan-drivers >/dev/null
fi
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

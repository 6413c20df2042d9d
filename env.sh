# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
#
# Source this file (after `make setup`) for a shell where `pushgrasp ...` and the ROS 2 nodes work:
#     source env.sh
# It keeps all ROS 2 traffic on this machine (discovery on loopback only).
# shellcheck shell=bash

PUSHGRASP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PUSHGRASP_ROOT

# ROS 2 traffic never leaves this machine: Jazzy and later read the first, Humble the second.
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
export ROS_LOCALHOST_ONLY=1
# Offscreen rendering for the simulator's camera (no display on these machines).
export MUJOCO_GL="${MUJOCO_GL:-osmesa}"
export PYOPENGL_PLATFORM="${PYOPENGL_PLATFORM:-osmesa}"

if [ ! -x "$PUSHGRASP_ROOT/.venv/bin/python" ]; then
  echo "env.sh: .venv/ is missing; run 'make setup' first" >&2
  return 1 2>/dev/null || exit 1
fi

_pushgrasp_ros=$(cat "$PUSHGRASP_ROOT/.venv/.pushgrasp-ros" 2>/dev/null || echo wheels)
_pushgrasp_nounset=0
case $- in *u*) _pushgrasp_nounset=1; set +u ;; esac   # ROS setup scripts read unset variables
if [ "$_pushgrasp_ros" != "wheels" ]; then
  # shellcheck disable=SC1090,SC1091
  source "$_pushgrasp_ros/setup.bash"
fi
# shellcheck disable=SC1091
source "$PUSHGRASP_ROOT/.venv/bin/activate"
if [ "$_pushgrasp_ros" = "wheels" ]; then
  case ":${AMENT_PREFIX_PATH:-}:" in *":$VIRTUAL_ENV:"*) ;; *)
    export AMENT_PREFIX_PATH="$VIRTUAL_ENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}" ;; esac
  case ":${CMAKE_PREFIX_PATH:-}:" in *":$VIRTUAL_ENV:"*) ;; *)
    export CMAKE_PREFIX_PATH="$VIRTUAL_ENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}" ;; esac
fi
if [ "${1:-}" != "--no-workspace" ] && [ -f "$PUSHGRASP_ROOT/install/local_setup.bash" ]; then
  # shellcheck disable=SC1091
  source "$PUSHGRASP_ROOT/install/local_setup.bash"
  case ":$PATH:" in *":$PUSHGRASP_ROOT/install/pushgrasp/lib/pushgrasp:"*) ;; *)
    export PATH="$PUSHGRASP_ROOT/install/pushgrasp/lib/pushgrasp:$PATH" ;; esac
fi
[ "$_pushgrasp_nounset" = 1 ] && set -u
unset _pushgrasp_ros _pushgrasp_nounset

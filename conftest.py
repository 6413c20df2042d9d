# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Test-wide set-up: ROS 2 traffic stays on this machine, and each test run gets its own DDS domain."""

import os

# Set before any test imports rclpy: discovery on loopback only (Jazzy+ and Humble), and a domain id of
# this run's own so that concurrent runs on one machine do not hear each other.
os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
os.environ['ROS_LOCALHOST_ONLY'] = '1'
os.environ['ROS_DOMAIN_ID'] = str(1 + os.getpid() % 100)
os.environ.setdefault('MUJOCO_GL', 'osmesa')
os.environ.setdefault('PYOPENGL_PLATFORM', 'osmesa')

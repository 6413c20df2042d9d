# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Test-wide set-up: ROS 2 traffic stays on this machine, each test run gets its own DDS domain; the `ros` fixture."""

import os
import signal
import subprocess

import pytest

# Set before any test imports rclpy: discovery on loopback only (Jazzy+ and Humble), and a domain id of
# this run's own so that concurrent runs on one machine do not hear each other.
os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
os.environ['ROS_LOCALHOST_ONLY'] = '1'
os.environ['ROS_DOMAIN_ID'] = str(1 + os.getpid() % 100)
os.environ.setdefault('MUJOCO_GL', 'osmesa')
os.environ.setdefault('PYOPENGL_PLATFORM', 'osmesa')


@pytest.fixture
def ros():
    """Initialise rclpy's default context for one test and shut it down afterwards (in-process nodes)."""
    import rclpy  # only the tests that use it need ROS
    rclpy.init()
    try:
        yield
    finally:
        rclpy.shutdown()


@pytest.fixture
def stop_process_group():
    """Return stop(process): Ctrl-C to a launched graph's process group, SIGKILL if it is not gone in 30 s.

    Returns what the process wrote to a stdout pipe (None without one).
    """
    def stop(process: subprocess.Popen, timeout: float = 30.0):
        os.killpg(process.pid, signal.SIGINT)
        try:
            return process.communicate(timeout=timeout)[0]
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            return process.communicate()[0]
    return stop

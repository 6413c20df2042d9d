# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures of the pushgrasp_perception tests: an analytic RGB-D scene and private rclpy contexts.

The scene comes from `pushgrasp_perception.synthetic_rgbd` (the benchmark renders the same frames).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import pytest

from pushgrasp_perception.synthetic_rgbd import BoxScene, look_at, render_box_scene


@pytest.fixture
def box_scene() -> BoxScene:
    """The default oblique view of a 0.05 x 0.08 x 0.06 m box whose edges sit just inside cell borders."""
    return render_box_scene()


@pytest.fixture
def rgbd() -> SimpleNamespace:
    """The scene helpers for test modules (which cannot import conftest under --import-mode=importlib)."""
    return SimpleNamespace(render=render_box_scene, look_at=look_at)


class RosHarness:
    """Nodes in a private rclpy context, spun by one executor from the test thread, in a fresh namespace."""

    def __init__(self) -> None:
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor

        self.context = Context()
        rclpy.init(context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.namespace = f'/pushgrasp_perception_test_{uuid.uuid4().hex[:8]}'
        self.nodes: list = []

    def add(self, node):
        """Spin `node` with the others; returns it."""
        self.executor.add_node(node)
        self.nodes.append(node)
        return node

    def spin_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Spin until `condition()` holds or `timeout` seconds passed; the final value of the condition."""
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.02)
        return condition()

    def close(self) -> None:
        """Destroy the nodes and shut the context down."""
        self.executor.shutdown()
        for node in self.nodes:
            node.destroy_node()
        self.context.try_shutdown()


@pytest.fixture
def ros() -> Iterator[RosHarness]:
    """A RosHarness, closed after the test."""
    harness = RosHarness()
    try:
        yield harness
    finally:
        harness.close()

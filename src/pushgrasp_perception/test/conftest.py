# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures of the pushgrasp_perception tests: an analytic RGB-D scene and private rclpy contexts."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pytest

# Keep the DDS tests off other people's traffic (the repo-level conftest may already have chosen a domain).

TABLE_COLOR = (200, 200, 200)
TOP_COLOR = (255, 87, 89)
SIDE_COLOR = (78, 121, 167)


@dataclass
class BoxScene:
    """An RGB-D frame of one box on a table (z = 0), rendered by ray casting, and its ground truth."""

    color: np.ndarray
    depth: np.ndarray
    intrinsics: np.ndarray
    camera_pose: np.ndarray
    center: tuple[float, float]
    size: tuple[float, float, float]
    yaw: float
    table_color: tuple[int, int, int] = TABLE_COLOR
    top_color: tuple[int, int, int] = TOP_COLOR
    side_color: tuple[int, int, int] = SIDE_COLOR

    def inside_footprint(self, x: np.ndarray, y: np.ndarray, margin: float = 0.0) -> np.ndarray:
        """Whether base-frame (x, y) lies inside the box footprint shrunk by `margin` (grown if negative)."""
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        dx, dy = x - self.center[0], y - self.center[1]
        lx, ly = c * dx + s * dy, -s * dx + c * dy
        return (np.abs(lx) <= self.size[0] / 2 - margin) & (np.abs(ly) <= self.size[1] / 2 - margin)


def look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """4x4 camera-to-base pose of an OpenCV camera (x right, y down, z forward) at `eye` looking at `target`."""
    forward = np.asarray(target, float) - np.asarray(eye, float)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    pose = np.eye(4)
    pose[:3, :3] = np.column_stack([right, down, forward])
    pose[:3, 3] = eye
    return pose


def render_box_scene(eye: tuple[float, float, float] = (0.15, -0.33, 0.45),
                     target: tuple[float, float, float] = (0.5, 0.0, 0.03),
                     center: tuple[float, float] = (0.501, 0.0),
                     size: tuple[float, float, float] = (0.0498, 0.0798, 0.06),
                     yaw: float = 0.0, width: int = 640, height: int = 480, focal: float = 615.0) -> BoxScene:
    """Ray-cast the table plane z = 0 and a (yawed) box standing on it, seen by a pinhole camera.

    The box top is TOP_COLOR, its sides SIDE_COLOR, the table TABLE_COLOR; rays that hit nothing get depth 0.
    The depth is the camera-frame z of the hit point (float32 metres).
    """
    intrinsics = np.array([[focal, 0.0, (width - 1) / 2], [0.0, focal, (height - 1) / 2], [0.0, 0.0, 1.0]])
    pose = look_at(np.asarray(eye), np.asarray(target))
    u, v = np.meshgrid(np.arange(width, dtype=float), np.arange(height, dtype=float))
    rays_cam = np.stack([u, v, np.ones_like(u)], axis=-1) @ np.linalg.inv(intrinsics).T  # camera z = 1
    rays = rays_cam @ pose[:3, :3].T  # base frame; the ray parameter t is the camera depth
    origin = pose[:3, 3]

    with np.errstate(divide='ignore', invalid='ignore'):
        t_table = np.where(rays[..., 2] < 0, -origin[2] / rays[..., 2], np.inf)
        # Slab test in the box frame (box origin at the centre of its bottom face).
        c, s = np.cos(yaw), np.sin(yaw)
        to_box = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
        o_box = to_box @ (origin - np.array([center[0], center[1], 0.0]))
        d_box = rays @ to_box.T
        lo = np.array([-size[0] / 2, -size[1] / 2, 0.0])
        hi = np.array([size[0] / 2, size[1] / 2, size[2]])
        t1, t2 = (lo - o_box) / d_box, (hi - o_box) / d_box
        t_near_axis = np.minimum(t1, t2)
        t_near_axis = np.where(np.isnan(t_near_axis), -np.inf, t_near_axis)
        t_far_axis = np.where(np.isnan(np.maximum(t1, t2)), np.inf, np.maximum(t1, t2))
        t_near, t_far = t_near_axis.max(axis=-1), t_far_axis.min(axis=-1)
        hit_box = (t_near <= t_far) & (t_near > 0)
        t_box = np.where(hit_box, t_near, np.inf)
    top_face = hit_box & (t_near_axis.argmax(axis=-1) == 2)

    depth = np.minimum(t_table, t_box)
    color = np.empty((height, width, 3), np.uint8)
    color[:] = TABLE_COLOR
    on_box = t_box < t_table
    color[on_box] = SIDE_COLOR
    color[on_box & top_face] = TOP_COLOR
    depth = np.where(np.isfinite(depth), depth, 0.0).astype(np.float32)
    return BoxScene(color=color, depth=depth, intrinsics=intrinsics, camera_pose=pose, center=center,
                    size=size, yaw=yaw)


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

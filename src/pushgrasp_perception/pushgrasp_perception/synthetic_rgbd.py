# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Analytic RGB-D frames of boxes on a table, ray-cast through a pinhole camera (tests and benchmarks).

The table is the plane z = 0 of the base frame; each box stands on it (optionally turned about z). Every
pixel's ray is intersected with the table and the boxes (slab test), and the nearest hit gives the depth
(camera-frame z, float32 metres) and the colour: box tops TOP_COLOR, box sides SIDE_COLOR, the table
TABLE_COLOR (or each box's own colours). Rays that hit nothing get depth 0. Frames are pure functions of their
arguments; `random_block_views` draws its scene from a seeded generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pushgrasp_perception.fusion import CameraView
from pushgrasp_perception.synthetic import sample_blocks
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE, Workspace

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


def pinhole_intrinsics(width: int = 640, height: int = 480, focal: float = 615.0) -> np.ndarray:
    """3x3 K of a pinhole camera with square pixels and the principal point at the image centre."""
    return np.array([[focal, 0.0, (width - 1) / 2], [0.0, focal, (height - 1) / 2], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class Box:
    """A box standing on the table: centre of its footprint (x, y), size (x, y, z) in its own frame, yaw."""

    center: tuple[float, float]
    size: tuple[float, float, float]
    yaw: float = 0.0
    top_color: tuple[int, int, int] = TOP_COLOR
    side_color: tuple[int, int, int] = SIDE_COLOR


def _box_hits(origin: np.ndarray, rays: np.ndarray, box: Box) -> tuple[np.ndarray, np.ndarray]:
    """Ray parameter of the first hit of each ray on the box (inf when missed) and whether it is the top face."""
    with np.errstate(divide='ignore', invalid='ignore'):
        # Slab test in the box frame (box origin at the centre of its bottom face).
        c, s = np.cos(box.yaw), np.sin(box.yaw)
        to_box = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
        o_box = to_box @ (origin - np.array([box.center[0], box.center[1], 0.0]))
        d_box = rays @ to_box.T
        lo = np.array([-box.size[0] / 2, -box.size[1] / 2, 0.0])
        hi = np.array([box.size[0] / 2, box.size[1] / 2, box.size[2]])
        t1, t2 = (lo - o_box) / d_box, (hi - o_box) / d_box
        t_near_axis = np.minimum(t1, t2)
        t_near_axis = np.where(np.isnan(t_near_axis), -np.inf, t_near_axis)
        t_far_axis = np.where(np.isnan(np.maximum(t1, t2)), np.inf, np.maximum(t1, t2))
        t_near, t_far = t_near_axis.max(axis=-1), t_far_axis.min(axis=-1)
        hit_box = (t_near <= t_far) & (t_near > 0)
    return np.where(hit_box, t_near, np.inf), hit_box & (t_near_axis.argmax(axis=-1) == 2)


def render_boxes(intrinsics: np.ndarray, camera_pose: np.ndarray, width: int, height: int,
                 boxes: list[Box]) -> tuple[np.ndarray, np.ndarray]:
    """Ray-cast the table z = 0 and `boxes` seen by a pinhole camera into (color, depth).

    color is (height, width, 3) uint8 RGB; depth is (height, width) float32 camera-frame z in metres, 0 where
    a ray hits nothing.
    """
    u, v = np.meshgrid(np.arange(width, dtype=float), np.arange(height, dtype=float))
    rays_cam = np.stack([u, v, np.ones_like(u)], axis=-1) @ np.linalg.inv(intrinsics).T  # camera z = 1
    rays = rays_cam @ camera_pose[:3, :3].T  # base frame; the ray parameter t is the camera depth
    origin = camera_pose[:3, 3]
    with np.errstate(divide='ignore', invalid='ignore'):
        depth = np.where(rays[..., 2] < 0, -origin[2] / rays[..., 2], np.inf)
    color = np.empty((height, width, 3), np.uint8)
    color[:] = TABLE_COLOR
    for box in boxes:
        t_box, top_face = _box_hits(origin, rays, box)
        nearer = t_box < depth
        depth = np.where(nearer, t_box, depth)
        color[nearer] = box.side_color
        color[nearer & top_face] = box.top_color
    return color, np.where(np.isfinite(depth), depth, 0.0).astype(np.float32)


def render_box_scene(eye: tuple[float, float, float] = (0.15, -0.33, 0.45),
                     target: tuple[float, float, float] = (0.5, 0.0, 0.03),
                     center: tuple[float, float] = (0.501, 0.0),
                     size: tuple[float, float, float] = (0.0498, 0.0798, 0.06),
                     yaw: float = 0.0, width: int = 640, height: int = 480, focal: float = 615.0) -> BoxScene:
    """Ray-cast the table plane z = 0 and a (yawed) box standing on it, seen by a pinhole camera at `eye`.

    The box top is TOP_COLOR, its sides SIDE_COLOR, the table TABLE_COLOR; rays that hit nothing get depth 0.
    The depth is the camera-frame z of the hit point (float32 metres).
    """
    intrinsics = pinhole_intrinsics(width, height, focal)
    pose = look_at(np.asarray(eye), np.asarray(target))
    color, depth = render_boxes(intrinsics, pose, width, height, [Box(center, size, yaw)])
    return BoxScene(color=color, depth=depth, intrinsics=intrinsics, camera_pose=pose, center=center,
                    size=size, yaw=yaw)


# Two cameras on opposite sides of the default workspace, 0.45 m above the table, looking at its centre.
OPPOSITE_EYES: tuple[tuple[float, float, float], ...] = ((0.15, -0.33, 0.45), (0.85, 0.33, 0.45))


def random_block_views(seed: int, num_objects: int = 6, workspace: Workspace = DEFAULT_WORKSPACE,
                       eyes: tuple[tuple[float, float, float], ...] = OPPOSITE_EYES,
                       target: tuple[float, float, float] = (0.5, 0.0, 0.03), width: int = 640, height: int = 480,
                       focal: float = 615.0, millimetres: bool = True) -> list[CameraView]:
    """Views from each of `eyes` of one random block scene (`synthetic.sample_blocks` with this seed).

    Block tops have the block's palette colour, their sides a darker shade. The depth is uint16 millimetres
    as a RealSense camera sends it (`millimetres`), or float32 metres.
    """
    blocks = sample_blocks(np.random.default_rng(seed), num_objects, workspace)
    boxes = [Box(center=(block.x, block.y), size=block.shape.size, yaw=block.yaw, top_color=block.color,
                 side_color=tuple(int(0.6 * c) for c in block.color)) for block in blocks]
    intrinsics = pinhole_intrinsics(width, height, focal)
    views = []
    for eye in eyes:
        pose = look_at(np.asarray(eye), np.asarray(target))
        color, depth = render_boxes(intrinsics, pose, width, height, boxes)
        if millimetres:
            depth = np.round(depth * 1000.0).astype(np.uint16)
        views.append(CameraView(color=color, depth=depth, intrinsics=intrinsics, camera_pose=pose))
    return views

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Project an RGB-D frame into an orthographic top-down colour and height heightmap.

Every pixel with a valid depth is back-projected with the pinhole intrinsics K (OpenCV camera frame:
x right, y down, z forward; depth is the z coordinate), moved into the robot base frame with the 4x4
camera-to-base pose, and kept when it falls inside the workspace box. Each heightmap cell then holds
the HIGHEST point that landed in it (what a camera looking straight down would see): its height above
workspace.z_min and its colour. Cells that no point reached stay 0 (height) and black (colour).

The work is O(pixels) and fully vectorised: one `np.maximum.at` finds the top height per cell, a second
pass picks the pixel that reached it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.workspace import Workspace

# Points this far (metres) below the table surface are still kept (their height is clipped to 0), so
# depth noise on the table does not punch black holes into the colour heightmap.
DEFAULT_TABLE_TOLERANCE = 0.01


@dataclass
class HeightmapResult:
    """A projected heightmap with the bookkeeping needed to judge it.

    color: (rows, cols, 3) uint8 RGB of the highest point per cell, black where empty.
    height: (rows, cols) float32 metres above workspace.z_min, 0 where empty.
    valid: (rows, cols) bool, the cells at least one depth point fell into.
    workspace: the workspace (with the resolution actually used).
    num_valid_depth: pixels whose depth was usable (finite and positive).
    num_points: of those, the points that fell inside the workspace box.
    """

    color: np.ndarray
    height: np.ndarray
    valid: np.ndarray
    workspace: Workspace
    num_valid_depth: int
    num_points: int

    def to_heightmap(self, stamp_ns: int = 0) -> Heightmap:
        """The colour and height images as a Heightmap."""
        return Heightmap(color=self.color, height=self.height, workspace=self.workspace, stamp_ns=stamp_ns)


def check_intrinsics(intrinsics: np.ndarray) -> np.ndarray:
    """`intrinsics` as a float 3x3 pinhole matrix K; raises ValueError saying what is wrong with it."""
    intrinsics = np.asarray(intrinsics, dtype=np.float64)
    if intrinsics.shape != (3, 3):
        raise ValueError(f'intrinsics K must be 3x3, got shape {intrinsics.shape}')
    if not np.all(np.isfinite(intrinsics)):
        raise ValueError('intrinsics K contains NaN or infinite values')
    if not (intrinsics[0, 0] > 0 and intrinsics[1, 1] > 0 and np.allclose(intrinsics[2], [0.0, 0.0, 1.0])):
        raise ValueError(f'intrinsics K must have positive fx, fy and last row [0, 0, 1], got {intrinsics.tolist()}')
    return intrinsics


def check_camera_pose(camera_pose: np.ndarray) -> np.ndarray:
    """`camera_pose` as a float 4x4 rigid transform; raises ValueError saying what is wrong with it."""
    camera_pose = np.asarray(camera_pose, dtype=np.float64)
    if camera_pose.shape != (4, 4):
        raise ValueError(f'camera pose must be a 4x4 homogeneous transform, got shape {camera_pose.shape}')
    if not np.all(np.isfinite(camera_pose)):
        raise ValueError('camera pose contains NaN or infinite values')
    if not np.allclose(camera_pose[3], [0.0, 0.0, 0.0, 1.0]):
        raise ValueError(f'camera pose last row must be [0, 0, 0, 1], got {camera_pose[3].tolist()}')
    rotation = camera_pose[:3, :3]
    if not (np.allclose(rotation.T @ rotation, np.eye(3), atol=1e-3) and np.linalg.det(rotation) > 0):
        raise ValueError('camera pose rotation block is not a proper rotation (orthonormal, det +1)')
    return camera_pose


def _check_images(color: np.ndarray, depth: np.ndarray) -> None:
    if depth.ndim != 2:
        raise ValueError(f'depth must be a 2-D (H, W) image, got shape {depth.shape}')
    if color.ndim != 3 or color.shape[2] != 3:
        raise ValueError(f'color must be an (H, W, 3) RGB image, got shape {color.shape}')
    if color.shape[:2] != depth.shape:
        raise ValueError(f'color size {color.shape[1]}x{color.shape[0]} (WxH) does not match depth size '
                         f'{depth.shape[1]}x{depth.shape[0]}; the depth must be aligned to the colour image')
    if color.dtype != np.uint8:
        raise ValueError(f'color must be uint8, got {color.dtype}')
    if not (np.issubdtype(depth.dtype, np.floating) or np.issubdtype(depth.dtype, np.unsignedinteger)):
        raise ValueError(f'depth must be float metres or unsigned-integer millimetres, got {depth.dtype}')


def project_rgbd(color: np.ndarray, depth: np.ndarray, intrinsics: np.ndarray, camera_pose: np.ndarray,
                 workspace: Workspace, resolution: float | None = None, *, depth_scale: float | None = None,
                 table_tolerance: float = DEFAULT_TABLE_TOLERANCE) -> HeightmapResult:
    """Project an aligned RGB-D frame into a top-down heightmap over `workspace`.

    Args:
        color: (H, W, 3) uint8 RGB image.
        depth: (H, W) depth aligned to `color`: float metres, or unsigned integers (millimetres by default).
            Zero, negative, NaN and infinite depths are ignored.
        intrinsics: 3x3 pinhole camera matrix K of the (colour) image.
        camera_pose: 4x4 transform from the OpenCV camera frame to the robot base frame.
        workspace: the box to cover; heights are measured from its z_min.
        resolution: cell size in metres overriding workspace.resolution (None keeps it).
        depth_scale: metres per depth unit; None means 0.001 for integer depth and 1.0 for float depth.
        table_tolerance: points down to this far below z_min still count (their height is clipped to 0).

    Returns:
        The colour/height heightmap, the mask of cells that received a point and point counts.

    Raises:
        ValueError: mismatched colour and depth sizes, or a malformed K or camera pose.
    """
    color = np.asarray(color)
    depth = np.asarray(depth)
    _check_images(color, depth)
    intrinsics = check_intrinsics(intrinsics)
    camera_pose = check_camera_pose(camera_pose)
    if resolution is not None and resolution != workspace.resolution:
        workspace = dataclasses.replace(workspace, resolution=float(resolution))
    if depth_scale is None:
        depth_scale = 1.0 if np.issubdtype(depth.dtype, np.floating) else 0.001
    rows, cols = workspace.shape
    num_cells = rows * cols

    # Metric depth over the whole image (float32 is ample: 0.1 um at 1 m); unusable pixels get depth 0.
    metric = depth.astype(np.float32, copy=False)
    usable = (np.isfinite(metric) & (metric > 0)) if np.issubdtype(depth.dtype, np.floating) else depth > 0
    metric = np.where(usable, metric * np.float32(depth_scale), np.float32(0.0))

    # Base-frame point = depth * (R K^-1 [u, v, 1]) + t. Each ray component is separable into a column
    # term plus a row term, so the rays cost two broadcasts instead of a per-pixel matrix product.
    ray_matrix = (camera_pose[:3, :3] @ np.linalg.inv(intrinsics)).astype(np.float32)
    translation = camera_pose[:3, 3].astype(np.float32)
    u = np.arange(depth.shape[1], dtype=np.float32)
    v = np.arange(depth.shape[0], dtype=np.float32)[:, None]
    x, y, z = ((metric * (ray_matrix[i, 0] * u + (ray_matrix[i, 1] * v + ray_matrix[i, 2])) + translation[i]).ravel()
               for i in range(3))

    # Keep the points inside the box; row along +y, column along +x (see workspace.py).
    col = np.floor((x - np.float32(workspace.x_min)) / np.float32(workspace.resolution))
    row = np.floor((y - np.float32(workspace.y_min)) / np.float32(workspace.resolution))
    inside = (usable.ravel() & (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
              & (z >= np.float32(workspace.z_min - table_tolerance)) & (z <= np.float32(workspace.z_max)))
    pixels = np.flatnonzero(inside)
    cell = row[pixels].astype(np.intp) * cols + col[pixels].astype(np.intp)
    z = z[pixels]

    # Highest point per cell, then (deterministically, the largest pixel index on exact ties) its pixel.
    top = np.full(num_cells, -np.inf, dtype=np.float32)
    np.maximum.at(top, cell, z)
    winners = np.flatnonzero(z == top[cell])
    source = np.full(num_cells, -1, dtype=np.intp)
    np.maximum.at(source, cell[winners], pixels[winners])

    valid = source >= 0
    height = np.zeros(num_cells, dtype=np.float32)
    height[valid] = np.maximum(top[valid] - np.float32(workspace.z_min), 0.0)
    color_map = np.zeros((num_cells, 3), dtype=np.uint8)
    color_map[valid] = color.reshape(-1, 3)[source[valid]]
    return HeightmapResult(color=color_map.reshape(rows, cols, 3), height=height.reshape(rows, cols),
                           valid=valid.reshape(rows, cols), workspace=workspace,
                           num_valid_depth=int(np.count_nonzero(usable)), num_points=int(z.size))


def heightmap_from_rgbd(color: np.ndarray, depth: np.ndarray, intrinsics: np.ndarray, camera_pose: np.ndarray,
                        workspace: Workspace, resolution: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The (color_heightmap, height_heightmap) of an RGB-D frame; see `project_rgbd` for the arguments."""
    result = project_rgbd(color, depth, intrinsics, camera_pose, workspace, resolution)
    return result.color, result.height


def make_heightmap(color: np.ndarray, depth: np.ndarray, intrinsics: np.ndarray, camera_pose: np.ndarray,
                   workspace: Workspace, resolution: float | None = None, stamp_ns: int = 0) -> Heightmap:
    """A Heightmap of an RGB-D frame (stamped `stamp_ns`); see `project_rgbd` for the arguments."""
    return project_rgbd(color, depth, intrinsics, camera_pose, workspace, resolution).to_heightmap(stamp_ns)

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The coloured point cloud of the workspace (open3d): crop, voxel down-sampling, outlier removal, PLY files.

The points come from the same back-projection as the heightmap (`projection.workspace_points`), so the
cloud is cropped to exactly the box the heightmap covers (including the table tolerance below z_min).
open3d then averages the points (and colours) in each voxel and drops statistical outliers: points whose
mean distance to their neighbours is more than `outlier_std` standard deviations above the average.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import open3d as o3d

from pushgrasp_perception.projection import (DEFAULT_TABLE_TOLERANCE, check_camera_pose, check_images,
                                             check_intrinsics, workspace_points)
from pushgrasp_perception.workspace import Workspace


def workspace_point_cloud(color: np.ndarray, depth: np.ndarray, intrinsics: np.ndarray, camera_pose: np.ndarray,
                          workspace: Workspace, voxel_size: float = 0.004, outlier_neighbors: int = 20,
                          outlier_std: float = 2.0, *, depth_scale: float | None = None,
                          table_tolerance: float = DEFAULT_TABLE_TOLERANCE) -> tuple[np.ndarray, np.ndarray]:
    """The coloured points of an RGB-D frame inside the workspace box, down-sampled and cleaned.

    Args:
        color, depth, intrinsics, camera_pose, depth_scale, table_tolerance: as for `project_rgbd`.
        workspace: the box to crop to (base frame).
        voxel_size: edge of the down-sampling voxels in metres; 0 keeps every point.
        outlier_neighbors: neighbours considered by the statistical outlier removal; 0 skips it.
        outlier_std: a point is an outlier when its mean neighbour distance exceeds the average by this many
            standard deviations.

    Returns:
        (points, colors): (N, 3) float32 base-frame positions in metres and (N, 3) uint8 RGB.

    Raises:
        ValueError: malformed images, K or pose (see `project_rgbd`), or a negative voxel size.
    """
    if voxel_size < 0:
        raise ValueError(f'voxel_size must be >= 0, got {voxel_size}')
    color = np.asarray(color)
    depth = np.asarray(depth)
    check_images(color, depth)
    points = workspace_points(depth, check_intrinsics(intrinsics), check_camera_pose(camera_pose), workspace,
                              depth_scale, table_tolerance)
    xyz = points.base_points()
    rgb = np.take(color.reshape(-1, 3), points.pixels, axis=0)
    if xyz.shape[0] == 0 or (voxel_size == 0 and outlier_neighbors <= 0):
        return xyz, rgb
    cloud = to_open3d(xyz, rgb)
    if voxel_size > 0:
        cloud = cloud.voxel_down_sample(voxel_size)
    if outlier_neighbors > 0 and len(cloud.points) > outlier_neighbors:
        cloud, _ = cloud.remove_statistical_outlier(nb_neighbors=int(outlier_neighbors), std_ratio=float(outlier_std))
    return (np.asarray(cloud.points, dtype=np.float32),
            np.clip(np.rint(np.asarray(cloud.colors) * 255.0), 0, 255).astype(np.uint8))


@contextmanager
def open3d_threads(count: int) -> Iterator[None]:
    """Let open3d use at most `count` threads inside the block; afterwards its automatic default again."""
    o3d.utility.set_max_threads(int(count))
    try:
        yield
    finally:
        o3d.utility.set_max_threads(0)


def to_open3d(points: np.ndarray, colors: np.ndarray) -> o3d.geometry.PointCloud:
    """An open3d PointCloud of (N, 3) points (metres) and (N, 3) uint8 RGB colours."""
    points = np.asarray(points, dtype=np.float64)
    colors = np.asarray(colors)
    if points.ndim != 2 or points.shape[1] != 3 or colors.shape != points.shape or colors.dtype != np.uint8:
        raise ValueError(f'need (N, 3) points and (N, 3) uint8 colours, got {points.shape} and '
                         f'{colors.shape} {colors.dtype}')
    cloud = o3d.geometry.PointCloud()
    cloud.points = o3d.utility.Vector3dVector(points)
    cloud.colors = o3d.utility.Vector3dVector(colors.astype(np.float64) / 255.0)
    return cloud


def save_ply(path: str | os.PathLike[str], points: np.ndarray, colors: np.ndarray) -> None:
    """Write a coloured point cloud to `path` as a binary PLY file, atomically (a reader never sees half a file).

    Raises:
        ValueError: mismatched or malformed arrays.
        OSError: the file cannot be written.
    """
    cloud = to_open3d(points, colors)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f'.{target.name}.', suffix='.ply', dir=target.parent)
    os.close(handle)
    try:
        if not o3d.io.write_point_cloud(temporary, cloud, write_ascii=False):
            raise OSError(f'open3d could not write {temporary}')
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_ply(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """(points float32 (N, 3), colors uint8 (N, 3)) of a PLY file written by `save_ply`.

    Raises:
        FileNotFoundError: there is no such file.
        ValueError: open3d found no points in it.
    """
    if not Path(path).is_file():
        raise FileNotFoundError(f'no point cloud file {os.fspath(path)}')
    cloud = o3d.io.read_point_cloud(os.fspath(path))
    if not cloud.has_points():
        raise ValueError(f'{os.fspath(path)}: no points (not a PLY point cloud?)')
    colors = np.asarray(cloud.colors) if cloud.has_colors() else np.zeros((len(cloud.points), 3))
    return (np.asarray(cloud.points, dtype=np.float32),
            np.clip(np.rint(colors * 255.0), 0, 255).astype(np.uint8))

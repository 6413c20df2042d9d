# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Workspace point clouds (open3d): crop, geometry, colours, voxels, outliers, and PLY files."""

from __future__ import annotations

import numpy as np
import pytest

from pushgrasp_perception.pointcloud import load_ply, save_ply, workspace_point_cloud
from pushgrasp_perception.projection import project_rgbd, workspace_points
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE, Workspace

TOLERANCE = 0.01  # projection.DEFAULT_TABLE_TOLERANCE


def cloud(scene, depth=None, workspace=DEFAULT_WORKSPACE, **kwargs):
    return workspace_point_cloud(scene.color, scene.depth if depth is None else depth, scene.intrinsics,
                                 scene.camera_pose, workspace, **kwargs)


def inside(points, workspace, tolerance=1e-6):
    return ((points[:, 0] >= workspace.x_min - tolerance) & (points[:, 0] <= workspace.x_max + tolerance)
            & (points[:, 1] >= workspace.y_min - tolerance) & (points[:, 1] <= workspace.y_max + tolerance)
            & (points[:, 2] >= workspace.z_min - TOLERANCE - tolerance) & (points[:, 2] <= workspace.z_max + tolerance))


def test_raw_points_are_the_back_projected_pixels(box_scene):
    points, colors = cloud(box_scene, voxel_size=0, outlier_neighbors=0)
    assert points.dtype == np.float32 and colors.dtype == np.uint8 and points.shape == colors.shape
    assert points.shape[0] == project_rgbd(box_scene.color, box_scene.depth, box_scene.intrinsics,
                                           box_scene.camera_pose, DEFAULT_WORKSPACE).num_points
    # Against a float64 back-projection of the same pixels.
    selected = workspace_points(box_scene.depth, box_scene.intrinsics, box_scene.camera_pose, DEFAULT_WORKSPACE)
    v, u = np.divmod(selected.pixels, box_scene.depth.shape[1])
    depth = box_scene.depth.ravel()[selected.pixels].astype(np.float64)
    rays = np.linalg.inv(box_scene.intrinsics) @ np.stack([u, v, np.ones_like(u)]).astype(np.float64)
    expected = (box_scene.camera_pose[:3, :3] @ (rays * depth) + box_scene.camera_pose[:3, 3:]).T
    np.testing.assert_allclose(points, expected, atol=2e-6)
    np.testing.assert_array_equal(colors, box_scene.color.reshape(-1, 3)[selected.pixels])
    assert inside(points, DEFAULT_WORKSPACE).all()


def test_cropped_to_the_workspace_box(box_scene):
    # A box that cuts through the scene, also in z (half the cube's 6 cm side is above it).
    workspace = Workspace(0.45, 0.55, -0.06, 0.05, 0.0, 0.03, 0.002)
    points, _ = cloud(box_scene, workspace=workspace, voxel_size=0, outlier_neighbors=0)
    assert points.shape[0] > 1000 and inside(points, workspace).all()
    everything, _ = cloud(box_scene, voxel_size=0, outlier_neighbors=0)
    assert inside(everything, workspace).sum() == points.shape[0]


def test_box_surface_and_colours(box_scene):
    points, colors = cloud(box_scene)
    # Nothing above the box; the top face at its height, within its footprint, in its colour (voxels on the
    # top edge average top and side points, so they sit a little lower and mix the colours).
    assert points[:, 2].max() <= box_scene.size[2] + 1e-5
    top = points[:, 2] > box_scene.size[2] - 1e-4
    assert top.sum() > 150
    assert box_scene.inside_footprint(points[top, 0], points[top, 1], margin=-0.002).all()
    assert (colors[top] == box_scene.top_color).all(axis=1).mean() > 0.95
    table = points[:, 2] < 0.001
    assert table.sum() > 5000
    assert (colors[table] == box_scene.table_color).all(axis=1).mean() > 0.99


def test_voxel_down_sampling(box_scene):
    raw, _ = cloud(box_scene, voxel_size=0, outlier_neighbors=0)
    for voxel in (0.004, 0.01):
        points, _ = cloud(box_scene, voxel_size=voxel, outlier_neighbors=0)
        # One point per occupied voxel (open3d's grid starts half a voxel below the smallest coordinates).
        grid = np.floor((raw - (raw.min(axis=0).astype(np.float64) - voxel / 2)) / voxel).astype(np.int64)
        assert points.shape[0] == np.unique(grid, axis=0).shape[0]
    coarse, _ = cloud(box_scene, voxel_size=0.01, outlier_neighbors=0)
    fine, _ = cloud(box_scene, voxel_size=0.004, outlier_neighbors=0)
    assert coarse.shape[0] < fine.shape[0] < raw.shape[0]


def test_statistical_outliers_are_removed(box_scene):
    # Spurious depth pixels (flying pixels) that put isolated points in mid-air inside the box.
    rng = np.random.default_rng(3)
    depth = box_scene.depth.copy()
    spoiled = rng.choice(depth.size, 200, replace=False)
    depth.ravel()[spoiled] *= np.float32(0.7)
    kept, _ = cloud(box_scene, depth, outlier_neighbors=0)
    cleaned, _ = cloud(box_scene, depth)
    flying = (kept[:, 2] > 0.08) & ~box_scene.inside_footprint(kept[:, 0], kept[:, 1], margin=-0.01)
    assert flying.sum() >= 50
    flying_after = (cleaned[:, 2] > 0.08) & ~box_scene.inside_footprint(cleaned[:, 0], cleaned[:, 1], margin=-0.01)
    assert flying_after.sum() == 0
    assert cleaned.shape[0] > 0.9 * kept.shape[0]


def test_invalid_depth_and_empty_clouds(box_scene):
    depth = box_scene.depth.copy()
    depth[:, ::2] = np.nan
    depth[::3] = 0.0
    points, _ = cloud(box_scene, depth, voxel_size=0, outlier_neighbors=0)
    assert np.isfinite(points).all() and inside(points, DEFAULT_WORKSPACE).all()
    empty, colors = cloud(box_scene, np.zeros_like(box_scene.depth))
    assert empty.shape == (0, 3) and colors.shape == (0, 3)
    with pytest.raises(ValueError, match='voxel_size'):
        cloud(box_scene, voxel_size=-1.0)


def test_millimetres_match_metres(box_scene):
    millimetres = np.round(box_scene.depth * 1000).astype(np.uint16)
    from_mm, colors_mm = cloud(box_scene, millimetres, voxel_size=0, outlier_neighbors=0)
    from_m, colors_m = cloud(box_scene, millimetres.astype(np.float32) / np.float32(1000), voxel_size=0,
                             outlier_neighbors=0)
    assert from_mm.shape[0] > 100000
    # The same pixels (bar float rounding at the box borders), the same points.
    assert abs(from_mm.shape[0] - from_m.shape[0]) <= 5
    if from_mm.shape == from_m.shape:
        np.testing.assert_allclose(from_mm, from_m, atol=1e-6)
        np.testing.assert_array_equal(colors_mm, colors_m)


def test_ply_round_trip_is_atomic(box_scene, tmp_path):
    points, colors = cloud(box_scene)
    path = tmp_path / 'clouds' / 'scene.ply'
    save_ply(path, points, colors)
    loaded_points, loaded_colors = load_ply(path)
    np.testing.assert_array_equal(loaded_points, points)
    np.testing.assert_array_equal(loaded_colors, colors)
    # Overwriting replaces the file whole, and no temporary file is left behind.
    save_ply(path, points[:10], colors[:10])
    assert load_ply(path)[0].shape == (10, 3)
    assert sorted(p.name for p in path.parent.iterdir()) == ['scene.ply']
    with pytest.raises(ValueError, match='uint8'):
        save_ply(path, points, colors.astype(np.float32))
    with pytest.raises(ValueError, match=r'\(N, 3\)'):
        save_ply(path, points[:, :2], colors)
    assert load_ply(path)[0].shape == (10, 3)  # a failed save leaves the old file
    assert sorted(p.name for p in path.parent.iterdir()) == ['scene.ply']
    with pytest.raises(FileNotFoundError):
        load_ply(tmp_path / 'missing.ply')

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Multi-camera fusion: two oblique views from opposite sides of a box, highest point wins, hole filling."""

from __future__ import annotations

import numpy as np
import pytest

from pushgrasp_perception.fusion import CameraView, fill_holes, fuse_heightmaps, median_at
from pushgrasp_perception.projection import project_rgbd
from pushgrasp_perception.synthetic_rgbd import (OPPOSITE_EYES, Box, look_at, pinhole_intrinsics, render_box_scene,
                                                 render_boxes)
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE, Workspace

RES = DEFAULT_WORKSPACE.resolution
SIZE = (0.0498, 0.0798, 0.06)
CENTER = (0.501, 0.0)
TARGET = (0.5, 0.0, 0.03)


def cell_centres(workspace: Workspace = DEFAULT_WORKSPACE) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = workspace.shape
    x = workspace.x_min + (np.arange(cols) + 0.5) * workspace.resolution
    y = workspace.y_min + (np.arange(rows) + 0.5) * workspace.resolution
    return np.meshgrid(x, y)


def view_of(scene) -> CameraView:
    return CameraView(scene.color, scene.depth, scene.intrinsics, scene.camera_pose)


@pytest.fixture(scope='module')
def opposite():
    """The box seen from (0.15, -0.33, 0.45) and from the opposite side (0.85, 0.33, 0.45)."""
    return [render_box_scene(eye=eye, target=TARGET, center=CENTER, size=SIZE) for eye in OPPOSITE_EYES]


def test_each_view_misses_what_the_other_fills(opposite):
    first, second = (project_rgbd(s.color, s.depth, s.intrinsics, s.camera_pose, DEFAULT_WORKSPACE) for s in opposite)
    fused = fuse_heightmaps([view_of(s) for s in opposite], DEFAULT_WORKSPACE)
    gx, gy = cell_centres()
    near_box = opposite[0].inside_footprint(gx, gy, margin=-0.06) & ~opposite[0].inside_footprint(gx, gy, margin=-RES)
    # Each camera alone leaves a shadow behind the box: table cells near it that no point reached ...
    shadow_first, shadow_second = near_box & ~first.valid, near_box & ~second.valid
    assert shadow_first.sum() > 300 and shadow_second.sum() > 300
    # ... on opposite sides (the first camera is at -y, so its shadow lies at +y of the box, and vice versa).
    assert gy[shadow_first].mean() > CENTER[1] + 0.03 > CENTER[1] - 0.03 > gy[shadow_second].mean()
    # The other camera sees those cells, and so the fusion has them: the table, table-coloured.
    assert second.valid[shadow_first].all() and first.valid[shadow_second].all()
    np.testing.assert_array_equal(fused.valid, first.valid | second.valid)
    assert fused.valid[near_box].all()
    filled = shadow_first | shadow_second
    assert fused.height[filled].max() <= 0.001
    assert (fused.color[filled] == opposite[0].table_color).all()
    assert fused.num_points == first.num_points + second.num_points
    assert fused.num_valid_depth == first.num_valid_depth + second.num_valid_depth


def test_fused_box_geometry_and_colours(opposite):
    fused = fuse_heightmaps([view_of(s) for s in opposite], DEFAULT_WORKSPACE)
    assert abs(float(fused.height.max()) - SIZE[2]) <= 0.001
    footprint = fused.height > SIZE[2] / 2
    assert abs(footprint.sum() * RES ** 2 - SIZE[0] * SIZE[1]) / (SIZE[0] * SIZE[1]) < 0.05
    gx, gy = cell_centres()
    inner = opposite[0].inside_footprint(gx, gy, margin=RES)
    assert fused.valid[inner].all()
    assert np.abs(fused.height[inner] - SIZE[2]).max() <= 0.001
    assert (fused.color[inner] == opposite[0].top_color).all()
    # Side faces never win over the top face above them.
    assert not (fused.color[footprint] == opposite[0].side_color).all(axis=-1).any()


def test_highest_point_wins(opposite):
    views = [view_of(s) for s in opposite]
    first, second = (project_rgbd(v.color, v.depth, v.intrinsics, v.camera_pose, DEFAULT_WORKSPACE) for v in views)
    fused = fuse_heightmaps(views, DEFAULT_WORKSPACE)
    # One pass over all points equals the cell-wise maximum of the single-view heightmaps, colour included.
    np.testing.assert_array_equal(fused.height, np.maximum(first.height, second.height))
    higher_first = first.valid & (~second.valid | (first.height > second.height))
    higher_second = second.valid & (~first.valid | (second.height > first.height))
    assert higher_first.sum() > 100 and higher_second.sum() > 100
    np.testing.assert_array_equal(fused.color[higher_first], first.color[higher_first])
    np.testing.assert_array_equal(fused.color[higher_second], second.color[higher_second])
    # A camera that sees only the empty table cannot lower what another camera saw on top of the box.
    intrinsics = pinhole_intrinsics()
    pose = look_at(np.array(OPPOSITE_EYES[1]), np.array(TARGET))
    color, depth = render_boxes(intrinsics, pose, 640, 480, [])
    tall = Box(CENTER, (SIZE[0], SIZE[1], 0.09), top_color=(10, 200, 30))
    tall_color, tall_depth = render_boxes(intrinsics, look_at(np.array(OPPOSITE_EYES[0]), np.array(TARGET)),
                                          640, 480, [tall])
    empty_table = CameraView(color, depth, intrinsics, pose)
    with_box = CameraView(tall_color, tall_depth, intrinsics, look_at(np.array(OPPOSITE_EYES[0]), np.array(TARGET)))
    for order in ([empty_table, with_box], [with_box, empty_table]):
        result = fuse_heightmaps(order, DEFAULT_WORKSPACE)
        assert abs(float(result.height.max()) - 0.09) <= 0.001
        top = result.height > 0.085
        assert abs(top.sum() * RES ** 2 - SIZE[0] * SIZE[1]) / (SIZE[0] * SIZE[1]) < 0.1
        assert (result.color[top] == (10, 200, 30)).all()


def test_millimetre_views_and_depth_scale(opposite):
    metres = [view_of(s) for s in opposite]
    millimetres = [CameraView(v.color, np.round(v.depth * 1000).astype(np.uint16), v.intrinsics, v.camera_pose)
                   for v in metres]
    tenths = [CameraView(v.color, np.round(v.depth * 10000).astype(np.uint16), v.intrinsics, v.camera_pose, 1e-4)
              for v in metres]
    exact = fuse_heightmaps(metres, DEFAULT_WORKSPACE)
    for views, quantum in ((millimetres, 0.001), (tenths, 0.0001)):
        result = fuse_heightmaps(views, DEFAULT_WORKSPACE)
        assert abs(float(result.height.max()) - SIZE[2]) <= quantum
        both = result.valid & exact.valid
        assert both.mean() > 0.9
        # Rounding moves each point less than a quantum along its ray: the heights agree up to the box edges.
        assert np.mean(np.abs(result.height[both] - exact.height[both]) <= quantum) > 0.98


def test_median_filter_fills_holes_only():
    # Millimetre depth leaves a few cells of the box top without a point (see test_projection).
    scene = render_box_scene()
    view = CameraView(scene.color, np.round(scene.depth * 1000).astype(np.uint16), scene.intrinsics,
                      scene.camera_pose)
    plain = fuse_heightmaps([view], DEFAULT_WORKSPACE)
    gx, gy = cell_centres()
    inner = scene.inside_footprint(gx, gy, margin=2 * RES)
    holes = inner & ~plain.valid
    assert holes.sum() > 0
    filtered = fuse_heightmaps([view], DEFAULT_WORKSPACE, median_filter=3)
    np.testing.assert_array_equal(filtered.valid, plain.valid)  # valid still marks measured cells only
    np.testing.assert_array_equal(filtered.height[plain.valid], plain.height[plain.valid])
    np.testing.assert_array_equal(filtered.color[plain.valid], plain.color[plain.valid])
    assert np.abs(filtered.height[holes] - SIZE[2]).max() <= 0.001
    assert (filtered.color[holes] == scene.top_color).all()
    # The large shadow behind the box stays (mostly) empty: a hole is filled only where most neighbours were seen.
    assert (filtered.height[~plain.valid] == 0).mean() > 0.9
    # Apertures above 5 filter quantised heights.
    wide = fill_holes(plain, 7)
    assert np.abs(wide.height[holes] - SIZE[2]).max() <= 0.001
    np.testing.assert_array_equal(wide.height[plain.valid], plain.height[plain.valid])
    for aperture in (1, 2, 4):
        with pytest.raises(ValueError, match='odd'):
            fill_holes(plain, aperture)


def test_resolution_and_errors(opposite):
    views = [view_of(s) for s in opposite]
    coarse = fuse_heightmaps(views, DEFAULT_WORKSPACE, resolution=0.004)
    assert coarse.height.shape == (112, 112) and coarse.workspace.resolution == 0.004
    assert abs(float(coarse.height.max()) - SIZE[2]) <= 0.001
    with pytest.raises(ValueError, match='at least one view'):
        fuse_heightmaps([], DEFAULT_WORKSPACE)
    bad = CameraView(views[1].color, views[1].depth[:-1], views[1].intrinsics, views[1].camera_pose)
    with pytest.raises(ValueError, match='view 1: .*does not match depth size'):
        fuse_heightmaps([views[0], bad], DEFAULT_WORKSPACE)
    with pytest.raises(ValueError, match='view 0: .*rotation'):
        fuse_heightmaps([CameraView(views[0].color, views[0].depth, views[0].intrinsics, np.diag([1, 1, -1, 1.0]))],
                        DEFAULT_WORKSPACE)


@pytest.mark.parametrize('aperture', [3, 5, 7])
def test_median_at_matches_a_plain_median(aperture):
    rng = np.random.default_rng(aperture)
    height = rng.uniform(0.0, 0.1, (30, 40)).astype(np.float32)
    height[rng.random(height.shape) < 0.3] = 0.0
    color = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    cells = np.nonzero(rng.random(height.shape) < 0.2)
    margin = aperture // 2
    padded_height = np.pad(height, margin)
    padded_color = np.pad(color, ((margin, margin), (margin, margin), (0, 0)))
    expected_height = [np.median(padded_height[r:r + aperture, c:c + aperture]) for r, c in zip(*cells, strict=True)]
    expected_color = [np.median(padded_color[r:r + aperture, c:c + aperture].reshape(-1, 3), axis=0)
                      for r, c in zip(*cells, strict=True)]
    np.testing.assert_array_equal(median_at(height, cells, aperture), np.array(expected_height, np.float32))
    np.testing.assert_array_equal(median_at(color, cells, aperture), np.array(expected_color).astype(np.uint8))

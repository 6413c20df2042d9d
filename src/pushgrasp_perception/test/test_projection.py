# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""RGB-D to heightmap projection against analytically ray-cast scenes and a brute-force reference."""

from __future__ import annotations

import time

import numpy as np
import pytest

from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.projection import heightmap_from_rgbd, make_heightmap, project_rgbd
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE, Workspace

RES = DEFAULT_WORKSPACE.resolution


def cell_centres(workspace: Workspace) -> tuple[np.ndarray, np.ndarray]:
    """Base-frame x and y of every cell centre, each (rows, cols)."""
    rows, cols = workspace.shape
    x = workspace.x_min + (np.arange(cols) + 0.5) * workspace.resolution
    y = workspace.y_min + (np.arange(rows) + 0.5) * workspace.resolution
    return np.meshgrid(x, y)


def project(scene, depth=None, workspace=DEFAULT_WORKSPACE, **kwargs):
    """project_rgbd of a BoxScene (optionally with another depth image)."""
    return project_rgbd(scene.color, scene.depth if depth is None else depth, scene.intrinsics,
                        scene.camera_pose, workspace, **kwargs)


def check_box(scene, result, height_tolerance=0.001, inner_coverage=1.0):
    """The heightmap shows the scene's box: right height, footprint, place and colours.

    `inner_coverage` is the fraction of cells inside the footprint that must have received a point.
    """
    gx, gy = cell_centres(result.workspace)
    res = result.workspace.resolution
    # Not vacuous: the camera sees most of the workspace.
    assert result.valid.mean() > 0.5
    assert abs(float(result.height.max()) - scene.size[2]) <= height_tolerance
    inner = scene.inside_footprint(gx, gy, margin=res)
    assert inner.sum() > 0.7 * scene.size[0] * scene.size[1] / res ** 2
    assert result.valid[inner].mean() >= inner_coverage
    inner &= result.valid
    assert np.abs(result.height[inner] - scene.size[2]).max() <= height_tolerance
    assert (result.color[inner] == scene.top_color).all()
    # Away from the box: the table, flat and table-coloured (where seen; the box hides some of it).
    outer = ~scene.inside_footprint(gx, gy, margin=-2 * res) & result.valid
    assert outer.sum() > 0.4 * outer.size
    assert result.height[outer].max() <= height_tolerance
    assert (result.color[outer] == scene.table_color).all()


def test_box_seen_obliquely(box_scene):
    result = project(box_scene)
    check_box(box_scene, result)
    # Footprint area within 5 %, and in the right place: 0.05 m along x (columns), 0.08 m along y (rows).
    footprint = result.height > box_scene.size[2] / 2
    true_area = box_scene.size[0] * box_scene.size[1]
    assert abs(footprint.sum() * RES ** 2 - true_area) / true_area < 0.05
    rows, cols = np.nonzero(footprint)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (92, 131, 100, 124)
    # The side faces the camera sees never win over the top face above them.
    assert not (result.color[footprint] == box_scene.side_color).all(axis=-1).any()


def test_yawed_box_other_view(rgbd):
    scene = rgbd.render(eye=(0.75, 0.3, 0.5), target=(0.45, -0.05, 0.0), center=(0.45, -0.05), yaw=0.6)
    check_box(scene, project(scene))


def test_tuple_and_heightmap_wrappers(box_scene):
    color, height = heightmap_from_rgbd(box_scene.color, box_scene.depth, box_scene.intrinsics,
                                        box_scene.camera_pose, DEFAULT_WORKSPACE)
    result = project(box_scene)
    np.testing.assert_array_equal(color, result.color)
    np.testing.assert_array_equal(height, result.height)
    heightmap = make_heightmap(box_scene.color, box_scene.depth, box_scene.intrinsics, box_scene.camera_pose,
                               DEFAULT_WORKSPACE, stamp_ns=123)
    assert isinstance(heightmap, Heightmap) and heightmap.stamp_ns == 123
    np.testing.assert_array_equal(heightmap.height, result.height)


def test_resolution_override(box_scene):
    color, height = heightmap_from_rgbd(box_scene.color, box_scene.depth, box_scene.intrinsics,
                                        box_scene.camera_pose, DEFAULT_WORKSPACE, resolution=0.004)
    assert height.shape == (112, 112) and color.shape == (112, 112, 3)
    assert abs(float(height.max()) - 0.06) <= 0.001
    assert abs((height > 0.03).sum() * 0.004 ** 2 - 0.0498 * 0.0798) / (0.0498 * 0.0798) < 0.05


def test_uint16_millimetres_match_float_metres(box_scene):
    depth_mm = np.round(box_scene.depth * 1000).astype(np.uint16)
    from_mm = project(box_scene, depth_mm)
    from_m = project(box_scene, depth_mm.astype(np.float64) / 1000)
    np.testing.assert_array_equal(from_mm.valid, from_m.valid)
    np.testing.assert_allclose(from_mm.height, from_m.height, atol=1e-6)
    assert (from_mm.color == from_m.color).all(axis=-1).mean() > 0.999
    # Quantised to 1 mm the box is still right to within one depth quantum (the quantised points bunch up
    # along the rays, leaving a few top cells without a point).
    check_box(box_scene, from_mm, height_tolerance=0.001, inner_coverage=0.97)


def test_depth_scale_applies_to_integer_depth(box_scene):
    depth_01mm = np.round(box_scene.depth * 10000).astype(np.uint16)
    result = project(box_scene, depth_01mm, depth_scale=0.0001)
    check_box(box_scene, result, height_tolerance=0.0002)


def test_invalid_depth_ignored(box_scene):
    # Put the camera inside the workspace box: a zero depth treated as valid would land on its centre.
    workspace = Workspace(0.1, 0.724, -0.4, 0.224, 0.0, 1.0, RES)
    rng = np.random.default_rng(0)
    spoiled = rng.random(box_scene.depth.shape) < 0.3
    depth = box_scene.depth.copy()
    depth[spoiled] = rng.choice(np.array([np.nan, 0.0, np.inf, -np.inf, -0.5], np.float32), spoiled.sum())
    result = project(box_scene, depth, workspace=workspace)
    # Reference: the same pixels sent 100 m away (far outside the box) instead, i.e. contributing nothing.
    far = box_scene.depth.copy()
    far[spoiled] = 100.0
    reference = project(box_scene, far, workspace=workspace)
    assert result.num_valid_depth == (~spoiled).sum() and reference.num_points == result.num_points
    np.testing.assert_array_equal(result.valid, reference.valid)
    np.testing.assert_array_equal(result.height, reference.height)
    np.testing.assert_array_equal(result.color, reference.color)
    assert abs(float(result.height.max()) - 0.06) <= 0.001
    # The same with uint16 zeros.
    depth_mm = np.round(box_scene.depth * 1000).astype(np.uint16)
    depth_mm[spoiled] = 0
    far_mm = depth_mm.copy()
    far_mm[spoiled] = 60000
    result_mm = project(box_scene, depth_mm, workspace=workspace)
    assert result_mm.num_valid_depth == (~spoiled).sum()
    np.testing.assert_array_equal(result_mm.height, project(box_scene, far_mm, workspace=workspace).height)


def test_all_invalid_depth_gives_empty_heightmap(box_scene):
    result = project(box_scene, np.full(box_scene.depth.shape, np.nan, np.float32))
    assert result.num_valid_depth == 0 and result.num_points == 0
    assert not result.valid.any() and not result.height.any() and not result.color.any()


def reference_projection(color, depth, intrinsics, pose, workspace, table_tolerance=0.01, eps=1e-5):
    """Per-pixel Python loop in float64: (color, height, valid, ambiguous cells).

    A cell is ambiguous when a point lies within `eps` of one of its borders (or of the z limits), or when its
    two highest points are within `eps`: float32 rounding may then legitimately decide differently.
    """
    rows, cols = workspace.shape
    k_inv = np.linalg.inv(intrinsics)
    top = np.full((rows, cols), -np.inf)
    second = np.full((rows, cols), -np.inf)
    out_color = np.zeros((rows, cols, 3), np.uint8)
    ambiguous = np.zeros((rows, cols), bool)
    for v in range(depth.shape[0]):
        for u in range(depth.shape[1]):
            d = float(depth[v, u])
            if not np.isfinite(d) or d <= 0:
                continue
            p = pose[:3, :3] @ (d * (k_inv @ [u, v, 1.0])) + pose[:3, 3]
            fc, fr = (p[0] - workspace.x_min) / workspace.resolution, (p[1] - workspace.y_min) / workspace.resolution
            near = [(int(np.floor(fr + a)), int(np.floor(fc + b))) for a in (-eps, eps) for b in (-eps, eps)]
            z_low, z_high = workspace.z_min - table_tolerance, workspace.z_max
            if len(set(near)) > 1 or min(abs(p[2] - z_low), abs(p[2] - z_high)) < eps:
                for r, c in near:
                    if 0 <= r < rows and 0 <= c < cols:
                        ambiguous[r, c] = True
            r, c = int(np.floor(fr)), int(np.floor(fc))
            if not (0 <= r < rows and 0 <= c < cols and z_low <= p[2] <= z_high):
                continue
            if p[2] > top[r, c]:
                second[r, c], top[r, c] = top[r, c], p[2]
                out_color[r, c] = color[v, u]
            elif p[2] > second[r, c]:
                second[r, c] = p[2]
    valid = np.isfinite(top)
    with np.errstate(invalid='ignore'):  # -inf - -inf in empty cells
        ambiguous |= valid & (top - second < eps)
    height = np.where(valid, np.maximum(top - workspace.z_min, 0.0), 0.0)
    return out_color, height, valid, ambiguous


@pytest.mark.parametrize('seed', [0, 1])
def test_matches_bruteforce_reference(rgbd, seed):
    # A random surface seen obliquely, random colours, spoiled pixels, a non-square workspace that cuts off
    # part of the view (also in z), 5 mm cells so several points compete per cell.
    rng = np.random.default_rng(seed)
    h, w = 120, 160
    intrinsics = np.array([[140.0, 0.0, 79.5], [0.0, 144.0, 59.5], [0.0, 0.0, 1.0]])
    pose = rgbd.look_at(np.array([0.3, -0.2, 0.4]), np.array([0.45, 0.0, 0.0]))
    depth = rng.uniform(0.3, 0.6, (h, w)).astype(np.float32)
    depth[rng.random((h, w)) < 0.1] = np.nan
    depth[rng.random((h, w)) < 0.1] = 0.0
    color = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    workspace = Workspace(0.3, 0.6, -0.1, 0.1, 0.0, 0.2, 0.005)
    result = project_rgbd(color, depth, intrinsics, pose, workspace)
    ref_color, ref_height, ref_valid, ambiguous = reference_projection(color, depth, intrinsics, pose, workspace)
    assert result.height.shape == (40, 60)
    assert result.num_points > 1.5 * ref_valid.sum() > 1500 and ambiguous.mean() < 0.05  # a meaningful comparison
    sure = ~ambiguous
    np.testing.assert_array_equal(result.valid[sure], ref_valid[sure])
    np.testing.assert_allclose(result.height[sure], ref_height[sure], atol=1e-5)
    np.testing.assert_array_equal(result.color[sure], ref_color[sure])


@pytest.mark.parametrize('color_shape, depth_shape, message', [
    ((480, 640, 3), (480, 639), 'does not match depth size'),
    ((480, 640), (480, 640), r'\(H, W, 3\)'),
    ((480, 640, 3), (480, 640, 1), '2-D'),
])
def test_bad_image_shapes_raise(box_scene, color_shape, depth_shape, message):
    with pytest.raises(ValueError, match=message):
        project_rgbd(np.zeros(color_shape, np.uint8), np.ones(depth_shape, np.float32), box_scene.intrinsics,
                     box_scene.camera_pose, DEFAULT_WORKSPACE)


def test_bad_intrinsics_and_pose_raise(box_scene):
    c, d, k, pose = box_scene.color, box_scene.depth, box_scene.intrinsics, box_scene.camera_pose
    with pytest.raises(ValueError, match='K must be 3x3'):
        project_rgbd(c, d, k[:2], pose, DEFAULT_WORKSPACE)
    with pytest.raises(ValueError, match='positive fx'):
        project_rgbd(c, d, np.zeros((3, 3)), pose, DEFAULT_WORKSPACE)
    with pytest.raises(ValueError, match='4x4'):
        project_rgbd(c, d, k, pose[:3], DEFAULT_WORKSPACE)
    with pytest.raises(ValueError, match='rotation'):
        project_rgbd(c, d, k, np.diag([1.0, 1.0, -1.0, 1.0]), DEFAULT_WORKSPACE)
    with pytest.raises(ValueError, match='NaN'):
        project_rgbd(c, d, k, np.full((4, 4), np.nan), DEFAULT_WORKSPACE)
    with pytest.raises(ValueError, match='uint8'):
        project_rgbd(c.astype(np.float32), d, k, pose, DEFAULT_WORKSPACE)


def test_vectorised_speed(box_scene):
    # A loose bound (the projection takes a few ms): fails for a per-pixel Python loop, not for a busy machine.
    project(box_scene)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        project(box_scene)
        times.append(time.perf_counter() - start)
    assert sorted(times)[2] < 0.1

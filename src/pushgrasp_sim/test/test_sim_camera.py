# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The simulated RGB-D camera: calibration conventions, depth accuracy, heightmaps and sensor effects."""

from __future__ import annotations

import math
import time

import mujoco
import numpy as np
import pytest

from pushgrasp_perception.projection import heightmap_from_rgbd
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE
from pushgrasp_sim.camera import CAMERA_NAME, CameraOptions, RGBDCamera
from pushgrasp_sim.randomization import DomainRandomizer, RandomizationOptions
from pushgrasp_sim.physics import load_cell_spec
from pushgrasp_sim.scene import add_objects

PILLAR = dict(xy=(0.42, 0.10), yaw=0.5, height=0.10)  # red: the palette's 7th colour
CUBE = dict(xy=(0.60, -0.08), yaw=-0.3, height=0.05)  # blue: the palette's 1st colour


@pytest.fixture(scope='module')
def scene():
    """A cell with a standing pillar and a cube at known poses (palette: cube blue, pillar red)."""
    spec = load_cell_spec()
    add_objects(spec, ['4.obj', '6.obj'], colors=[(78 / 255, 121 / 255, 167 / 255), (1.0, 87 / 255, 89 / 255)])
    model = spec.compile()
    data = mujoco.MjData(model)
    for index, block in enumerate((CUBE, PILLAR)):
        adr = model.jnt_qposadr[model.body(f'object_{index}').jntadr[0]]
        yaw = block['yaw']
        data.qpos[adr:adr + 7] = [*block['xy'], block['height'] / 2, math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)]
    mujoco.mj_forward(model, data)
    return model, data


@pytest.fixture(scope='module')
def camera(scene):
    model, _ = scene
    with RGBDCamera(model) as cam:
        yield cam


def project(camera_pose: np.ndarray, intrinsics: np.ndarray, point) -> np.ndarray:
    local = np.linalg.inv(camera_pose) @ np.append(point, 1.0)
    uv = intrinsics @ local[:3]
    return uv[:2] / uv[2]


def test_intrinsics_and_pose_conventions(scene, camera):
    _, data = scene
    intrinsics = camera.intrinsics
    focal = 240 / math.tan(math.radians(42.5 / 2))
    np.testing.assert_allclose(intrinsics, [[focal, 0, 319.5], [0, focal, 239.5], [0, 0, 1]])
    assert 610 < focal < 620  # D435-like colour stream
    pose = camera.camera_pose(data)
    rotation = pose[:3, :3]
    np.testing.assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-9)
    assert np.linalg.det(rotation) == pytest.approx(1.0)
    assert 0.7 <= pose[2, 3] <= 0.9  # mounted 0.7..0.9 m above the table
    forward = rotation[:, 2]  # OpenCV: z forward
    assert forward[2] < -0.85  # looking down, slightly oblique
    hit = pose[:3, 3] - forward * pose[2, 3] / forward[2]
    np.testing.assert_allclose(hit[:2], (0.5, 0.0), atol=0.01)  # optical axis through the workspace centre
    # The workspace corners, on the table and 0.1 m above it, are in view with a margin.
    for x in (DEFAULT_WORKSPACE.x_min, DEFAULT_WORKSPACE.x_max):
        for y in (DEFAULT_WORKSPACE.y_min, DEFAULT_WORKSPACE.y_max):
            for z in (0.0, 0.1):
                u, v = project(pose, intrinsics, (x, y, z))
                assert 40 <= u <= 600 and 40 <= v <= 440, (x, y, z, u, v)


def test_depth_is_z_depth_along_the_optical_axis(scene, camera):
    """Rendered depth equals ray-cast depth (rays scaled to unit camera z) to well under a millimetre."""
    model, data = scene
    color, depth = camera.render_rgbd(data)
    assert color.shape == (480, 640, 3) and color.dtype == np.uint8
    assert depth.shape == (480, 640) and depth.dtype == np.float32
    pose, intrinsics = camera.camera_pose(data), camera.intrinsics
    geom = np.zeros(1, dtype=np.int32)
    errors = []
    for v in range(10, 480, 47):
        for u in range(10, 640, 53):
            ray = pose[:3, :3] @ np.linalg.solve(intrinsics, [u, v, 1.0])
            expected = mujoco.mj_ray(model, data, pose[:3, 3], ray, None, 1, -1, geom)
            assert expected > 0
            errors.append(depth[v, u] - expected)
    assert np.abs(errors).max() < 3e-4


@pytest.mark.parametrize('jitter', [False, True])
def test_heightmap_of_rendered_frame_puts_blocks_where_they_are(scene, jitter):
    """Heights and footprints from RGB + depth + K + pose match the blocks' poses in the base frame.

    With camera jitter, the pose the camera reports must follow the moved camera for this to hold.
    """
    model, data = scene
    randomizer = DomainRandomizer(model, RandomizationOptions(camera_position_mm=15, camera_angle_deg=3))
    try:
        if jitter:
            randomizer.apply(model, np.random.default_rng(5))
            mujoco.mj_forward(model, data)
        with RGBDCamera(model) as cam:
            frame = cam.render(data)
    finally:
        randomizer.restore(model)
        mujoco.mj_forward(model, data)
    color_map, height_map = heightmap_from_rgbd(frame.color, frame.depth, frame.intrinsics, frame.camera_pose,
                                                DEFAULT_WORKSPACE)
    ws = DEFAULT_WORKSPACE
    rows, cols = np.indices(height_map.shape)
    x = ws.x_min + (cols + 0.5) * ws.resolution
    y = ws.y_min + (rows + 0.5) * ws.resolution
    near_any = np.zeros(height_map.shape, dtype=bool)
    for block in (PILLAR, CUBE):
        near_any |= np.hypot(x - block['xy'][0], y - block['xy'][1]) < 0.04
    assert height_map[~near_any].max() < 0.001  # only table elsewhere: no block anywhere else
    for block, dominant in ((PILLAR, 0), (CUBE, 2)):
        near = np.hypot(x - block['xy'][0], y - block['xy'][1]) < 0.04
        assert height_map[near].max() == pytest.approx(block['height'], abs=0.003)
        top = near & (np.abs(height_map - block['height']) < 0.003)
        np.testing.assert_allclose((x[top].mean(), y[top].mean()), block['xy'], atol=0.003)
        assert np.count_nonzero(top) * ws.resolution ** 2 == pytest.approx(0.05 * 0.05, rel=0.15)
        colors = color_map[top].astype(int)
        assert np.all(colors.argmax(axis=1) == dominant)  # the colour image is aligned with the depth


def test_depth_noise_has_the_configured_std(scene, camera):
    model, data = scene
    _, clean = camera.render_rgbd(data)
    options = CameraOptions(depth_noise_std=0.004, depth_noise_reference=1.0, seed=3)
    with RGBDCamera(model, options=options) as noisy_camera:
        _, noisy = noisy_camera.render_rgbd(data)
        _, noisy_again = noisy_camera.render_rgbd(data)
    with RGBDCamera(model, options=options) as same_seed:
        _, repeat = same_seed.render_rgbd(data)
    normalised = (noisy - clean)[clean > 0] / clean[clean > 0] ** 2  # std grows with depth squared
    assert normalised.std() == pytest.approx(0.004, rel=0.03)
    assert abs(normalised.mean()) < 1e-4
    assert not np.array_equal(noisy, noisy_again)  # fresh noise every frame
    np.testing.assert_array_equal(noisy, repeat)  # seeded


def test_missing_depth_fraction_and_edge_dropouts(scene, camera):
    model, data = scene
    _, clean = camera.render_rgbd(data)
    assert np.count_nonzero(clean == 0) == 0  # the table fills the view
    with RGBDCamera(model, options=CameraOptions(missing_depth_fraction=0.1, seed=1)) as cam:
        color, depth = cam.render_rgbd(data)
    missing = depth == 0
    assert missing.mean() == pytest.approx(0.1, abs=0.005)
    np.testing.assert_array_equal(depth[~missing], clean[~missing])
    assert color.any()

    with RGBDCamera(model, options=CameraOptions(edge_dropout_probability=1.0, edge_threshold=0.01)) as cam:
        _, depth = cam.render_rgbd(data)
    dropped = depth == 0
    jumps = np.zeros_like(dropped)
    jumps[:, 1:] |= np.abs(np.diff(clean, axis=1)) > 0.01
    jumps[:, :-1] |= np.abs(np.diff(clean, axis=1)) > 0.01
    jumps[1:] |= np.abs(np.diff(clean, axis=0)) > 0.01
    jumps[:-1] |= np.abs(np.diff(clean, axis=0)) > 0.01
    assert dropped.any()
    np.testing.assert_array_equal(dropped, jumps)  # exactly the pixels on the blocks' outlines


def test_close_and_context_manager(scene):
    model, data = scene
    cam = RGBDCamera(model, CAMERA_NAME)
    cam.render(data)
    cam.close()
    cam.close()  # idempotent
    with pytest.raises(RuntimeError, match='close'):
        cam.render_rgbd(data)
    with RGBDCamera(model) as cam:
        assert cam.render(data).depth.shape == (480, 640)
    with pytest.raises(RuntimeError):
        cam.render_rgbd(data)
    with pytest.raises(ValueError, match='no camera'):
        RGBDCamera(model, 'missing_camera')


def test_frame_rate(scene, camera):
    """640x480 RGB-D frames at well over 20 per second here (about 45 on one core); allow for a busy machine."""
    _, data = scene
    camera.render_rgbd(data)
    frames, start = 20, time.perf_counter()
    for _ in range(frames):
        camera.render_rgbd(data)
    assert frames / (time.perf_counter() - start) > 10

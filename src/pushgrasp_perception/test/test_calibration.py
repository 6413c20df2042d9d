# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Camera-to-robot calibration: marker detection, the PnP solver, the calibration file and the procedure."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from pushgrasp_perception.calibration import (
    MIN_POINTS, CalibrationGrid, CalibrationResult, collect_and_solve, find_marker, load_calibration,
    pose_difference, save_calibration, solve_camera_pose)

K = np.array([[617.0, 0.0, 319.5], [0.0, 617.0, 239.5], [0.0, 0.0, 1.0]])
SIM_CAMERA_YAML = Path(__file__).resolve().parents[3] / 'config' / 'sim_camera.yaml'


def camera_pose(position, target) -> np.ndarray:
    """Camera-to-base pose (OpenCV frame) at `position` looking at `target`, image right along base +y."""
    forward = np.asarray(target, float) - position
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [1.0, 0.0, 0.0])
    right /= np.linalg.norm(right)
    if right[1] < 0:
        right = -right
    down = np.cross(forward, right)
    pose = np.eye(4)
    pose[:3, :3] = np.column_stack([right, down, forward])
    pose[:3, 3] = position
    return pose


POSE = camera_pose(np.array([0.86, 0.03, 0.79]), [0.5, 0.02, 0.0])


def project(pose: np.ndarray, points: np.ndarray, dist=None) -> np.ndarray:
    inverse = np.linalg.inv(pose)
    rvec, _ = cv2.Rodrigues(inverse[:3, :3])
    pixels, _ = cv2.projectPoints(points, rvec, inverse[:3, 3], K, dist if dist is not None else np.zeros(5))
    return pixels.reshape(-1, 2)


def grid_points(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    points = np.array(CalibrationGrid().points())
    return points + rng.uniform(-0.01, 0.01, points.shape)


# --- solver -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_solve_recovers_the_pose_from_noisy_pixels(seed):
    rng = np.random.default_rng(seed)
    points = grid_points(seed)
    pixels = project(POSE, points) + rng.normal(0.0, 0.2, (len(points), 2))
    result = solve_camera_pose(points, pixels, K)
    position_mm, rotation_deg = pose_difference(result.camera_pose, POSE)
    assert position_mm < 1.0 and rotation_deg < 0.1, (position_mm, rotation_deg)
    assert result.num_points == len(points) and result.inliers.all()
    assert 0.1 < result.rms_reprojection_px < 0.35  # about the noise
    assert 0.0 < result.residual_mm < 0.5
    np.testing.assert_allclose(result.camera_pose[3], [0, 0, 0, 1])


def test_solve_with_lens_distortion():
    dist = np.array([0.1, -0.2, 0.001, -0.002, 0.05])
    points = grid_points()
    result = solve_camera_pose(points, project(POSE, points, dist), K, dist)
    position_mm, rotation_deg = pose_difference(result.camera_pose, POSE)
    assert position_mm < 0.01 and rotation_deg < 0.001
    assert result.rms_reprojection_px < 1e-4


def test_coplanar_points_are_fine():
    points = grid_points()
    points[:, 2] = 0.1
    result = solve_camera_pose(points, project(POSE, points), K)
    assert pose_difference(result.camera_pose, POSE)[0] < 0.01


def test_ransac_rejects_bad_detections():
    rng = np.random.default_rng(3)
    points = grid_points(3)
    pixels = project(POSE, points) + rng.normal(0.0, 0.2, (len(points), 2))
    bad = [4, 17, 30]
    pixels[bad] += [[40.0, -25.0], [-60.0, 10.0], [15.0, 35.0]]
    result = solve_camera_pose(points, pixels, K)
    assert not result.inliers[bad].any() and result.num_points == len(points) - len(bad)
    position_mm, rotation_deg = pose_difference(result.camera_pose, POSE)
    assert position_mm < 1.0 and rotation_deg < 0.1
    plain = solve_camera_pose(points, pixels, K, ransac_threshold_px=None)
    assert plain.num_points == len(points) and plain.rms_reprojection_px > 5.0


def test_bad_input_raises():
    points = grid_points()
    pixels = project(POSE, points)
    with pytest.raises(ValueError, match='at least'):
        solve_camera_pose(points[:MIN_POINTS - 1], pixels[:MIN_POINTS - 1], K)
    nan_points = points.copy()
    nan_points[3, 1] = np.nan
    with pytest.raises(ValueError, match='NaN'):
        solve_camera_pose(nan_points, pixels, K)
    nan_pixels = pixels.copy()
    nan_pixels[0, 0] = np.inf
    with pytest.raises(ValueError, match='NaN'):
        solve_camera_pose(points, nan_pixels, K)
    with pytest.raises(ValueError, match='pixels'):
        solve_camera_pose(points, pixels[:-1], K)
    with pytest.raises(ValueError, match=r'\(N, 3\)'):
        solve_camera_pose(points[:, :2], pixels, K)
    line = np.outer(np.linspace(0.0, 1.0, 10), [0.3, 0.1, 0.05]) + [0.4, 0.0, 0.1]
    with pytest.raises(ValueError, match='collinear'):
        solve_camera_pose(line, project(POSE, line), K)
    with pytest.raises(ValueError, match='intrinsics'):
        solve_camera_pose(points, pixels, np.eye(2))


# --- calibration file ---------------------------------------------------------------------------------------
def test_yaml_round_trip_through_the_perception_node(tmp_path):
    from pushgrasp_perception.ros.perception_node import load_camera_pose

    result = solve_camera_pose(grid_points(), project(POSE, grid_points()), K)
    path = save_calibration(tmp_path / 'sub' / 'camera.yaml', result, {'robot': 'ur5', 'grid': (4, 4, 3)})
    np.testing.assert_allclose(load_camera_pose(str(path)), result.camera_pose, atol=1e-8)
    loaded = load_calibration(path)
    np.testing.assert_allclose(loaded.camera_pose, result.camera_pose, atol=1e-8)
    assert loaded.rms_reprojection_px == pytest.approx(result.rms_reprojection_px)
    assert loaded.residual_mm == pytest.approx(result.residual_mm)
    assert loaded.num_points == result.num_points
    assert loaded.metadata['robot'] == 'ur5' and loaded.metadata['grid'] == [4, 4, 3]
    assert loaded.metadata['date'] and loaded.metadata['source']
    assert [p.name for p in path.parent.iterdir()] == ['camera.yaml']  # no temporary file left behind


def test_save_refuses_reserved_metadata_and_keeps_the_old_file(tmp_path):
    result = CalibrationResult(camera_pose=POSE, rms_reprojection_px=0.1, residual_mm=0.2, num_points=10)
    path = save_calibration(tmp_path / 'camera.yaml', result)
    before = path.read_text()
    with pytest.raises(ValueError, match='camera_pose'):
        save_calibration(path, result, {'camera_pose': [1, 2, 3]})
    assert path.read_text() == before
    assert len(list(tmp_path.iterdir())) == 1


def test_load_reads_the_sim_camera_file_and_refuses_bad_files(tmp_path):
    loaded = load_calibration(SIM_CAMERA_YAML)
    assert loaded.camera_pose[0, 3] == pytest.approx(0.85) and loaded.residual_mm == 0.0
    assert math.isnan(loaded.rms_reprojection_px) and loaded.num_points == 0
    bad = tmp_path / 'bad.yaml'
    bad.write_text('pose: [1, 2]\n')
    with pytest.raises(ValueError, match='camera_pose'):
        load_calibration(bad)
    bad.write_text('camera_pose: [1, 2, 3]\n')
    with pytest.raises(ValueError, match='4x4'):
        load_calibration(bad)


# --- marker detection ---------------------------------------------------------------------------------------
def background(rng: np.random.Generator) -> np.ndarray:
    """A grey 640x480 image with a coarse checker like the simulated table, and a little noise."""
    rows, cols = np.mgrid[0:480, 0:640]
    image = np.where(((rows // 40 + cols // 40) % 2)[..., None] == 0, [76, 76, 82], [66, 66, 71])
    return np.clip(image + rng.normal(0.0, 1.0, image.shape), 0, 255).astype(np.uint8)


def draw_disc(image: np.ndarray, centre, radius: float, color=(255, 0, 255)) -> None:
    scale = 256
    cv2.circle(image, (round(centre[0] * scale), round(centre[1] * scale)), round(radius * scale), color, -1,
               cv2.LINE_AA, shift=8)


@pytest.mark.parametrize('radius', [4.0, 6.5, 12.0])
def test_find_marker_is_sub_pixel_accurate(radius):
    rng = np.random.default_rng(int(radius * 10))
    for _ in range(10):
        image = background(rng)
        centre = rng.uniform([50.0, 50.0], [590.0, 430.0])
        draw_disc(image, centre, radius)
        found = find_marker(image)
        assert found is not None
        assert math.dist(found, centre) < 0.3, (found, centre)


def test_find_marker_ignores_other_colours_shapes_and_cut_off_blobs():
    rng = np.random.default_rng(5)
    image = background(rng)
    assert find_marker(image) is None
    draw_disc(image, (100.3, 200.7), 8.0, color=(40, 200, 60))  # green disc: wrong colour
    cv2.rectangle(image, (300, 100), (380, 108), (255, 0, 255), -1)  # magenta bar: not round
    draw_disc(image, (2.0, 300.0), 8.0)  # cut off by the image border
    assert find_marker(image) is None
    draw_disc(image, (420.25, 333.6), 7.0, color=(200, 20, 190))  # the marker, a little darker
    found = find_marker(image)
    assert found is not None and math.dist(found, (420.25, 333.6)) < 0.3
    with pytest.raises(ValueError, match='uint8'):
        find_marker(image.astype(np.float32))


# --- the procedure ------------------------------------------------------------------------------------------
class FakeRobot:
    """A robot that reaches every target except those with x above `max_x`, where it raises like a UR would."""

    def __init__(self, max_x: float) -> None:
        self.max_x = max_x
        self.position = np.array([0.5, 0.0, 0.45])
        self.yaw = 0.0

    def move_linear(self, position, yaw, speed, accel, should_stop=None) -> bool:
        if position[0] > self.max_x:
            raise RuntimeError('out of reach')
        self.position, self.yaw = np.asarray(position, float), yaw
        return True

    def tcp_pose(self) -> np.ndarray:
        """The TCP pose: pointing down, jaws along (cos yaw, sin yaw), i.e. Rz(yaw) Rx(pi)."""
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        pose = np.eye(4)
        pose[:3, :3] = [[c, s, 0.0], [s, -c, 0.0], [0.0, 0.0, -1.0]]
        pose[:3, 3] = self.position
        return pose


def test_collect_and_solve_with_a_fake_robot_and_camera():
    marker_offset = np.array([0.06, 0.0, -0.07])
    yaw = 0.3
    robot = FakeRobot(max_x=0.6)
    rng = np.random.default_rng(7)

    def grab_frame():
        pose = robot.tcp_pose()
        marker = pose[:3, :3] @ marker_offset + pose[:3, 3]
        image = background(rng)
        if robot.position[2] < 0.1 and robot.position[1] > 0.1:
            return image, K  # the marker is hidden here
        draw_disc(image, project(POSE, marker[None])[0], 7.0)
        return image, K

    grid = CalibrationGrid(shape=(4, 4, 3))
    result = collect_and_solve(robot, grab_frame, marker_offset, grid.points(), yaw, tcp_pose=robot.tcp_pose)
    assert result.metadata['poses'] == 48
    assert result.metadata['unreachable'] == 12  # x = 0.68
    assert result.metadata['not_found'] == 3  # lowest layer, y = 0.18, x < 0.6
    assert result.num_points == 33 and result.metadata['rejected_outliers'] == 0
    position_mm, rotation_deg = pose_difference(result.camera_pose, POSE)
    assert position_mm < 1.0 and rotation_deg < 0.1
    with pytest.raises(ValueError, match='only'):
        unreachable = FakeRobot(max_x=0.0)
        collect_and_solve(unreachable, grab_frame, marker_offset, grid.points(), yaw, tcp_pose=unreachable.tcp_pose)


def test_grid_is_a_serpentine_over_several_heights():
    points = np.array(CalibrationGrid(shape=(3, 4, 2)).points())
    assert len(points) == 24 and len(np.unique(points, axis=0)) == 24
    steps = np.count_nonzero(np.abs(np.diff(points, axis=0)) > 1e-12, axis=1)
    assert np.all(steps == 1)  # every move changes one coordinate only
    assert sorted(set(points[:, 2])) == [0.05, 0.2]
    with pytest.raises(ValueError, match='heights'):
        CalibrationGrid(shape=(4, 4, 1))

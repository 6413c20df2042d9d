# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Camera-to-robot calibration in the simulated cell: the marker, and recovering the simulator's camera pose."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pushgrasp_control.primitives import tool_down_rotation
from pushgrasp_perception.calibration import find_marker, load_calibration, pose_difference
from pushgrasp_perception.ros.perception_node import load_camera_pose
from pushgrasp_sim import kinematics
from pushgrasp_sim.calibration import MARKER_NAME, calibrate_sim, marker_camera, marker_in_tcp
from pushgrasp_sim.env import PushGraspEnv

NOMINAL_POSITION = np.array([0.85, 0.0, 0.80])  # assets/camera.xml


@pytest.fixture(scope='module')
def calibrated(tmp_path_factory):
    """calibrate_sim with the defaults, writing its YAML."""
    out = tmp_path_factory.mktemp('calibration') / 'camera.yaml'
    return calibrate_sim(seed=0, out=str(out))


def test_calibration_recovers_the_simulated_camera(calibrated):
    """The issue's acceptance test: within 5 mm and 0.5 deg of the simulator's camera pose."""
    assert calibrated['position_error_mm'] < 5.0
    assert calibrated['rotation_error_deg'] < 0.5
    assert calibrated['num_points'] == calibrated['num_poses'] == 48
    assert calibrated['num_skipped'] == 0
    assert calibrated['rms_reprojection_px'] < 0.5
    assert calibrated['residual_mm'] < 1.0
    position, rotation = pose_difference(np.array(calibrated['camera_pose']), np.array(calibrated['true_camera_pose']))
    assert position == pytest.approx(calibrated['position_error_mm'])
    assert rotation == pytest.approx(calibrated['rotation_error_deg'])


def test_calibration_file_is_read_by_the_perception_node(calibrated):
    pose = load_camera_pose(calibrated['calibration_file'])
    np.testing.assert_allclose(pose, calibrated['camera_pose'], atol=1e-8)
    loaded = load_calibration(calibrated['calibration_file'])
    assert loaded.num_points == 48
    assert loaded.residual_mm == pytest.approx(calibrated['residual_mm'])
    assert loaded.metadata['seed'] == 0 and loaded.metadata['source'] == 'pushgrasp_sim.calibration.calibrate_sim'


def test_calibration_recovers_a_perturbed_camera():
    figures = calibrate_sim(seed=1, grid=(3, 3, 2), camera_position_mm=30.0, camera_angle_deg=3.0)
    true_pose = np.array(figures['true_camera_pose'])
    assert np.linalg.norm(true_pose[:3, 3] - NOMINAL_POSITION) > 0.01  # the camera really was moved
    assert figures['position_error_mm'] < 5.0
    assert figures['rotation_error_deg'] < 0.5
    assert figures['calibration_file'] is None
    assert figures == calibrate_sim(seed=1, grid=(3, 3, 2), camera_position_mm=30.0, camera_angle_deg=3.0)


def test_marker_is_invisible_to_the_normal_camera_and_rides_with_the_tcp():
    with PushGraspEnv() as env:
        env.reset(0, 0)
        physics = env.physics
        geom = physics.model.geom(MARKER_NAME)
        assert geom.contype[0] == 0 and geom.conaffinity[0] == 0
        assert geom.group[0] not in env.config.camera.geom_groups
        offset = marker_in_tcp(physics.model)
        assert np.linalg.norm(offset) > 0.05  # on the palm end, beside the tool axis
        assert env.robot.move_linear(np.array([0.45, 0.1, 0.12]), 0.0, 0.25, 1.2)
        tcp = physics.tcp_pose()
        site = physics.data.site_xpos[physics.site_id(MARKER_NAME)]
        np.testing.assert_allclose(tcp[:3, :3] @ offset + tcp[:3, 3], site, atol=1e-9)
        assert find_marker(env.render().color) is None
        with marker_camera(physics) as camera:
            frame = camera.render(physics.data)
            found = find_marker(frame.color)
            marker = np.linalg.inv(frame.camera_pose) @ np.append(tcp[:3, :3] @ offset + tcp[:3, 3], 1.0)
            expected = (frame.intrinsics @ marker[:3])[:2] / marker[2]
            assert found is not None and math.dist(found, expected) < 0.5


@pytest.mark.parametrize('yaw', [0.0, 0.7, -2.0])
def test_tool_rotation_convention_matches_the_kinematics(yaw):
    """The arm's IK solution for a downward tool at `yaw` has the primitives' tool orientation (yaw mod pi)."""
    home = np.array([2.921521, -1.477016, 1.028734, -1.122513, -1.570796, -1.790868])
    rotation = kinematics.forward_tcp(kinematics.inverse_down(np.array([0.5, 0.05, 0.2]), yaw, home))[:3, :3]
    error = min(np.abs(rotation - tool_down_rotation(yaw + turn)).max() for turn in (0.0, np.pi))
    assert error < 1e-9

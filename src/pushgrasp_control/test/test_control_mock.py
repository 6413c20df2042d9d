# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The kinematic mock robot backend and the backend registry."""

import math
import threading
import time

import numpy as np
import pytest

from pushgrasp_control.backends import BackendUnavailable, make_robot
from pushgrasp_control.backends.mock import (
    GRIPPER_OPEN_WIDTH, HOME_POSITION, MockRobot, trapezoid_distance, trapezoid_duration)


def test_trapezoid_profile():
    # 0.25 m at 0.25 m/s and 1.2 m/s^2: 2 ramps of 0.208 s and 0.792 s cruising.
    assert trapezoid_duration(0.25, 0.25, 1.2) == pytest.approx(2 * 0.25 / 1.2 + (0.25 - 0.25 ** 2 / 1.2) / 0.25)
    total = trapezoid_duration(0.25, 0.25, 1.2)
    assert trapezoid_distance(total, 0.25, 0.25, 1.2) == pytest.approx(0.25)
    assert trapezoid_distance(total / 2, 0.25, 0.25, 1.2) == pytest.approx(0.125)
    # Too short to reach full speed: a triangle.
    assert trapezoid_duration(0.01, 0.25, 1.2) == pytest.approx(2 * np.sqrt(0.01 / 1.2))
    assert trapezoid_distance(trapezoid_duration(0.01, 0.25, 1.2) / 2, 0.01, 0.25, 1.2) == pytest.approx(0.005)


def test_move_takes_scaled_real_time_and_arrives():
    robot = MockRobot(time_scale=10.0)
    target = np.array(HOME_POSITION) + [0.0, 0.25, 0.0]
    start = time.monotonic()
    assert robot.move_linear(target, 0.5, speed=0.25, accel=1.2)
    elapsed = time.monotonic() - start
    assert 0.1 * trapezoid_duration(0.25, 0.25, 1.2) - 0.005 <= elapsed < 0.6
    np.testing.assert_allclose(robot.tcp_position, target)
    assert robot.tcp_yaw == pytest.approx(0.5)
    assert not robot.moving


def test_should_stop_halts_motion_mid_way():
    robot = MockRobot(time_scale=1.0)
    start = robot.tcp_position
    target = start + [0.0, 0.0, -0.3]  # 1.4 s at 0.25 m/s
    begin = time.monotonic()
    reached = robot.move_linear(target, 0.0, 0.25, 1.2, should_stop=lambda: time.monotonic() - begin > 0.3)
    elapsed = time.monotonic() - begin
    assert not reached
    assert elapsed < 0.5
    z = robot.tcp_position[2]
    assert target[2] + 0.05 < z < start[2] - 0.02  # stopped part of the way down
    time.sleep(0.05)
    assert robot.tcp_position[2] == z  # and stays there


def test_stop_from_another_thread_halts_motion_at_once():
    robot = MockRobot(time_scale=1.0)
    target = robot.tcp_position + [0.3, 0.0, 0.0]
    outcome = {}

    def move():
        outcome['reached'] = robot.move_linear(target, 0.0, 0.25, 1.2)
        outcome['time'] = time.monotonic()

    thread = threading.Thread(target=move)
    thread.start()
    time.sleep(0.3)
    assert robot.moving
    stopped_at = time.monotonic()
    robot.stop()
    thread.join(timeout=2.0)
    assert outcome['reached'] is False
    assert outcome['time'] - stopped_at < 0.05
    assert HOME_POSITION[0] + 0.01 < robot.tcp_position[0] < target[0] - 0.05
    # A new move after a stop runs normally.
    robot.time_scale = math.inf
    assert robot.move_linear(target, 0.0, 0.25, 1.2)
    np.testing.assert_allclose(robot.tcp_position, target)


def test_mock_gripper_closes_on_nothing():
    robot = MockRobot(time_scale=math.inf)
    assert robot.gripper_width() == pytest.approx(GRIPPER_OPEN_WIDTH)
    assert robot.close_gripper() == 0.0
    assert robot.gripper_width() == 0.0
    robot.open_gripper()
    assert robot.gripper_width() == pytest.approx(GRIPPER_OPEN_WIDTH)


def test_mock_joint_moves_leave_tcp():
    robot = MockRobot(time_scale=math.inf)
    assert robot.move_joints([0.1, -1.0, 1.0, 0.0, 0.5, 0.0], speed=1.05, accel=1.4)
    np.testing.assert_allclose(robot.joints, [0.1, -1.0, 1.0, 0.0, 0.5, 0.0])
    np.testing.assert_allclose(robot.tcp_position, HOME_POSITION)


def test_make_robot():
    robot = make_robot('mock', time_scale=4.0)
    assert isinstance(robot, MockRobot) and robot.time_scale == 4.0
    # Without ur_rtde / moveit_py installed the real backends say what is missing.
    with pytest.raises(BackendUnavailable, match='pip install ur_rtde'):
        make_robot('ur_rtde', robot_ip='192.168.1.10')
    with pytest.raises(BackendUnavailable, match='moveit_py'):
        make_robot('moveit', robot_ip='192.168.1.10', tcp_offset=0.15, pose_msg_factory=lambda *a: a)
    with pytest.raises(ValueError, match='sim bridge node over ROS'):
        make_robot('sim')
    with pytest.raises(ValueError, match='mock, sim, ur_rtde, moveit'):
        make_robot('ur10')
    with pytest.raises(ValueError, match='mock'):
        make_robot('mock', robot_ip='192.168.1.10')
    with pytest.raises(ValueError, match='time_scale'):
        make_robot('mock', time_scale=0.0)

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The simulated UR5 and gripper: straight-line moves, yaw, table collisions, the gripper and whole primitives."""

import math
import time

import re

import mujoco
import numpy as np
import pytest

from pushgrasp_control.motion import MotionLimits, RobotError, execute_plan, plan_primitive, validate_plan
from pushgrasp_control.primitives import PrimitiveType, primitive_from_pixel
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE
from pushgrasp_sim.physics import Physics, load_cell_spec
from pushgrasp_sim.robot import SimRobot, SimRobotConfig

BOX_HALF = 0.025


def make_robot(with_box=False):
    if with_box:
        spec = load_cell_spec()
        box = spec.worldbody.add_body(name='box', pos=[0.5, 0.0, BOX_HALF])
        box.add_freejoint()
        box.add_geom(name='box', type=mujoco.mjtGeom.mjGEOM_BOX, size=[BOX_HALF] * 3, rgba=[0.8, 0.2, 0.2, 1])
        physics = Physics(spec.compile())
    else:
        physics = Physics.from_xml()
    return physics, SimRobot(physics)


def record_tcp(physics):
    """Record the TCP position after every physics step call."""
    trace = []
    step = physics.step

    def recording_step(n=1):
        step(n)
        trace.append(physics.tcp_position())

    physics.step = recording_step
    return trace


def deviation_from_segment(points, start, end):
    direction = end - start
    length = np.linalg.norm(direction)
    unit = direction / length
    along = np.clip((points - start) @ unit, 0.0, length)
    return np.linalg.norm(points - start - along[:, None] * unit, axis=1)


def jaw_axis(physics):
    """Unit vector from the right pad to the left pad, measured on the pad geoms."""
    left = physics.data.geom('left_pad').xpos
    right = physics.data.geom('right_pad').xpos
    axis = left - right
    return axis / np.linalg.norm(axis)


def yaw_error_deg(angle, yaw):
    return abs(math.degrees((angle - yaw + math.pi / 2) % math.pi - math.pi / 2))


def test_home_pose_points_down_above_the_workspace():
    physics, robot = make_robot()
    np.testing.assert_allclose(robot.tcp_position(), [0.5, 0.0, 0.45], atol=1e-4)
    assert physics.tcp_pose()[2, 2] == pytest.approx(-1.0, abs=1e-6)
    assert robot.gripper_width() == pytest.approx(0.085, abs=1e-4)
    # Standing still at home: the servos hold the arm without drifting.
    physics.step(500)
    np.testing.assert_allclose(robot.tcp_position(), [0.5, 0.0, 0.45], atol=2e-4)
    assert not physics.table_contacts()


def test_unreachable_target_is_refused_before_moving():
    physics, robot = make_robot()
    joints, steps = robot.joint_positions(), robot.steps_taken
    with pytest.raises(RobotError, match='reach'):
        robot.move_linear(np.array([1.2, 0.0, 0.1]), 0.0, 0.25, 1.2)
    assert robot.steps_taken == steps
    np.testing.assert_array_equal(robot.joint_positions(), joints)


def test_move_linear_follows_a_straight_line_and_arrives():
    physics, robot = make_robot()
    trace = record_tcp(physics)
    targets = [((0.3, -0.2, 0.2), 0.0, 0.25), ((0.7, 0.2, 0.02), 1.0, 0.25), ((0.7, 0.2, 0.3), 1.0, 0.1),
               ((0.28, 0.22, 0.01), -1.3, 0.25)]
    for target, yaw, speed in targets:
        start = robot.tcp_position()
        trace.clear()
        assert robot.move_linear(np.array(target), yaw, speed, 1.2)
        assert deviation_from_segment(np.array(trace), start, np.array(target)).max() < 0.003
        assert np.linalg.norm(robot.tcp_position() - target) < 0.002


def test_move_linear_takes_the_time_of_its_speed_profile():
    physics, robot = make_robot()
    start_time = physics.time
    assert robot.move_linear(np.array([0.5, 0.0, 0.05]), 0.0, 0.1, 1.2)
    # 0.4 m at 0.1 m/s after 1.2 m/s^2 ramps: 4.083 s (plus a short settle).
    assert 4.05 < physics.time - start_time < 4.3


@pytest.mark.parametrize('yaw', [0.0, 0.6, math.pi / 2, -1.2, 2.8, -math.pi])
def test_gripper_turns_to_the_commanded_yaw_pointing_down(yaw):
    physics, robot = make_robot()
    assert robot.move_linear(np.array([0.45, 0.05, 0.1]), yaw, 0.25, 1.2)
    axis = jaw_axis(physics)
    assert abs(axis[2]) < math.sin(math.radians(1.0))
    assert yaw_error_deg(math.atan2(axis[1], axis[0]), yaw) < 2.0
    assert physics.tcp_pose()[2, 2] < -math.cos(math.radians(1.0))
    # The wrist took the shorter of the two equivalent turns.
    assert yaw_error_deg(robot.tcp_yaw(), yaw) < 2.0
    assert abs(robot.joint_positions()[5] - physics.keyframe_arm_qpos()[5]) <= math.pi / 2 + 0.05


def test_commanding_the_tcp_below_the_table_stops_on_contact():
    physics, robot = make_robot()
    assert robot.move_linear(np.array([0.5, 0.1, 0.1]), 0.3, 0.25, 1.2)
    with pytest.raises(RobotError, match='collision with the table'):
        robot.move_linear(np.array([0.5, 0.1, -0.05]), 0.3, 0.1, 1.2)
    assert robot.last_collision is not None
    names = {robot.last_collision.geom1, robot.last_collision.geom2}
    assert 'table' in names
    stopped = robot.tcp_position()
    assert -0.005 < stopped[2] < 0.002  # the fingertips touched at z = 0 and went no further
    physics.step(250)
    assert np.linalg.norm(robot.tcp_position() - stopped) < 0.002  # the arm holds where it stopped


def test_pressing_the_closed_fingers_onto_an_object_is_a_protective_stop():
    physics, robot = make_robot(with_box=True)
    assert robot.move_linear(np.array([0.5, 0.0, 0.15]), 0.0, 0.25, 1.2)
    robot.close_gripper()
    with pytest.raises(RobotError, match='protective stop'):
        robot.move_linear(np.array([0.5, 0.0, 0.02]), 0.0, 0.1, 1.2)  # fingertips onto the box top
    assert robot.last_collision is None
    assert robot.tcp_position()[2] > 2 * BOX_HALF - 0.01


def test_a_force_stop_names_the_robot_part_and_what_it_pressed_on():
    physics, _ = make_robot(with_box=True)
    robot = SimRobot(physics, SimRobotConfig(max_contact_force=5.0))  # stops on the first firm touch
    assert robot.move_linear(np.array([0.5, 0.0, 0.15]), 0.0, 0.25, 1.2)
    robot.close_gripper()
    with pytest.raises(RobotError, match='protective stop: contact force') as stop:
        robot.move_linear(np.array([0.5, 0.0, 0.02]), 0.0, 0.1, 1.2)  # fingertips onto the box top
    assert re.search(r'exceeds 5 N \((left|right)_pad on box\)', str(stop.value)), str(stop.value)


def test_gripper_closes_on_nothing_and_opens_fully():
    physics, robot = make_robot()
    assert robot.close_gripper() < 0.001
    assert robot.gripper_width() < 0.001
    robot.open_gripper()
    assert robot.gripper_width() == pytest.approx(0.085, abs=0.001)


def test_grasping_a_box_holds_it_while_lifting():
    physics, robot = make_robot(with_box=True)
    height = np.zeros(DEFAULT_WORKSPACE.shape, np.float32)
    row, col = DEFAULT_WORKSPACE.base_to_pixel(0.5, 0.0)
    height[row, col] = 2 * BOX_HALF
    grasp = primitive_from_pixel(PrimitiveType.GRASP, 4, row, col, height, DEFAULT_WORKSPACE)  # yaw pi/2
    limits = MotionLimits()
    plan = plan_primitive(grasp, limits)
    validate_plan(plan, limits)
    widths, lifts = [], []

    def on_phase(phase, progress):
        if progress > 0.5:  # after closing: the lift, then the retreat
            widths.append(robot.gripper_width())
            lifts.append(physics.body_position('box')[2] - robot.tcp_position()[2])

    result = execute_plan(robot, plan, on_phase=on_phase)
    assert result.error == ''
    assert result.success
    assert result.grasp_width == pytest.approx(2 * BOX_HALF, abs=0.002)
    box = physics.body_position('box')
    tcp = robot.tcp_position()
    assert box[2] > BOX_HALF + 0.1  # lifted by the lift and the retreat
    assert tcp[2] == pytest.approx(2 * BOX_HALF + limits.approach_height, abs=0.002)
    # The box rose with the TCP: same offset as when the jaws closed, still centred between them.
    assert box[2] - tcp[2] == pytest.approx(lifts[0], abs=0.002)
    np.testing.assert_allclose(box[:2], tcp[:2], atol=0.003)
    left, right = physics.finger_contacts('box')
    assert left and right
    # The finite grip force: each jaw squeezes with about 30 N (a 2F-85 at low force), not more.
    for contacts in (left, right):
        assert 20.0 < sum(c.normal_force for c in contacts) < 40.0
    assert robot.gripper_width() == pytest.approx(2 * BOX_HALF, abs=0.002)


def test_push_and_grasp_plans_run_on_an_empty_table():
    physics, robot = make_robot()
    height = np.zeros(DEFAULT_WORKSPACE.shape, np.float32)
    limits = MotionLimits()
    for kind, rotation, row, col in ((PrimitiveType.PUSH, 3, 60, 180), (PrimitiveType.GRASP, 11, 150, 40)):
        plan = plan_primitive(primitive_from_pixel(kind, rotation, row, col, height, DEFAULT_WORKSPACE), limits)
        validate_plan(plan, limits)
        result = execute_plan(robot, plan)
        assert result.error == ''
        assert result.success == (kind == PrimitiveType.PUSH)  # nothing to hold on an empty table
        np.testing.assert_allclose(robot.tcp_position(), plan.waypoints[-1].position, atol=0.002)
        assert yaw_error_deg(robot.tcp_yaw(), plan.waypoints[-1].yaw) < 2.0
    assert result.grasp_width < 0.001


def test_a_grasp_primitive_is_fast():
    physics, robot = make_robot()
    height = np.zeros(DEFAULT_WORKSPACE.shape, np.float32)
    limits = MotionLimits()
    plan = plan_primitive(primitive_from_pixel(PrimitiveType.GRASP, 5, 112, 112, height, DEFAULT_WORKSPACE), limits)
    steps, start = robot.steps_taken, time.perf_counter()
    assert execute_plan(robot, plan).error == ''
    wall = time.perf_counter() - start
    assert robot.steps_taken - steps > 1000  # the motion really was simulated, in 2 ms steps
    assert wall < 1.0  # typically about 0.04 s; generous for loaded CI machines


def test_should_stop_ends_the_motion_and_the_arm_holds():
    physics, robot = make_robot()
    calls = []

    def should_stop():
        calls.append(1)
        return len(calls) > 50

    assert not robot.move_linear(np.array([0.5, 0.0, 0.05]), 0.0, 0.25, 1.2, should_stop)
    physics.step(150)
    stopped = robot.tcp_position()
    assert 0.15 < stopped[2] < 0.4
    physics.step(250)
    assert np.linalg.norm(robot.tcp_position() - stopped) < 0.001
    # The next move starts from where the arm is.
    assert robot.move_linear(np.array([0.5, 0.0, 0.2]), 0.0, 0.25, 1.2)
    # stop() during a motion (here called from the motion's own polling, as another thread would).
    calls.clear()

    def stop_later():
        calls.append(1)
        if len(calls) == 20:
            robot.stop()
        return False

    assert not robot.move_linear(np.array([0.3, 0.1, 0.2]), 0.0, 0.25, 1.2, stop_later)
    assert np.linalg.norm(robot.tcp_position() - [0.3, 0.1, 0.2]) > 0.05
    assert robot.move_linear(np.array([0.3, 0.1, 0.2]), 0.0, 0.25, 1.2)  # a stop does not linger


def test_move_joints_and_go_home():
    physics, robot = make_robot()
    goal = physics.keyframe_arm_qpos() + np.array([0.3, 0.1, -0.2, 0.1, 0.2, -0.5])
    assert robot.move_joints(goal, 1.05, 1.4)
    np.testing.assert_allclose(robot.joint_positions(), goal, atol=1e-3)
    assert robot.go_home()
    np.testing.assert_allclose(robot.tcp_position(), [0.5, 0.0, 0.45], atol=1e-3)
    with pytest.raises(RobotError, match='joint limits'):
        robot.move_joints([0.0, 0.0, 4.0, 0.0, 0.0, 0.0], 1.0, 1.0)

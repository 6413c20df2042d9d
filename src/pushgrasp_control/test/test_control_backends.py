# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The ur_rtde, Robotiq and MoveIt backends against recording stand-ins for ur_rtde, the URCap socket and moveit_py."""

import math
import types

import numpy as np
import pytest

from pushgrasp_control.backends import BackendUnavailable, make_robot
from pushgrasp_control.backends.moveit import MoveItRobot
from pushgrasp_control.backends.robotiq import Robotiq2F85, position_to_width
from pushgrasp_control.backends.ur_rtde import URRtdeRobot, tool_down_rotvec
from pushgrasp_control.motion import MotionLimits, RobotError, execute_plan, plan_primitive
from pushgrasp_control.primitives import PrimitiveType, primitive_from_pixel
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE

LIMITS = MotionLimits(linear_speed=0.3, linear_accel=0.9, contact_speed=0.05)


def make_primitive(kind, rotation):
    height = np.zeros(DEFAULT_WORKSPACE.shape, np.float32)
    height[112, 112] = 0.02
    return primitive_from_pixel(kind, rotation, 112, 112, height, DEFAULT_WORKSPACE)


def rotation_matrix(rotvec):
    angle = float(np.linalg.norm(rotvec))
    axis = np.asarray(rotvec) / angle
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * k @ k


# -- ur_rtde stand-ins ------------------------------------------------------------------------------------------

class FakeRTDE:
    """Control and receive interfaces in one: records calls; an async move finishes after `ticks` polls."""

    def __init__(self, ticks=2):
        self.calls = []
        self.pose = [0.4, 0.0, 0.4, math.pi, 0.0, 0.0]
        self.ticks, self.remaining, self.target = ticks, 0, None
        self.connected, self.protective, self.on_move = True, False, None

    # control
    def moveL(self, pose, speed, acceleration, asynchronous):
        self.calls.append(('moveL', list(pose), speed, acceleration, asynchronous))
        self.target, self.remaining = list(pose), self.ticks
        if self.on_move is not None:
            self.on_move(self)
        return True

    def getAsyncOperationProgress(self):
        if self.remaining > 0:
            self.remaining -= 1
            return 0
        if self.target is not None:
            self.pose, self.target = self.target, None
        return -1

    def stopL(self, a):
        self.calls.append(('stopL', a))
        self.target, self.remaining = None, 0

    def isConnected(self):
        if self.connected is None:
            raise RuntimeError('RTDE connection lost')
        return self.connected

    def isProgramRunning(self):
        return True

    # receive
    def getActualTCPPose(self):
        return list(self.pose)

    def isProtectiveStopped(self):
        return self.protective

    def isEmergencyStopped(self):
        return False


class FakeGripper:
    def __init__(self, closed_width=0.03):
        self.calls, self.closed_width, self.current = [], closed_width, 0.085

    def open(self):
        self.calls.append('open')
        self.current = 0.085

    def close(self):
        self.calls.append('close')
        self.current = self.closed_width
        return self.current

    def width(self):
        return self.current


def ur_robot(rtde=None, gripper=None):
    rtde = rtde or FakeRTDE()
    robot = URRtdeRobot('10.0.0.2', gripper=gripper or FakeGripper(), control_factory=lambda ip: rtde,
                        receive_factory=lambda ip: rtde, poll_period=0.0)
    return robot, rtde


def test_tool_down_rotation_has_jaw_axis_along_yaw():
    for yaw in (-math.pi / 2, -0.7, 0.0, 0.3, 1.2):
        r = rotation_matrix(tool_down_rotvec(yaw))
        np.testing.assert_allclose(r[:, 0], [math.cos(yaw), math.sin(yaw), 0], atol=1e-12)
        np.testing.assert_allclose(r[:, 2], [0, 0, -1], atol=1e-12)


def test_ur_push_sends_movel_poses_speeds_and_closes_gripper():
    gripper = FakeGripper()
    robot, rtde = ur_robot(gripper=gripper)
    push = make_primitive(PrimitiveType.PUSH, rotation=4)
    plan = plan_primitive(push, LIMITS)
    result = execute_plan(robot, plan)
    assert result.success, result.error
    moves = [c for c in rtde.calls if c[0] == 'moveL']
    assert len(moves) == len(plan.waypoints)
    for call, waypoint in zip(moves, plan.waypoints, strict=True):
        _, pose, speed, accel, asynchronous = call
        np.testing.assert_allclose(pose[:3], waypoint.position)
        np.testing.assert_allclose(pose[3:], tool_down_rotvec(waypoint.yaw))
        assert (speed, accel, asynchronous) == (waypoint.speed, waypoint.accel, True)
    assert {c[2] for c in moves} == {0.3, 0.05}  # free moves fast, contact moves slow
    assert gripper.calls == ['close']  # closed above the push start
    assert not any(c[0] == 'stopL' for c in rtde.calls)


def test_ur_grasp_opens_then_closes_and_reports_the_width():
    gripper = FakeGripper(closed_width=0.03)
    robot, rtde = ur_robot(gripper=gripper)
    plan = plan_primitive(make_primitive(PrimitiveType.GRASP, rotation=2), LIMITS)
    result = execute_plan(robot, plan)
    assert result.success and result.grasp_width == pytest.approx(0.03)
    assert gripper.calls == ['open', 'close']
    moves = [c[1] for c in rtde.calls if c[0] == 'moveL']
    np.testing.assert_allclose(moves[-1][:3], plan.waypoints[-1].position)
    r = rotation_matrix(moves[0][3:])
    np.testing.assert_allclose(r[:, 0], [math.cos(plan.waypoints[0].yaw), math.sin(plan.waypoints[0].yaw), 0],
                               atol=1e-9)


def test_ur_cancel_mid_motion_calls_stopl():
    rtde = FakeRTDE(ticks=50)
    robot, _ = ur_robot(rtde)
    cancel = {'now': False}

    def on_move(fake):
        if sum(c[0] == 'moveL' for c in fake.calls) == 3:  # the push stroke is under way
            cancel['now'] = True

    rtde.on_move = on_move
    polls = {'n': 0}

    def should_cancel():
        if cancel['now']:
            polls['n'] += 1
        return cancel['now'] and polls['n'] > 3  # a few polls into the move

    result = execute_plan(robot, plan_primitive(make_primitive(PrimitiveType.PUSH, 0), LIMITS),
                          should_cancel=should_cancel)
    assert result.cancelled and not result.success
    third = [i for i, c in enumerate(rtde.calls) if c[0] == 'moveL'][2]
    after = rtde.calls[third + 1:]
    assert after and after[0] == ('stopL', 10.0)
    assert not any(c[0] == 'moveL' for c in after)


def test_ur_stop_from_another_thread_returns_false():
    rtde = FakeRTDE(ticks=10 ** 9)
    robot, _ = ur_robot(rtde)
    rtde.on_move = lambda fake: robot.stop()
    assert robot.move_linear(np.array([0.5, 0.0, 0.3]), 0.0, 0.25, 1.2) is False
    assert ('stopL', 10.0) in rtde.calls
    # should_stop alone (no stop() from outside) also halts the arm with stopL.
    rtde.on_move, rtde.calls = None, []
    polls = iter(range(100))
    assert robot.move_linear(np.array([0.5, 0.1, 0.3]), 0.0, 0.25, 1.2, lambda: next(polls) >= 3) is False
    assert [c[0] for c in rtde.calls] == ['moveL', 'stopL']


@pytest.mark.parametrize('failure', ['protective', 'disconnect', 'exception'])
def test_ur_protective_stop_or_disconnect_becomes_an_execution_error(failure):
    rtde = FakeRTDE(ticks=5)

    def on_move(fake):
        if sum(c[0] == 'moveL' for c in fake.calls) == 2:
            if failure == 'protective':
                fake.protective = True
            elif failure == 'disconnect':
                fake.connected = False
            else:
                fake.connected = None  # ur_rtde raises RuntimeError

    rtde.on_move = on_move
    robot, _ = ur_robot(rtde)
    with pytest.raises(RobotError):
        robot.move_linear(np.array([0.5, 0.0, 0.3]), 0.0, 0.25, 1.2)
        robot.move_linear(np.array([0.5, 0.1, 0.3]), 0.0, 0.25, 1.2)
    rtde.protective, rtde.connected, rtde.calls = False, True, []
    rtde.on_move = lambda fake: on_move(fake) if len(fake.calls) > 0 else None
    result = execute_plan(robot, plan_primitive(make_primitive(PrimitiveType.GRASP, 0), LIMITS))
    assert not result.success and not result.cancelled
    expected = {'protective': 'protective stopped', 'disconnect': 'lost the connection',
                'exception': 'RTDE connection lost'}[failure]
    assert 'robot error' in result.error and expected in result.error
    assert sum(c[0] == 'moveL' for c in rtde.calls) == 2  # nothing moves after the failure


def test_ur_move_ending_away_from_target_is_an_error():
    rtde = FakeRTDE(ticks=1)
    robot, _ = ur_robot(rtde)

    def lose_target(fake):
        fake.target = None  # the controller ended the move without reaching the pose

    rtde.on_move = lose_target
    with pytest.raises(RobotError, match='away from its target'):
        robot.move_linear(np.array([0.5, 0.0, 0.3]), 0.0, 0.25, 1.2)


def test_missing_ur_rtde_gives_install_hint():
    with pytest.raises(BackendUnavailable, match='pip install ur_rtde'):
        make_robot('ur_rtde', robot_ip='10.0.0.2')


# -- Robotiq URCap socket stand-in ------------------------------------------------------------------------------

class FakeURCap:
    """A scripted URCap socket: records every command line and answers like the gripper."""

    def __init__(self, stop_at=None, timeout_on=None):
        self.lines, self.out = [], b''
        self.var = {'STA': 0, 'ACT': 0, 'GTO': 0, 'POS': 0, 'PRE': 0, 'OBJ': 0, 'SPE': 0, 'FOR': 0}
        self.stop_at, self.timeout_on, self.closed = stop_at, timeout_on, False

    def sendall(self, data):
        for line in data.decode().splitlines():
            self.lines.append(line)
            words = line.split()
            if line == self.timeout_on:
                continue
            if words[0] == 'GET':
                self.out += f'{words[1]} {self.var[words[1]]}\n'.encode()
                continue
            name, value = words[1], int(words[2])
            self.var[name] = value
            if name == 'ACT' and value == 1:
                self.var['STA'] = 3
            if name == 'POS':
                self.var['PRE'] = value
            if name == 'GTO' and value == 1 and self.var['STA'] == 3:
                request = self.var['PRE']
                if request > 0 and self.stop_at is not None:
                    self.var['POS'], self.var['OBJ'] = self.stop_at, 2
                else:
                    self.var['POS'], self.var['OBJ'] = request, 3
            self.out += b'ack\n'

    def recv(self, size):
        if not self.out:
            raise TimeoutError('timed out')
        chunk, self.out = self.out[:size], self.out[size:]
        return chunk

    def close(self):
        self.closed = True


def test_robotiq_activates_opens_closes_and_detects_objects():
    fake = FakeURCap(stop_at=153)
    connections = []
    gripper = Robotiq2F85('10.0.0.2', socket_factory=lambda *a: connections.append(a) or fake, speed=200, force=50,
                          poll_period=0.0)
    gripper.open()
    assert connections == [('10.0.0.2', 63352, 2.0)]
    assert fake.lines[:4] == ['GET STA', 'SET ACT 1', 'GET STA', 'SET GTO 1']
    assert fake.lines[4:8] == ['SET SPE 200', 'SET FOR 50', 'SET POS 0', 'SET GTO 1']
    width = gripper.close()
    assert 'SET POS 255' in fake.lines and fake.lines[-1] == 'GET POS'
    assert width == pytest.approx(0.085 * (255 - 153) / 255)
    assert gripper.object_detected()
    assert fake.lines.count('SET ACT 1') == 1  # activated once
    assert position_to_width(0) == pytest.approx(0.085) and position_to_width(255) == 0.0
    assert position_to_width(230, closed_position=228) == 0.0


def test_ur_grasp_drives_the_robotiq_socket():
    fake = FakeURCap(stop_at=200)
    gripper = Robotiq2F85('10.0.0.2', socket_factory=lambda *a: fake, poll_period=0.0)
    robot, _ = ur_robot(gripper=gripper)
    result = execute_plan(robot, plan_primitive(make_primitive(PrimitiveType.GRASP, 0), LIMITS))
    assert result.success and result.grasp_width == pytest.approx(0.085 * 55 / 255)
    sets = [line for line in fake.lines if line.startswith('SET POS')]
    assert sets == ['SET POS 0', 'SET POS 255']


def test_robotiq_timeout_and_socket_failure_give_clear_errors():
    fake = FakeURCap(timeout_on='GET POS')
    gripper = Robotiq2F85('10.0.0.2', socket_factory=lambda *a: fake, timeout=0.5)
    with pytest.raises(RobotError, match=r"Robotiq gripper at 10.0.0.2:63352 did not answer 'GET POS' within 0.5 s"):
        gripper.width()
    assert fake.closed

    def refuse(*args):
        raise ConnectionRefusedError('connection refused')

    with pytest.raises(RobotError, match='Robotiq gripper at 10.0.0.2:63352.*connection refused'):
        Robotiq2F85('10.0.0.2', socket_factory=refuse).open()
    robot, _ = ur_robot(gripper=Robotiq2F85('10.0.0.2', socket_factory=refuse))
    result = execute_plan(robot, plan_primitive(make_primitive(PrimitiveType.GRASP, 0), LIMITS))
    assert not result.success and 'Robotiq gripper' in result.error


# -- moveit_py stand-in -----------------------------------------------------------------------------------------

class FakePlanningComponent:
    def __init__(self, log, plan_ok=True):
        self.log, self.plan_ok = log, plan_ok

    def set_start_state_to_current_state(self):
        self.log.append(('start',))

    def set_goal_state(self, pose_stamped_msg, pose_link):
        self.log.append(('goal', pose_stamped_msg, pose_link))

    def plan(self, single_plan_parameters):
        self.log.append(('plan', vars(single_plan_parameters).copy()))
        return types.SimpleNamespace(trajectory='trajectory') if self.plan_ok else None


class FakeMoveIt:
    def __init__(self, plan_ok=True, on_execute=None):
        self.log, self.groups, self.plan_ok, self.on_execute = [], [], plan_ok, on_execute
        self.manager = types.SimpleNamespace(stop_execution=lambda: self.log.append(('stop_execution',)))

    def get_planning_component(self, group):
        self.groups.append(group)
        return FakePlanningComponent(self.log, self.plan_ok)

    def execute(self, trajectory, controllers):
        self.log.append(('execute', trajectory, controllers))
        if self.on_execute is not None:
            self.on_execute()

    def get_trajactory_execution_manager(self):
        return self.manager


def moveit_robot(model, fake, **kwargs):
    return MoveItRobot(model, tcp_offset=0.15, moveit_factory=lambda name: fake, gripper=FakeGripper(),
                       pose_msg_factory=lambda frame, xyz, q: (frame, xyz, q),
                       plan_parameters_factory=lambda moveit: types.SimpleNamespace(), **kwargs)


@pytest.mark.parametrize(('model', 'group', 'tip', 'frame'), [('ur5', 'ur_manipulator', 'tool0', 'base'),
                                                              ('hsr', 'arm', 'hand_palm_link', 'base_footprint')])
def test_moveit_plans_pilz_lin_for_the_right_group_and_tip(model, group, tip, frame):
    fake = FakeMoveIt()
    robot = moveit_robot(model, fake)
    plan = plan_primitive(make_primitive(PrimitiveType.PUSH, 2), LIMITS)
    result = execute_plan(robot, plan)
    assert result.success, result.error
    assert fake.groups == [group]
    goals = [entry for entry in fake.log if entry[0] == 'goal']
    plans = [entry[1] for entry in fake.log if entry[0] == 'plan']
    assert len(goals) == len(plans) == len(plan.waypoints)
    assert [e[0] for e in fake.log[:4]] == ['start', 'goal', 'plan', 'execute']
    for (_, (goal_frame, xyz, q), link), params, waypoint in zip(goals, plans, plan.waypoints, strict=True):
        assert (goal_frame, link) == (frame, tip)
        np.testing.assert_allclose(xyz, waypoint.position + [0, 0, 0.15])  # tip link above the fingertips
        np.testing.assert_allclose(q, [math.cos(waypoint.yaw / 2), math.sin(waypoint.yaw / 2), 0, 0])
        assert params['planning_pipeline'] == 'pilz_industrial_motion_planner' and params['planner_id'] == 'LIN'
        assert params['max_velocity_scaling_factor'] == pytest.approx(waypoint.speed / 1.0)
        assert params['max_acceleration_scaling_factor'] == pytest.approx(waypoint.accel / 2.25)
    assert robot.gripper.calls == ['close']


def test_moveit_planning_failure_and_cancel():
    robot = moveit_robot('ur5', FakeMoveIt(plan_ok=False))
    result = execute_plan(robot, plan_primitive(make_primitive(PrimitiveType.GRASP, 0), LIMITS))
    assert not result.success and 'no LIN path for tool0' in result.error

    import threading
    release = threading.Event()
    fake = FakeMoveIt(on_execute=lambda: release.wait(2.0))
    fake.manager.stop_execution = lambda: (fake.log.append(('stop_execution',)), release.set())
    robot = moveit_robot('ur5', fake)
    calls = {'n': 0}

    def should_stop():
        calls['n'] += 1
        return calls['n'] > 2

    assert robot.move_linear(np.array([0.5, 0.0, 0.2]), 0.0, 0.1, 0.5, should_stop) is False
    assert ('stop_execution',) in fake.log


def test_moveit_registry_needs_tcp_offset_and_a_pose_builder():
    with pytest.raises(ValueError, match='tcp_offset'):
        make_robot('moveit', robot_ip='10.0.0.2')
    with pytest.raises(BackendUnavailable, match='pose_msg_factory'):
        make_robot('moveit', robot_ip='10.0.0.2', tcp_offset=0.15)
    with pytest.raises(BackendUnavailable, match='moveit_py'):
        make_robot('moveit', tcp_offset=0.15, pose_msg_factory=lambda *a: a)

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The control node over DDS: goals, feedback, refusals, one goal at a time and cancel mid-motion."""

import math
import time

import numpy as np
import pytest
from action_msgs.msg import GoalStatus
from pushgrasp_interfaces.action import ExecutePrimitive

from pushgrasp_control.backends.mock import HOME_POSITION
from pushgrasp_control.motion import Phase
from pushgrasp_control.primitives import PrimitiveType, primitive_from_pixel
from pushgrasp_control.ros.control_node import ControlNode
from pushgrasp_control.ros.conversions import primitive_to_msg
from pushgrasp_perception.ros.testing import ActionHarness, wait_for, wait_until
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE

pytestmark = pytest.mark.timeout(15)


def primitive_goal(kind=PrimitiveType.PUSH, row=112, col=112, rotation=4, surface=0.0, frame='base_link'):
    height = np.zeros(DEFAULT_WORKSPACE.shape, np.float32)
    height[row, col] = surface
    primitive = primitive_from_pixel(kind, rotation, row, col, height, DEFAULT_WORKSPACE)
    return ExecutePrimitive.Goal(primitive=primitive_to_msg(primitive, frame))


class Harness(ActionHarness):
    """A control node and a client of its execute_primitive action."""

    def __init__(self, **parameters):
        super().__init__(ControlNode, ExecutePrimitive, 'execute_primitive', **parameters)


@pytest.fixture
def harness_factory(ros):
    harnesses = []

    def make(**parameters):
        harnesses.append(Harness(**parameters))
        return harnesses[-1]

    yield make
    for harness in harnesses:
        harness.close()


def test_phase_values_match_the_action():
    assert Phase.APPROACH == ExecutePrimitive.Feedback.PHASE_APPROACH
    assert Phase.CONTACT == ExecutePrimitive.Feedback.PHASE_CONTACT
    assert Phase.RETREAT == ExecutePrimitive.Feedback.PHASE_RETREAT


def test_push_and_grasp_goals_succeed_with_feedback(harness_factory):
    h = harness_factory(mock_time_scale=50.0)
    status, result = h.run(primitive_goal(PrimitiveType.PUSH, rotation=4))
    assert status == GoalStatus.STATUS_SUCCEEDED
    assert result.success and result.error == '' and result.grasp_width == 0.0
    assert wait_until(lambda: any(f.progress == 1.0 for f in h.feedback), timeout=2.0)
    assert {f.phase for f in h.feedback} == {Phase.APPROACH, Phase.CONTACT, Phase.RETREAT}
    assert all(f.phase_name == Phase(f.phase).name for f in h.feedback)
    # After the push the TCP parked at the home position (out of the camera view).
    np.testing.assert_allclose(h.node.robot.tcp_position, [0.15, 0.0, 0.30], atol=1e-6)
    # Without a home position the TCP stays above the end of the 10 cm push along +y.
    stay = harness_factory(mock_time_scale=50.0, park=False)
    status, _ = stay.run(primitive_goal(PrimitiveType.PUSH, rotation=4))
    assert status == GoalStatus.STATUS_SUCCEEDED
    start = DEFAULT_WORKSPACE.pixel_to_base(112, 112)
    np.testing.assert_allclose(stay.node.robot.tcp_position[:2], start[:2] + [0.0, 0.1], atol=1e-6)

    status, result = h.run(primitive_goal(PrimitiveType.GRASP, surface=0.05))
    assert status == GoalStatus.STATUS_SUCCEEDED
    assert not result.success and result.grasp_width == 0.0 and result.error == ''  # the mock holds nothing


def test_refused_and_invalid_goals_abort_and_the_node_serves_the_next(harness_factory):
    h = harness_factory(mock_time_scale=math.inf)
    outside = primitive_goal()
    outside.primitive.position.x = DEFAULT_WORKSPACE.x_max + 0.1
    status, result = h.run(outside)
    assert status == GoalStatus.STATUS_ABORTED
    assert 'refused' in result.error and 'outside the workspace' in result.error

    invalid = primitive_goal()
    invalid.primitive.type = 7
    status, result = h.run(invalid)
    assert status == GoalStatus.STATUS_ABORTED and 'invalid primitive' in result.error

    status, result = h.run(primitive_goal(frame='camera_link'))
    assert status == GoalStatus.STATUS_ABORTED and 'camera_link' in result.error

    status, result = h.run(primitive_goal())
    assert status == GoalStatus.STATUS_SUCCEEDED and result.success


def test_cancel_stops_the_robot_mid_motion(harness_factory):
    h = harness_factory(mock_time_scale=0.5)
    goal = primitive_goal(PrimitiveType.PUSH)
    handle = h.send(goal)
    assert handle.accepted
    result_future = handle.get_result_async()
    assert wait_until(lambda: h.node.robot.moving)
    time.sleep(0.3)
    # One goal at a time: a second goal is rejected while the first one moves.
    assert not h.send(primitive_goal()).accepted

    robot = h.node.robot
    start_position = robot.tcp_position
    cancel = wait_for(handle.cancel_goal_async())
    assert len(cancel.goals_canceling) == 1
    response = wait_for(result_future, timeout=2.0)
    assert response.status == GoalStatus.STATUS_CANCELED
    assert 'canceled' in response.result.error
    stopped = robot.tcp_position
    assert not robot.moving
    # Mid-way: it moved since the goal started but did not reach the point above the push start.
    first_waypoint = np.array([*DEFAULT_WORKSPACE.pixel_to_base(112, 112)[:2], 0.15])
    assert np.linalg.norm(stopped - first_waypoint) > 0.02
    assert np.linalg.norm(stopped - np.array(HOME_POSITION)) > 0.005
    assert np.linalg.norm(stopped - start_position) < 0.05
    time.sleep(0.1)
    np.testing.assert_array_equal(robot.tcp_position, stopped)

    # The node serves the next goal.
    robot.time_scale = math.inf
    status, result = h.run(primitive_goal())
    assert status == GoalStatus.STATUS_SUCCEEDED and result.success


def test_unavailable_backend_aborts_every_goal(harness_factory):
    h = harness_factory(backend='ur_rtde')
    for _ in range(2):
        status, result = h.run(primitive_goal())
        assert status == GoalStatus.STATUS_ABORTED
        assert 'ur_rtde' in result.error and 'not available' in result.error

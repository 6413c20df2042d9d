# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The policy node over DDS: goals with feedback, malformed heightmaps, the latest heightmap and cancel."""

import threading

import numpy as np
import pytest
import rclpy
from action_msgs.msg import GoalStatus
from pushgrasp_interfaces.action import SelectPrimitive
from pushgrasp_interfaces.msg import Heightmap as HeightmapMsg

from pushgrasp_control.primitives import PrimitiveType
from pushgrasp_control.ros.conversions import msg_to_primitive
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.ros.conversions import heightmap_to_msg, msg_to_image
from pushgrasp_perception.ros.testing import TIMEOUT_S as TIMEOUT
from pushgrasp_perception.ros.testing import ActionHarness, wait_for, wait_until
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE
from pushgrasp_policy.ros.policy_node import PolicyNode

pytestmark = pytest.mark.timeout(15)
Feedback = SelectPrimitive.Feedback


def block_heightmap_msg(frame='base_link'):
    heightmap = Heightmap.empty(DEFAULT_WORKSPACE)
    heightmap.height[100:125, 100:125] = 0.05  # one 5 cm cube
    heightmap.color[100:125, 100:125] = (200, 30, 30)
    heightmap.stamp_ns = 1_500_000_000
    return heightmap_to_msg(heightmap, frame)


class Harness(ActionHarness):
    """A policy node, a client of its select_primitive action, and a heightmap publisher."""

    def __init__(self, **parameters):
        super().__init__(PolicyNode, SelectPrimitive, 'select_primitive', **parameters)
        self.publisher = self.client_node.create_publisher(HeightmapMsg, 'heightmap', 1)

    def send(self, goal):
        """The accepted goal handle of `goal`."""
        handle = super().send(goal)
        assert handle.accepted
        return handle


@pytest.fixture
def ros():
    rclpy.init()
    try:
        yield
    finally:
        rclpy.shutdown()


@pytest.fixture
def harness(ros):
    h = Harness()
    yield h
    h.close()


def test_goal_returns_primitive_q_maps_and_feedback(harness):
    status, result = harness.run(SelectPrimitive.Goal(heightmap=block_heightmap_msg()))
    assert status == GoalStatus.STATUS_SUCCEEDED and result.message == ''
    primitive = msg_to_primitive(result.primitive)
    assert primitive.type == PrimitiveType.GRASP  # the heuristic grasps an isolated cube
    assert 100 <= primitive.row < 125 and 100 <= primitive.col < 125
    assert primitive.position[2] == pytest.approx(0.05)
    assert result.primitive.header.frame_id == 'base_link'
    assert primitive.stamp_ns == 1_500_000_000
    assert result.rotation_index == primitive.rotation_index and primitive.num_rotations == 16
    for image in (result.push_q, result.grasp_q):
        assert image.encoding == '32FC1' and (image.height, image.width) == DEFAULT_WORKSPACE.shape
    grasp_q = msg_to_image(result.grasp_q)
    assert grasp_q[primitive.row, primitive.col] == pytest.approx(result.primitive.q_value)
    assert grasp_q[20, 20] == 0.0
    assert wait_until(lambda: len(harness.feedback) >= 4, timeout=2.0)
    assert [f.stage for f in harness.feedback] == [Feedback.STAGE_PREPROCESS, Feedback.STAGE_INFERENCE,
                                                   Feedback.STAGE_SELECTION, Feedback.STAGE_SELECTION]
    assert [f.stage_name for f in harness.feedback][:3] == ['PREPROCESS', 'INFERENCE', 'SELECTION']
    assert harness.feedback[-1].progress == pytest.approx(1.0)


def test_malformed_heightmaps_abort_and_the_next_goal_succeeds(harness):
    bad_encoding = block_heightmap_msg()
    bad_encoding.height.encoding = '16UC1'
    status, result = harness.run(SelectPrimitive.Goal(heightmap=bad_encoding))
    assert status == GoalStatus.STATUS_ABORTED
    assert 'malformed heightmap' in result.message and '32FC1' in result.message

    nan = block_heightmap_msg()
    height = msg_to_image(nan.height)
    height[5, 5] = np.nan
    nan.height.data = height.tobytes()
    status, result = harness.run(SelectPrimitive.Goal(heightmap=nan))
    assert status == GoalStatus.STATUS_ABORTED and 'NaN' in result.message

    wrong_size = block_heightmap_msg()
    wrong_size.resolution = 0.004
    status, result = harness.run(SelectPrimitive.Goal(heightmap=wrong_size))
    assert status == GoalStatus.STATUS_ABORTED and 'does not match the workspace' in result.message

    status, result = harness.run(SelectPrimitive.Goal(heightmap=block_heightmap_msg(frame='camera_link')))
    assert status == GoalStatus.STATUS_ABORTED and 'camera_link' in result.message

    status, result = harness.run(SelectPrimitive.Goal(heightmap=block_heightmap_msg()))
    assert status == GoalStatus.STATUS_SUCCEEDED and result.message == ''


def test_goal_conditioned_goals_are_not_served_yet(harness):
    goal = SelectPrimitive.Goal(heightmap=block_heightmap_msg(), goal_type=SelectPrimitive.Goal.GOAL_COLOR,
                                goal_color='red')
    status, result = harness.run(goal)
    assert status == GoalStatus.STATUS_ABORTED and 'goal-conditioned' in result.message


def test_latest_heightmap_from_the_topic(harness):
    status, result = harness.run(SelectPrimitive.Goal(use_latest_heightmap=True))
    assert status == GoalStatus.STATUS_ABORTED and 'no heightmap has been received' in result.message

    assert wait_until(lambda: harness.publisher.get_subscription_count() >= 1)
    harness.publisher.publish(block_heightmap_msg())
    assert wait_until(lambda: harness.node.has_heightmap, timeout=5.0)
    status, result = harness.run(SelectPrimitive.Goal(use_latest_heightmap=True, explore=True))
    assert status == GoalStatus.STATUS_SUCCEEDED
    assert result.primitive.header.stamp.sec == 1


class BlockingPolicy:
    """Wraps a policy; its inference waits until the test releases it."""

    def __init__(self, inner):
        self.inner, self.config = inner, inner.config
        self.entered, self.release = threading.Event(), threading.Event()

    def q_maps(self, heightmap):
        self.entered.set()
        assert self.release.wait(TIMEOUT)
        return self.inner.q_maps(heightmap)

    def select(self, *args):
        return self.inner.select(*args)


def test_cancel_between_stages(harness):
    harness.node.policy = BlockingPolicy(harness.node.policy)
    handle = harness.send(SelectPrimitive.Goal(heightmap=block_heightmap_msg()))
    result_future = handle.get_result_async()
    assert harness.node.policy.entered.wait(TIMEOUT)
    cancel = wait_for(handle.cancel_goal_async())
    assert len(cancel.goals_canceling) == 1
    harness.node.policy.release.set()
    response = wait_for(result_future)
    assert response.status == GoalStatus.STATUS_CANCELED
    assert response.result.primitive.num_rotations == 0  # no primitive was chosen


def test_unknown_policy_keeps_the_node_up_and_aborts(ros):
    h = Harness(policy='vpg_typo')
    try:
        status, result = h.run(SelectPrimitive.Goal(heightmap=block_heightmap_msg()))
        assert status == GoalStatus.STATUS_ABORTED
        assert 'vpg_typo' in result.message and 'heuristic' in result.message
    finally:
        h.close()

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The policy node over DDS: goals, feedback, bad heightmaps, cancel, Q-map pictures, markers and checkpoints."""

import re
import threading
import uuid

import numpy as np
import pytest
import rclpy
from action_msgs.msg import GoalStatus
from pushgrasp_interfaces.action import SelectPrimitive
from pushgrasp_interfaces.msg import Heightmap as HeightmapMsg
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from visualization_msgs.msg import Marker, MarkerArray

from pushgrasp_control.primitives import PrimitiveType, primitive_from_pixel
from pushgrasp_control.ros.conversions import msg_to_primitive
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.ros.conversions import heightmap_to_msg, msg_to_image
from pushgrasp_perception.ros.testing import TIMEOUT_S as TIMEOUT
from pushgrasp_perception.ros.testing import ActionHarness, wait_for, wait_until
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE
from pushgrasp_policy.checkpoint import CheckpointError, save_checkpoint
from pushgrasp_policy.networks import QNetConfig
from pushgrasp_policy.ros.markers import primitive_markers
from pushgrasp_policy.ros.policy_node import (CHOSEN_Q_TOPIC, GRASP_Q_TOPIC, MARKERS_TOPIC, PUSH_Q_TOPIC,
                                              VISUALIZATION_QOS, PolicyNode, main)
from pushgrasp_policy.vpg import VPGAgent, VPGConfig

pytestmark = pytest.mark.timeout(15)
Feedback = SelectPrimitive.Feedback


def block_heightmap_msg(frame='base_link', block=True):
    heightmap = Heightmap.empty(DEFAULT_WORKSPACE)
    if block:
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


# --- the learned policy: Q-map pictures, markers and checkpoints ------------------------------------------
PICTURE_TOPICS = (PUSH_Q_TOPIC, GRASP_Q_TOPIC, CHOSEN_Q_TOPIC)


def small_checkpoint(path, grasp_only=False):
    """Save a small, untrained VPG checkpoint at `path` and return its path as text."""
    save_checkpoint(path, VPGAgent(VPGConfig(network=QNetConfig(width=8), grasp_only=grasp_only), seed=3).state())
    return str(path)


class PictureHarness(Harness):
    """A Harness that also listens to the Q-map pictures and the markers of the node."""

    def __init__(self, **parameters):
        super().__init__(**parameters)
        self.received = {topic: [] for topic in (*PICTURE_TOPICS, MARKERS_TOPIC)}
        for topic in PICTURE_TOPICS:
            self.client_node.create_subscription(Image, topic, self.received[topic].append, VISUALIZATION_QOS)
        self.client_node.create_subscription(MarkerArray, MARKERS_TOPIC, self.received[MARKERS_TOPIC].append,
                                             VISUALIZATION_QOS)
        for topic in self.received:
            full_name = f'{self.namespace}/{topic}'
            assert wait_until(lambda name=full_name: self.node.count_subscribers(name) >= 1), topic

    def wait_for_pictures(self):
        """The newest message on each picture and marker topic, waiting until all have arrived."""
        assert wait_until(lambda: all(self.received.values())), {t: len(m) for t, m in self.received.items()}
        return {topic: messages[-1] for topic, messages in self.received.items()}


@pytest.fixture
def vpg_harness(ros, tmp_path, request):
    h = PictureHarness(policy='vpg', checkpoint=small_checkpoint(tmp_path / 'vpg.pt', grasp_only=request.param))
    yield h
    h.close()


def check_pictures(messages, heightmap_msg):
    for topic in PICTURE_TOPICS:
        image = messages[topic]
        assert (image.height, image.width) == DEFAULT_WORKSPACE.shape and image.encoding == 'rgb8', topic
        assert image.header.frame_id == 'base_link' and image.header.stamp == heightmap_msg.header.stamp, topic
    assert messages[MARKERS_TOPIC].markers[0].action == Marker.DELETEALL
    for marker in messages[MARKERS_TOPIC].markers[1:]:
        assert marker.header.frame_id == 'base_link' and marker.action == Marker.ADD


@pytest.mark.parametrize('vpg_harness', [True], indirect=True, ids=['grasping-only'])
def test_learned_policy_publishes_q_maps_and_a_gripper_for_a_grasp(vpg_harness):
    goal_msg = block_heightmap_msg()
    status, result = vpg_harness.run(SelectPrimitive.Goal(heightmap=goal_msg))
    assert status == GoalStatus.STATUS_SUCCEEDED and result.message == ''
    primitive = msg_to_primitive(result.primitive)
    assert primitive.type == PrimitiveType.GRASP  # the grasping-only checkpoint never pushes
    assert 100 <= primitive.row < 125 and 100 <= primitive.col < 125
    assert wait_until(lambda: len(vpg_harness.feedback) >= 4, timeout=2.0)
    stages = [f.stage for f in vpg_harness.feedback]
    assert stages == [Feedback.STAGE_PREPROCESS, Feedback.STAGE_INFERENCE, Feedback.STAGE_SELECTION,
                      Feedback.STAGE_SELECTION]

    messages = vpg_harness.wait_for_pictures()
    check_pictures(messages, goal_msg)
    color = msg_to_image(goal_msg.color)
    # Push Q-values are all -inf: the push picture is the plain colour heightmap; the grasp one is coloured.
    np.testing.assert_array_equal(msg_to_image(messages[PUSH_Q_TOPIC]), color)
    assert (msg_to_image(messages[GRASP_Q_TOPIC]) != color).any()
    chosen = msg_to_image(messages[CHOSEN_Q_TOPIC])
    assert (chosen[primitive.row, primitive.col] == 255).all()  # the grasp is drawn in white at its pixel

    shape, point, text = messages[MARKERS_TOPIC].markers[1:]
    assert shape.type == Marker.LINE_LIST and len(shape.points) == 6
    assert point.type == Marker.SPHERE
    assert point.pose.position.x == pytest.approx(primitive.position[0])
    assert point.pose.position.y == pytest.approx(primitive.position[1])
    assert text.type == Marker.TEXT_VIEW_FACING and text.text == f'grasp q={result.primitive.q_value:.3f}'


@pytest.mark.parametrize('vpg_harness', [False], indirect=True, ids=['push-grasp'])
def test_learned_policy_publishes_an_arrow_for_a_push(vpg_harness):
    goal_msg = block_heightmap_msg(block=False)  # nothing to grasp: the policy must push
    status, result = vpg_harness.run(SelectPrimitive.Goal(heightmap=goal_msg))
    assert status == GoalStatus.STATUS_SUCCEEDED
    primitive = msg_to_primitive(result.primitive)
    assert primitive.type == PrimitiveType.PUSH

    messages = vpg_harness.wait_for_pictures()
    check_pictures(messages, goal_msg)
    assert (msg_to_image(messages[PUSH_Q_TOPIC]) != msg_to_image(goal_msg.color)).any()
    arrow, text = messages[MARKERS_TOPIC].markers[1:]
    assert arrow.type == Marker.ARROW
    start, end = (np.array([p.x, p.y, p.z]) for p in arrow.points)
    np.testing.assert_allclose(start, primitive.position + [0.0, 0.0, 0.01])
    np.testing.assert_allclose(end - start, primitive.push_length * primitive.push_direction, atol=1e-9)
    assert text.text.startswith('push q=')


def test_markers_start_with_deleteall_and_caption_the_q_value():
    height = np.zeros(DEFAULT_WORKSPACE.shape, np.float32)
    grasp = primitive_from_pixel(PrimitiveType.GRASP, 2, 50, 60, height, DEFAULT_WORKSPACE, q_value=0.25)
    markers = primitive_markers(grasp, Header(frame_id='base_link')).markers
    assert [m.action for m in markers] == [Marker.DELETEALL, Marker.ADD, Marker.ADD, Marker.ADD]
    assert [m.type for m in markers[1:]] == [Marker.LINE_LIST, Marker.SPHERE, Marker.TEXT_VIEW_FACING]
    assert markers[-1].text == 'grasp q=0.250'
    assert len({m.id for m in markers[1:]}) == 3 and all(m.pose.orientation.w == 1.0 for m in markers[1:])


def unusable_checkpoints(tmp_path):
    """(path, reason) of a missing, a corrupt and an incompatible checkpoint."""
    corrupt = tmp_path / 'corrupt.pt'
    corrupt.write_bytes(b'not a checkpoint at all')
    incompatible = tmp_path / 'incompatible.pt'
    state = VPGAgent(VPGConfig(network=QNetConfig(width=8))).state()
    state['agent_config'] = VPGConfig(network=QNetConfig(width=16)).to_dict()  # claims width 16, holds width 8
    save_checkpoint(incompatible, state)
    return [(tmp_path / 'missing.pt', 'does not exist'), (corrupt, 'corrupt'), (incompatible, 'does not fit')]


def test_an_unusable_checkpoint_is_refused_at_start(ros, tmp_path):
    for path, reason in unusable_checkpoints(tmp_path):
        overrides = [Parameter('policy', value='vpg'), Parameter('checkpoint', value=str(path))]
        with pytest.raises(CheckpointError, match=re.escape(f'cannot load checkpoint {path}: ')) as refused:
            PolicyNode(namespace=f'/test_{uuid.uuid4().hex[:8]}', parameter_overrides=overrides)
        assert reason in str(refused.value)


def test_main_exits_with_code_1_and_one_message_for_a_corrupt_checkpoint(tmp_path, capfd):
    corrupt = tmp_path / 'corrupt.pt'
    corrupt.write_bytes(b'not a checkpoint at all')
    with pytest.raises(SystemExit) as exited:
        main(['policy_node', '--ros-args', '-p', 'policy:=vpg', '-p', f'checkpoint:={corrupt}'])
    assert exited.value.code == 1
    output = capfd.readouterr()
    text = output.out + output.err
    assert text.count(f'cannot load checkpoint {corrupt}') == 1 and 'Traceback' not in text
    assert not rclpy.ok()

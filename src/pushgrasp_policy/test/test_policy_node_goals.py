# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The policy node serves goal-oriented requests over DDS: a colour, a mask or an object id names the goal.

Two blocks, a red and a blue one, lie apart; a goal for either must be grasped on that block (the heuristic
policy used greedily on the goal, or a goal-conditioned checkpoint), and every malformed or unseen goal is
aborted with its reason while the node goes on serving.
"""

import numpy as np
import pytest
from action_msgs.msg import GoalStatus
from pushgrasp_interfaces.action import SelectPrimitive
from sensor_msgs.msg import Image

from pushgrasp_control.primitives import PrimitiveType
from pushgrasp_control.ros.conversions import msg_to_primitive
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.palette import color_by_name
from pushgrasp_perception.ros.conversions import heightmap_to_msg, image_to_msg, msg_to_image, ns_to_stamp
from pushgrasp_perception.ros.testing import ActionHarness, wait_until
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE
from pushgrasp_policy.checkpoint import save_checkpoint
from pushgrasp_policy.goal_agent import GoalAgent, GoalAgentConfig
from pushgrasp_policy.networks import QNetConfig
from pushgrasp_policy.ros.policy_node import CHOSEN_Q_TOPIC, GRASP_Q_TOPIC, PUSH_Q_TOPIC, VISUALIZATION_QOS, PolicyNode

pytestmark = pytest.mark.timeout(30)
GOAL = SelectPrimitive.Goal
STAMP_NS = 1_500_000_000
# Rows and columns of the two 5 cm cubes.
BLOCKS = {'red': (slice(60, 85), slice(60, 85)), 'blue': (slice(140, 165), slice(140, 165))}


def two_blocks():
    heightmap = Heightmap.empty(DEFAULT_WORKSPACE)
    for name, cells in BLOCKS.items():
        heightmap.height[cells] = 0.05
        heightmap.color[cells] = color_by_name(name).rgb255
    heightmap.stamp_ns = STAMP_NS
    return heightmap


def block_mask(name):
    mask = np.zeros(DEFAULT_WORKSPACE.shape, bool)
    mask[BLOCKS[name]] = True
    return mask


def on_block(primitive, name):
    rows, cols = BLOCKS[name]
    return rows.start <= primitive.row < rows.stop and cols.start <= primitive.col < cols.stop


class Harness(ActionHarness):
    """A policy node and a client of its select_primitive action; also listens to the Q-map pictures."""

    def __init__(self, **parameters):
        super().__init__(PolicyNode, SelectPrimitive, 'select_primitive', **{'policy': 'heuristic', **parameters})
        self.pictures = {topic: [] for topic in (PUSH_Q_TOPIC, GRASP_Q_TOPIC, CHOSEN_Q_TOPIC)}
        for topic, received in self.pictures.items():
            self.client_node.create_subscription(Image, topic, received.append, VISUALIZATION_QOS)
        self.labels = self.client_node.create_publisher(Image, 'labels', 5)

    def choose(self, **goal_fields):
        """The status, result and primitive (None unless it succeeded) of a goal on the two blocks."""
        status, result = self.run(GOAL(heightmap=heightmap_to_msg(two_blocks(), 'base_link'), **goal_fields))
        primitive = msg_to_primitive(result.primitive) if status == GoalStatus.STATUS_SUCCEEDED else None
        return status, result, primitive


@pytest.fixture
def harness(ros):
    h = Harness()
    yield h
    h.close()


def test_a_colour_goal_is_grasped_on_its_block_and_its_q_maps_are_published(harness):
    for name, other in (('red', 'blue'), ('blue', 'red')):
        status, result, primitive = harness.choose(goal_type=GOAL.GOAL_COLOR, goal_color=name)
        assert status == GoalStatus.STATUS_SUCCEEDED and result.message == ''
        assert primitive.type == PrimitiveType.GRASP and on_block(primitive, name), (name, primitive.describe())
        # Grasps away from the goal are ruled out in the Q-map the result carries.
        grasp_q = msg_to_image(result.grasp_q)
        assert np.isfinite(grasp_q[BLOCKS[name]]).all() and not np.isfinite(grasp_q[BLOCKS[other]]).any()
    assert wait_until(lambda: all(harness.pictures.values()))
    for topic, received in harness.pictures.items():
        assert received[-1].header.stamp == ns_to_stamp(STAMP_NS), topic
        assert (received[-1].height, received[-1].width) == DEFAULT_WORKSPACE.shape

    # "R,G,B" with a tolerance names the same block.
    r, g, b = color_by_name('blue').rgb255
    status, _, primitive = harness.choose(goal_type=GOAL.GOAL_COLOR, goal_color=f'{r},{g},{b}',
                                          goal_color_tolerance=10.0)
    assert status == GoalStatus.STATUS_SUCCEEDED and on_block(primitive, 'blue')


def test_a_mask_goal_is_grasped_on_the_masked_block(harness):
    for name in ('blue', 'red'):
        mask = image_to_msg(block_mask(name).astype(np.uint8) * 255, 'mono8')
        status, result, primitive = harness.choose(goal_type=GOAL.GOAL_MASK, goal_mask=mask)
        assert status == GoalStatus.STATUS_SUCCEEDED, result.message
        assert primitive.type == PrimitiveType.GRASP and on_block(primitive, name)


def test_bad_and_unseen_goals_are_aborted_with_the_reason_and_the_node_stays_up(harness):
    not_binary = block_mask('red').astype(np.uint8) * 255
    not_binary[0, 0] = 7
    empty = image_to_msg(np.zeros(DEFAULT_WORKSPACE.shape, np.uint8), 'mono8')
    bad = [
        ({'goal_type': GOAL.GOAL_COLOR, 'goal_color': 'chartreuse'}, ['bad goal', 'chartreuse', 'red, purple']),
        ({'goal_type': GOAL.GOAL_COLOR, 'goal_color': ''}, ['bad goal', 'needs a colour']),
        ({'goal_type': GOAL.GOAL_COLOR, 'goal_color': 'green'}, ['goal not visible', 'green object']),
        ({'goal_type': GOAL.GOAL_MASK, 'goal_mask': image_to_msg(np.full((100, 100), 255, np.uint8), 'mono8')},
         ['bad goal', 'heightmap resolution']),
        ({'goal_type': GOAL.GOAL_MASK, 'goal_mask': image_to_msg(not_binary, 'mono8')}, ['bad goal', 'binary']),
        ({'goal_type': GOAL.GOAL_MASK, 'goal_mask': empty}, ['goal not visible', 'marks no cell']),
        ({'goal_type': GOAL.GOAL_MASK}, ['bad goal', 'needs a mask image']),
        ({'goal_type': GOAL.GOAL_ID, 'goal_object_id': 1}, ['bad goal', 'object_labels_topic']),
        ({'goal_type': 9}, ['bad goal', 'unknown goal type 9']),
    ]
    for fields, words in bad:
        status, result, _ = harness.choose(**fields)
        assert status == GoalStatus.STATUS_ABORTED, fields
        for word in words:
            assert word in result.message, (fields, result.message)
    status, _, primitive = harness.choose(goal_type=GOAL.GOAL_COLOR, goal_color='red')
    assert status == GoalStatus.STATUS_SUCCEEDED and on_block(primitive, 'red')


def test_an_object_id_goal_uses_the_labels_stamped_like_the_heightmap(ros):
    harness = Harness(object_labels_topic='labels')
    try:
        status, result, _ = harness.choose(goal_type=GOAL.GOAL_ID, goal_object_id=1)
        assert status == GoalStatus.STATUS_ABORTED and 'no object labels on' in result.message

        labels = np.zeros(DEFAULT_WORKSPACE.shape, np.uint16)  # object index + 1; 0: no object
        labels[BLOCKS['red']], labels[BLOCKS['blue']] = 1, 2
        assert wait_until(lambda: harness.labels.get_subscription_count() >= 1)
        current = image_to_msg(labels, '16UC1')
        current.header.stamp = ns_to_stamp(STAMP_NS)
        newer = image_to_msg(labels[::-1, ::-1].copy(), '16UC1')  # another frame: the ids swap blocks
        newer.header.stamp = ns_to_stamp(STAMP_NS + 200_000_000)
        harness.labels.publish(current)
        harness.labels.publish(newer)
        assert wait_until(lambda: len(harness.node._labels) >= 2)
        for index, name in ((1, 'blue'), (0, 'red')):
            status, result, primitive = harness.choose(goal_type=GOAL.GOAL_ID, goal_object_id=index)
            assert status == GoalStatus.STATUS_SUCCEEDED, result.message
            assert on_block(primitive, name)
        status, result, _ = harness.choose(goal_type=GOAL.GOAL_ID, goal_object_id=5)
        assert status == GoalStatus.STATUS_ABORTED and 'object 5 is not visible' in result.message
    finally:
        harness.close()


def test_a_goal_conditioned_checkpoint_serves_goals(ros, tmp_path):
    """An (untrained, grasp-stage) goal-conditioned agent: grasp-only, so it grasps on the goal."""
    path = tmp_path / 'goal.pt'
    save_checkpoint(path, GoalAgent(GoalAgentConfig(network=QNetConfig(width=8, extra_channels=1)), seed=1).state())
    harness = Harness(goal_checkpoint=str(path))
    try:
        assert harness.node.goal_policy.name == 'goal'
        for name in ('blue', 'red'):
            status, result, primitive = harness.choose(goal_type=GOAL.GOAL_COLOR, goal_color=name)
            assert status == GoalStatus.STATUS_SUCCEEDED, result.message
            assert primitive.type == PrimitiveType.GRASP and on_block(primitive, name)
        # Goal-agnostic requests are still the heuristic's.
        status, result, _ = harness.choose()
        assert status == GoalStatus.STATUS_SUCCEEDED
    finally:
        harness.close()

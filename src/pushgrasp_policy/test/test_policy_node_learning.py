# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The policy node learns from Transition messages over DDS, checkpoints every K steps, and obeys `learning`."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
import torch
from action_msgs.msg import GoalStatus
from pushgrasp_interfaces.action import SelectPrimitive
from pushgrasp_interfaces.msg import Transition
from rclpy.parameter import Parameter
from rclpy.parameter_client import AsyncParameterClient
from std_msgs.msg import Header

from pushgrasp_control.primitives import PrimitiveType, primitive_from_pixel
from pushgrasp_control.ros.conversions import primitive_to_msg
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.ros.conversions import heightmap_to_msg, msg_to_image
from pushgrasp_perception.ros.testing import ActionHarness, wait_for, wait_until
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE
from pushgrasp_policy.checkpoint import load_checkpoint, save_checkpoint
from pushgrasp_policy.networks import QNetConfig
from pushgrasp_policy.ros.policy_node import TRANSITION_QOS, TRANSITIONS_TOPIC, PolicyNode
from pushgrasp_policy.vpg import VPGAgent, VPGConfig

pytestmark = pytest.mark.timeout(60)


def heightmap_msg(rng):
    heightmap = Heightmap.empty(DEFAULT_WORKSPACE)
    top, left = (int(v) for v in rng.integers(20, 180, 2))
    heightmap.height[top:top + 25, left:left + 25] = 0.05
    heightmap.color[top:top + 25, left:left + 25] = (200, 30, 30)
    return heightmap_to_msg(heightmap, 'base_link'), (top + 12, left + 12)


def transition_msg(rng, step, nan=False):
    """A grasp (even steps, successful) or a push (odd steps) on a random block."""
    state, (row, col) = heightmap_msg(rng)
    next_state, _ = heightmap_msg(rng)
    if nan:
        height = msg_to_image(state.height)
        height[3, 3] = np.nan
        state.height.data = height.tobytes()
    kind = PrimitiveType.GRASP if step % 2 == 0 else PrimitiveType.PUSH
    primitive = primitive_from_pixel(kind, step % 16, row, col, msg_to_image(next_state.height), DEFAULT_WORKSPACE)
    return Transition(header=Header(frame_id='base_link'), episode_id=0, step_id=step, state=state,
                      action=primitive_to_msg(primitive, 'base_link'), reward=1.0 if step % 2 == 0 else 0.5,
                      next_state=next_state, grasp_success=step % 2 == 0, scene_changed=True, episode_done=False)


class LearningHarness(ActionHarness):
    """A policy node, a client of its action and parameters, and a publisher of transitions."""

    def __init__(self, **parameters):
        super().__init__(PolicyNode, SelectPrimitive, 'select_primitive', **parameters)
        self.publisher = self.client_node.create_publisher(Transition, TRANSITIONS_TOPIC, TRANSITION_QOS)
        self.parameters = AsyncParameterClient(self.client_node, f'{self.namespace}/policy')
        assert self.parameters.wait_for_services(timeout_sec=8.0)

    def set(self, name, value):
        """(successful, reason) of setting one parameter of the node through its service."""
        result = wait_for(self.parameters.set_parameters([Parameter(name, value=value)])).results[0]
        return result.successful, result.reason

    def publish_and_wait(self, msg, steps):
        """Publish `msg` and wait until the learner has taken `steps` steps in all."""
        assert wait_until(lambda: self.publisher.get_subscription_count() >= 1)
        self.publisher.publish(msg)
        return wait_until(lambda: self.node.learner.steps >= steps, timeout=20.0)


def small_checkpoint(path):
    save_checkpoint(path, VPGAgent(VPGConfig(network=QNetConfig(width=8), extra_replays=1), seed=3).state())
    return str(path)


def test_the_node_learns_from_transitions_checkpoints_every_k_steps_and_obeys_the_learning_switch(ros, tmp_path):
    shipped = small_checkpoint(tmp_path / 'start.pt')
    learning_dir = tmp_path / 'learning'
    harness = LearningHarness(policy='vpg', checkpoint=shipped, learning=True, learning_dir=str(learning_dir),
                              learning_checkpoint_every=2)
    rng = np.random.default_rng(0)
    try:
        node = harness.node
        # A transition with a NaN height, or with a wrong number of rotations, is skipped; learning goes on.
        assert wait_until(lambda: harness.publisher.get_subscription_count() >= 1)
        harness.publisher.publish(transition_msg(rng, 0, nan=True))
        odd = transition_msg(rng, 0)
        odd.action.num_rotations = 8
        harness.publisher.publish(odd)
        assert harness.publish_and_wait(transition_msg(rng, 1), 1), 'the first good transition was not learned'
        assert not (learning_dir / 'policy.pt').exists(), 'a checkpoint before K steps'
        assert harness.publish_and_wait(transition_msg(rng, 2), 2)
        assert wait_until(lambda: (learning_dir / 'policy.pt').exists())  # written after the step is counted
        assert node.learner.steps == 2, 'a bad transition was learned from'
        saved = load_checkpoint(learning_dir / 'checkpoint.pt', required=('counters',))
        assert saved['counters']['steps'] == 2
        start = load_checkpoint(shipped)['network']
        assert any(not torch.equal(start[k], saved['network'][k]) for k in start), 'the weights did not change'
        # Decisions are served with the learned weights, while learning goes on.
        status, _ = harness.run(SelectPrimitive.Goal(heightmap=heightmap_msg(rng)[0]))
        assert status == GoalStatus.STATUS_SUCCEEDED
        assert node.learner.agent is node.policy.agent

        assert harness.publish_and_wait(transition_msg(rng, 3), 3)
        assert harness.set('learning', False) == (True, '')
        # Switching off writes the step not yet checkpointed; afterwards nothing is learned or written.
        assert load_checkpoint(learning_dir / 'checkpoint.pt')['counters']['steps'] == 3
        written = (learning_dir / 'checkpoint.pt').stat().st_mtime_ns
        for step in (4, 5, 6):
            harness.publisher.publish(transition_msg(rng, step))
        # A step takes well under a second here: three in three seconds if learning went on.
        assert not wait_until(lambda: node.learner.steps > 3, timeout=3.0)
        assert (learning_dir / 'checkpoint.pt').stat().st_mtime_ns == written

        assert harness.set('learning', True) == (True, '')
        assert harness.publish_and_wait(transition_msg(rng, 7), 4)
        assert harness.set('learning_dir', str(tmp_path))[0] is False  # read-only
        assert harness.set('learning', 'yes')[0] is False
    finally:
        harness.close()
    # Stopping the node writes the pending step.
    assert load_checkpoint(learning_dir / 'checkpoint.pt')['counters']['steps'] == 4

    # A new node on the same directory continues where the last one stopped.
    harness = LearningHarness(policy='vpg', checkpoint=shipped, learning=False, learning_dir=str(learning_dir))
    try:
        assert harness.node.learner.resumed and harness.node.learner.steps == 4
        saved = load_checkpoint(learning_dir / 'policy.pt')['network']
        served = harness.node.policy.agent.net.state_dict()
        assert all(torch.equal(saved[k], served[k]) for k in saved), 'the node does not serve the learned weights'
    finally:
        harness.close()


def test_learning_is_refused_without_a_learned_policy_or_a_directory(ros, tmp_path):
    harness = LearningHarness(policy='heuristic', learning_dir=str(tmp_path))
    try:
        assert harness.node.learner is None
        successful, reason = harness.set('learning', True)
        assert not successful and "policy 'heuristic' does not learn" in reason
        topics = [subscription.topic_name for subscription in harness.node.subscriptions]
        assert f'{harness.namespace}/heightmap' in topics and f'{harness.namespace}/transitions' not in topics
    finally:
        harness.close()
    harness = LearningHarness(policy='vpg', checkpoint=small_checkpoint(tmp_path / 'start.pt'))
    try:
        successful, reason = harness.set('learning', True)
        assert not successful and 'learning_dir is empty' in reason
    finally:
        harness.close()
    for parameters, reason in (({'policy': 'random', 'learning': True, 'learning_dir': str(tmp_path)},
                                "policy 'random' does not learn"),
                               ({'policy': 'vpg', 'learning': True}, 'learning_dir is empty'),
                               ({'policy': 'vpg', 'learning_dir': str(tmp_path), 'learning_checkpoint_every': 0},
                                'learning_checkpoint_every must be positive')):
        overrides = [Parameter(name, value=value) for name, value in parameters.items()]
        with pytest.raises(ValueError, match=reason):
            PolicyNode(namespace=f'/test_{uuid.uuid4().hex[:8]}', parameter_overrides=overrides)

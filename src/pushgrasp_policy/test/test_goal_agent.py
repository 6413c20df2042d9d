# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The goal-oriented agent's rules by hand: the discriminator's push reward, hindsight relabelling (also on a real
simulated grasp), the goal channel of the networks, the goal-conditioned learning step and the hierarchy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pushgrasp_control.primitives import PrimitiveType, primitive_from_pixel
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE
from pushgrasp_policy.checkpoint import CheckpointError, save_checkpoint
from pushgrasp_policy.evaluation import heightmap_of
from pushgrasp_policy.goal_agent import (GoalAgent, GoalAgentConfig, GoalConditionedPolicy, GoalTransition,
                                         agnostic_goal_mask, goal_agent_from_checkpoint, grasp_examples,
                                         is_goal_checkpoint, push_reward)
from pushgrasp_policy.goal_policy import GOAL_KEEP_PUSHES_INSIDE, goal_clearance
from pushgrasp_policy.networks import PushGraspQNet, QNetConfig
from pushgrasp_policy.policy import PolicyConfig
from pushgrasp_sim.env import PushGraspEnv, SimConfig

torch.set_num_threads(1)
SIZE = 224
SMALL = GoalAgentConfig(network=QNetConfig(width=8, extra_channels=1), learning_rate=1e-3)
# Three blocks well apart (reference frame): a blue cube, a green plank, a brown cylinder.
THREE_APART = """\
4.obj 0.305882 0.474510 0.654902 -0.600000 -0.120000 0.025000 0 0 0
3.obj 0.349020 0.631373 0.309804 -0.450000 0.000000 0.012500 0 0 0.5
8.obj 0.611765 0.458824 0.372549 -0.380000 0.130000 0.025000 0 0 0
"""


def two_blocks() -> tuple[Heightmap, np.ndarray]:
    """A heightmap with two blocks (objects 0 and 1) and its object labels."""
    color = np.full((SIZE, SIZE, 3), 40, np.uint8)
    height = np.zeros((SIZE, SIZE), np.float32)
    labels = np.full((SIZE, SIZE), -1, np.int32)
    for index, (r, c, rgb) in enumerate([(60, 60, (200, 30, 30)), (140, 150, (30, 30, 200))]):
        height[r:r + 30, c:c + 30] = 0.05
        color[r:r + 30, c:c + 30] = rgb
        labels[r:r + 30, c:c + 30] = index
    return Heightmap(color, height, DEFAULT_WORKSPACE), labels


# --- the push reward of the discriminator ---------------------------------------------------------------------
@pytest.mark.parametrize('before, after, changed, expected', [
    (0.25, 0.5, True, 0.5),      # the goal's grasp value rose by more than 0.1 and the scene changed
    (0.5, 0.625, True, 0.0),     # rose by 0.125 with an improvement threshold of 0.125: not MORE than it
    (0.5, 0.55, True, 0.0),      # rose, but by less than 0.1
    (0.75, 0.25, True, 0.0),     # fell: changed, no reward, no penalty
    (0.25, 0.875, False, -0.5),  # nothing changed: the penalty, whatever the values say
    (0.25, 0.25, False, -0.5),
])
def test_push_reward_follows_the_discriminator_rule(before, after, changed, expected):
    improvement = 0.125 if (before, after) == (0.5, 0.625) else 0.1
    assert push_reward(before, after, changed, improvement=improvement) == expected


def test_push_reward_takes_the_configured_values():
    assert push_reward(0.0, 1.0, True, reward=0.7) == 0.7
    assert push_reward(0.0, 1.0, False, penalty=-0.2) == -0.2
    assert push_reward(0.0, 0.3, True, improvement=0.3) == 0.0


def test_push_reward_pays_for_room_around_the_goal_only_when_asked():
    # The reference rule ignores the room: a push that freed the goal without raising its value earns 0.
    assert push_reward(0.5, 0.55, True, clearance_gain=0.6) == 0.0
    # With the option: more room than the threshold earns the reward, as much room as it does not ...
    assert push_reward(0.5, 0.55, True, clearance_gain=0.3, clearance_improvement=0.2) == 0.5
    assert push_reward(0.5, 0.55, True, clearance_gain=0.2, clearance_improvement=0.2) == 0.0
    assert push_reward(0.5, 0.55, True, clearance_gain=-0.4, clearance_improvement=0.2) == 0.0
    # ... a push that changed nothing is penalised whatever the room says, and a value rise still pays alone.
    assert push_reward(0.5, 0.55, False, clearance_gain=0.9, clearance_improvement=0.2) == -0.5
    assert push_reward(0.2, 0.55, True, clearance_gain=-0.1, clearance_improvement=0.2) == 0.5
    with pytest.raises(ValueError, match='clearance_improvement'):
        GoalAgentConfig(clearance_improvement=1.5)


def test_goal_clearance_measures_the_empty_table_around_the_goal():
    height = np.zeros((SIZE, SIZE), np.float32)
    goal = np.zeros((SIZE, SIZE), bool)
    goal[100:125, 100:125] = True
    height[goal] = 0.05
    band = 15  # cells: 3 cm at 2 mm
    assert goal_clearance(height, goal, band) == 1.0  # alone on the table
    boxed = height.copy()
    boxed[75:150, 75:100] = boxed[75:150, 125:150] = 0.05  # neighbours against its left and right sides
    assert 0.3 < goal_clearance(boxed, goal, band) < 0.7
    boxed[75:100, 75:150] = boxed[125:150, 75:150] = 0.05  # and against the other two
    assert goal_clearance(boxed, goal, band) == 0.0
    far = height.copy()
    far[100:125, 160:185] = 0.05  # a neighbour pushed 35 cells away leaves the band empty
    assert goal_clearance(far, goal, band) == 1.0
    thin = height.copy()
    thin[100:125, 126:128] = 0.005  # below the 1 cm an object must stand: table
    assert goal_clearance(thin, goal, band) == 1.0
    assert goal_clearance(boxed, np.zeros_like(goal), band) == 1.0  # no goal: nothing in its way
    # The agent measures the band in metres on the heightmap's grid.
    agent = GoalAgent(SMALL)
    heightmap = Heightmap(np.zeros((SIZE, SIZE, 3), np.uint8), boxed, DEFAULT_WORKSPACE)
    assert agent.goal_clearance(heightmap, goal) == 0.0
    assert GoalAgent(SMALL).goal_clearance(Heightmap(heightmap.color, far, DEFAULT_WORKSPACE), goal) == 1.0


def test_networks_started_from_goal_agnostic_weights_score_as_those_do_until_they_learn(tmp_path):
    from pushgrasp_policy.vpg import VPGAgent, VPGConfig
    vpg = VPGAgent(VPGConfig(network=QNetConfig(width=8)), seed=3)
    save_checkpoint(tmp_path / 'vpg.pt', vpg.state())
    heightmap, labels = two_blocks()
    agent = GoalAgent(SMALL, seed=0)
    grasp_before = agent.grasp_q(heightmap, labels == 0)
    agent.start_from_goal_agnostic(str(tmp_path / 'vpg.pt'), ['push'])
    push_q, grasp_q = vpg.q_maps(heightmap)
    for goal in (labels == 0, labels == 1):  # whatever the goal, the push Q-maps are the goal-agnostic ones
        np.testing.assert_allclose(agent.push_q(heightmap, goal), push_q, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(agent.grasp_q(heightmap, labels == 0), grasp_before)  # not asked: unchanged
    agent.start_from_goal_agnostic(str(tmp_path / 'vpg.pt'), ['grasp'])
    np.testing.assert_allclose(agent.grasp_q(heightmap, labels == 1), grasp_q, rtol=1e-5, atol=1e-6)
    # The goal channel starts weighted zero: learning gives it its weight.
    first = agent.nets['grasp'].push_trunk[0][0].weight
    assert first.shape[1] == 5 and torch.count_nonzero(first[:, 4]) == 0
    # Weights of another architecture are refused with the reason.
    save_checkpoint(tmp_path / 'wide.pt', VPGAgent(VPGConfig(network=QNetConfig(width=16)), seed=0).state())
    with pytest.raises(CheckpointError, match='not a goal-agnostic network like these'):
        agent.start_from_goal_agnostic(str(tmp_path / 'wide.pt'), ['push'])


# --- hindsight goal relabelling -------------------------------------------------------------------------------
def test_a_grasp_of_another_object_becomes_a_success_for_that_objects_mask():
    _, labels = two_blocks()
    goal_example, other = grasp_examples(goal=0, labels_before=labels, picked=[1])
    assert goal_example.goal_object == 0 and goal_example.reward == 0.0 and not goal_example.relabelled
    assert np.array_equal(goal_example.goal_mask, labels == 0)
    assert other.goal_object == 1 and other.reward == 1.0 and other.relabelled
    assert np.array_equal(other.goal_mask, labels == 1)


def test_relabelling_of_goal_picks_double_picks_failures_and_unseen_objects():
    _, labels = two_blocks()
    (hit,) = grasp_examples(goal=1, labels_before=labels, picked=[1], grasp_reward=2.0)
    assert hit.reward == 2.0 and np.array_equal(hit.goal_mask, labels == 1)
    (miss,) = grasp_examples(goal=1, labels_before=labels, picked=[])
    assert miss.reward == 0.0
    # A double pick of the goal and another object: a success for the goal AND one for the other.
    examples = grasp_examples(goal=0, labels_before=labels, picked=[1, 0])
    assert [(e.goal_object, e.reward, e.relabelled) for e in examples] == [(0, 1.0, False), (1, 1.0, True)]
    # An object nobody saw before the grasp has no mask to be a goal.
    assert len(grasp_examples(goal=0, labels_before=labels, picked=[7])) == 1
    # The goal-agnostic example: every occupied cell, a success when anything was picked.
    heightmap, _ = two_blocks()
    agnostic = agnostic_goal_mask(heightmap)
    *_, any_object = grasp_examples(goal=0, labels_before=labels, picked=[1], agnostic_mask=agnostic)
    assert any_object.goal_object == -1 and any_object.reward == 1.0
    assert np.array_equal(any_object.goal_mask, labels >= 0)


def test_relabelling_a_real_grasp_uses_the_picked_objects_mask_from_before_the_grasp(tmp_path):
    scene = tmp_path / 'three_apart.txt'
    scene.write_text(THREE_APART)
    with PushGraspEnv(SimConfig(segmentation=True)) as env:
        observation = env.reset(3, scene)
        heightmap, labels = heightmap_of(observation, env), env.object_labels(observation)
        mask_before = env.object_mask(0, observation)
        rows, cols = np.nonzero(mask_before)
        grasp = primitive_from_pixel(PrimitiveType.GRASP, 0, int(round(rows.mean())), int(round(cols.mean())),
                                     heightmap.height, heightmap.workspace)
        observation, info = env.step(grasp)  # the goal is object 2; the grasp is aimed at the cube, object 0
        assert info.grasp_success and info.picked_objects == [0]
        assert not env.object_mask(0, observation).any()  # after the grasp the cube has no mask any more
    goal_example, relabelled = grasp_examples(goal=2, labels_before=labels, picked=info.picked_objects)
    assert goal_example.reward == 0.0 and np.array_equal(goal_example.goal_mask, labels == 2)
    assert relabelled.reward == 1.0 and relabelled.goal_object == 0
    assert mask_before.sum() > 300 and np.array_equal(relabelled.goal_mask, mask_before)


# --- the goal-conditioned networks ----------------------------------------------------------------------------
def test_goal_conditioned_net_shapes_and_the_goal_channel_changes_the_output():
    net = PushGraspQNet(QNetConfig(width=8, extra_channels=1))
    heightmap, labels = two_blocks()
    push_a, grasp_a = net.q_maps(heightmap.color, heightmap.height, (labels == 0)[None].astype(np.float32))
    push_b, grasp_b = net.q_maps(heightmap.color, heightmap.height, (labels == 1)[None].astype(np.float32))
    assert push_a.shape == grasp_a.shape == (16, SIZE, SIZE) and grasp_a.dtype == np.float32
    assert np.abs(grasp_a - grasp_b).max() > 1e-4 and np.abs(push_a - push_b).max() > 1e-4
    small = net.prepare_extra((labels == 0)[None])
    assert small.shape == (1, SIZE // 2, SIZE // 2) and small.dtype == np.float16
    assert float(small.max()) == 1.0 and float(small.sum()) == pytest.approx((labels == 0).sum() / 4)
    with pytest.raises(ValueError, match='extra input channel'):
        net.q_maps(heightmap.color, heightmap.height)
    with pytest.raises(ValueError, match='extra channels'):
        net.q_maps(heightmap.color, heightmap.height, np.zeros((2, SIZE, SIZE)))


def test_goal_agnostic_networks_and_their_saved_settings_are_unchanged():
    # A network config saved before extra channels existed reads as the 4-channel goal-agnostic network.
    old = QNetConfig(width=8).to_dict()
    del old['extra_channels']
    net = PushGraspQNet(QNetConfig.from_dict(old))
    assert net.config.extra_channels == 0 and net.push_trunk[0][0].in_channels == 4
    heightmap, _ = two_blocks()
    assert net.q_maps(heightmap.color, heightmap.height)[0].shape == (16, SIZE, SIZE)
    with pytest.raises(ValueError, match='extras of shape'):
        net.input_tensor(np.zeros((1, 112, 112, 3), np.uint8), np.zeros((1, 112, 112)), np.zeros((1, 1, 112, 112)))
    with pytest.raises(ValueError, match='exactly one extra channel'):
        GoalAgentConfig(network=QNetConfig(width=8))


def test_the_grasp_network_learns_a_different_value_for_each_goal_at_the_same_pixel():
    agent = GoalAgent(SMALL, seed=0)
    heightmap, labels = two_blocks()
    net = agent.nets['grasp']
    color, height = net.prepare(heightmap.color, heightmap.height)
    row, col = 75, 75  # on object 0
    samples = [GoalTransition(color, height, PrimitiveType.GRASP, 3, row, col, reward, reward,
                              goal=net.prepare_extra((labels == goal)[None]))
               for goal, reward in ((0, 1.0), (1, 0.0))]  # grasping here gets object 0, not object 1
    for _ in range(60):
        agent.learn('grasp', samples, heightmap.shape)
    assert agent.trained == {'grasp': 60, 'push': 0}
    q0, q1 = agent.grasp_q(heightmap, labels == 0), agent.grasp_q(heightmap, labels == 1)
    assert q0[3, row, col] > 0.8 and q1[3, row, col] < 0.2
    assert q0[11, row, col] > 0.8  # the symmetric rotation of a parallel-jaw grasp learned with it


# --- the hierarchy --------------------------------------------------------------------------------------------
def fixed_q(agent: GoalAgent, grasp_value: float) -> None:
    """Make the agent's grasp Q `grasp_value` everywhere and its push Q peak at (5, 120, 130)."""
    def grasp_q(heightmap, goal_mask):
        return np.full((16, SIZE, SIZE), grasp_value, np.float32)

    def push_q(heightmap, goal_mask):
        q = np.zeros((16, SIZE, SIZE), np.float32)
        q[5, 120, 130] = 1.0
        return q
    agent.grasp_q, agent.push_q = grasp_q, push_q


def test_the_policy_grasps_on_the_goal_past_the_threshold_and_pushes_near_it_below():
    heightmap, labels = two_blocks()
    agent = GoalAgent(SMALL)
    agent.trained['push'] = 1  # a push network that was trained: the hierarchy may push
    # Goal policies' pushes are not cut (GOAL_KEEP_PUSHES_INSIDE): the push at the Q's peak touches nothing.
    config = PolicyConfig(avoid_repeats=False, keep_pushes_inside=GOAL_KEEP_PUSHES_INSIDE)
    policy = GoalConditionedPolicy(agent, config)
    fixed_q(agent, 0.95)  # above the 0.9 threshold: grasp, on the goal
    decision = policy.decide(heightmap, labels == 1)
    assert decision.primitive.type == PrimitiveType.GRASP
    assert labels[decision.primitive.row, decision.primitive.col] == 1
    fixed_q(agent, 0.5)  # below: push, from a cell near the goal (the push Q's peak is 6 cm from block 1)
    for _ in range(5):
        decision = policy.decide(heightmap, labels == 1)
        assert decision.primitive.type == PrimitiveType.PUSH
        assert (decision.primitive.rotation_index, decision.primitive.row, decision.primitive.col) == (5, 120, 130)
    assert policy.pushes == 5
    assert policy.decide(heightmap, labels == 1).primitive.type == PrimitiveType.GRASP  # after max_pushes
    assert policy.pushes == 0
    # A goal far from the push Q's peak: the peak is not within push_radius, another cell near the goal is.
    far = np.zeros_like(labels, dtype=bool)
    far[200:210, 200:210] = True
    decision = policy.decide(heightmap, far)
    assert decision.primitive.type == PrimitiveType.PUSH
    assert (decision.primitive.row, decision.primitive.col) != (120, 130)
    assert np.hypot(decision.primitive.row - 200, decision.primitive.col - 200) <= 50 * np.sqrt(2)


def test_a_policy_without_a_trained_push_network_only_grasps():
    heightmap, labels = two_blocks()
    agent = GoalAgent(SMALL)
    fixed_q(agent, 0.1)
    policy = GoalConditionedPolicy(agent)
    assert policy.grasp_only
    assert policy.decide(heightmap, labels == 0).primitive.type == PrimitiveType.GRASP
    # Goal-agnostic mode: no goal mask, any object.
    decision = policy.decide(heightmap)
    assert decision.primitive.type == PrimitiveType.GRASP
    assert labels[decision.primitive.row, decision.primitive.col] >= 0


def test_a_grasp_threshold_given_to_the_policy_replaces_the_agents():
    heightmap, labels = two_blocks()
    agent = GoalAgent(SMALL)
    agent.trained['push'] = 1
    policy = GoalConditionedPolicy(agent, PolicyConfig(avoid_repeats=False), grasp_threshold=0.4)
    assert agent.config.grasp_threshold == 0.4
    fixed_q(agent, 0.5)  # below the agent's 0.9 but above 0.4: grasp at once
    assert policy.decide(heightmap, labels == 1).primitive.type == PrimitiveType.GRASP
    fixed_q(agent, 0.3)
    assert policy.decide(heightmap, labels == 1).primitive.type == PrimitiveType.PUSH


def test_goal_checkpoints_round_trip_and_are_told_apart(tmp_path):
    agent = GoalAgent(SMALL, seed=4)
    agent.trained['grasp'] = 7
    save_checkpoint(tmp_path / 'goal.pt', agent.state())
    assert is_goal_checkpoint(str(tmp_path / 'goal.pt')) and not is_goal_checkpoint('shipped')
    loaded = goal_agent_from_checkpoint(str(tmp_path / 'goal.pt'))
    assert loaded.trained == {'grasp': 7, 'push': 0} and loaded.config == SMALL
    heightmap, labels = two_blocks()
    assert np.array_equal(loaded.grasp_q(heightmap, labels == 0), agent.grasp_q(heightmap, labels == 0))
    wider = GoalAgent(GoalAgentConfig(network=QNetConfig(width=16, extra_channels=1)))
    with pytest.raises(CheckpointError, match='does not fit'):
        wider.load_state(agent.state())

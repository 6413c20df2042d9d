# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Selecting a primitive from Q-maps: the argmax, the grasp mask and epsilon-greedy exploration."""

import math

import numpy as np
import pytest

from pushgrasp_control.primitives import PrimitiveType
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.workspace import Workspace
from pushgrasp_policy.decision import grasp_mask, select_from_q_maps
from pushgrasp_policy.policy import PolicyConfig, QMapPolicy

WORKSPACE = Workspace(x_min=0.4, x_max=0.528, y_min=-0.064, y_max=0.064, z_min=0.0, z_max=0.3, resolution=0.002)
R = 8


def box_heightmap(stamp_ns=123):
    heightmap = Heightmap.empty(WORKSPACE)
    heightmap.height[20:30, 30:40] = 0.05  # a 2 cm block
    heightmap.stamp_ns = stamp_ns
    return heightmap


def low_q_maps(seed=0):
    rng = np.random.default_rng(seed)
    shape = (R, *WORKSPACE.shape)
    return rng.uniform(0.0, 0.5, shape).astype(np.float32), rng.uniform(0.0, 0.5, shape).astype(np.float32)


def test_picks_the_push_argmax_and_builds_its_primitive():
    heightmap = box_heightmap()
    push_q, grasp_q = low_q_maps()
    push_q[5, 50, 10] = 2.0
    decision = select_from_q_maps(push_q, grasp_q, heightmap)
    p = decision.primitive
    assert (p.type, p.rotation_index, p.row, p.col, p.num_rotations) == (PrimitiveType.PUSH, 5, 50, 10, R)
    assert p.q_value == pytest.approx(2.0)
    assert p.yaw == pytest.approx(5 * 2 * math.pi / R)
    np.testing.assert_allclose(p.position, WORKSPACE.pixel_to_base(50, 10))
    assert p.push_length == pytest.approx(0.1) and p.stamp_ns == 123
    assert not decision.explored
    np.testing.assert_array_equal(decision.best_push_q, push_q.max(axis=0))


def test_picks_the_grasp_argmax_on_an_object():
    heightmap = box_heightmap()
    push_q, grasp_q = low_q_maps()
    grasp_q[3, 25, 33] = 0.9
    push_q[1, 5, 5] = 0.8
    p = select_from_q_maps(push_q, grasp_q, heightmap).primitive
    assert (p.type, p.rotation_index, p.row, p.col) == (PrimitiveType.GRASP, 3, 25, 33)
    assert p.position[2] == pytest.approx(0.05)
    assert p.push_length == 0.0


def test_grasps_with_nothing_underneath_are_masked():
    heightmap = box_heightmap()
    push_q, grasp_q = low_q_maps()
    grasp_q[2, 5, 5] = 5.0  # empty table: never grasped
    grasp_q[7, 22, 38] = 1.5  # on the block
    push_q[0, 40, 40] = 1.0
    p = select_from_q_maps(push_q, grasp_q, heightmap).primitive
    assert (p.type, p.rotation_index, p.row, p.col) == (PrimitiveType.GRASP, 7, 22, 38)
    assert grasp_mask(heightmap).sum() == 100

    # On an empty table no grasp can be chosen, whatever its Q-values.
    empty = Heightmap.empty(WORKSPACE)
    grasp_q[:] = 10.0
    assert select_from_q_maps(push_q, grasp_q, empty).primitive.type == PrimitiveType.PUSH


def test_ties_resolve_to_the_argmax_of_the_best_over_rotations_map():
    heightmap = box_heightmap()
    push_q = np.zeros((R, *WORKSPACE.shape), np.float32)
    grasp_q = np.zeros_like(push_q)
    grasp_q[0, 28, 38] = grasp_q[5, 21, 31] = grasp_q[6, 21, 31] = 1.0  # a plateau over pixels and rotations
    decision = select_from_q_maps(push_q, grasp_q, heightmap)
    p = decision.primitive
    assert (p.type, p.row, p.col, p.rotation_index) == (PrimitiveType.GRASP, 21, 31, 5)
    best = decision.best_grasp_q
    assert np.unravel_index(np.argmax(best), best.shape) == (p.row, p.col)


def test_ties_go_to_push_and_nan_is_ignored():
    heightmap = box_heightmap()
    push_q, grasp_q = low_q_maps()
    push_q[0, 10, 10] = grasp_q[0, 25, 35] = 1.0
    assert select_from_q_maps(push_q, grasp_q, heightmap).primitive.type == PrimitiveType.PUSH
    push_q[4, 1, 1] = np.nan
    p = select_from_q_maps(push_q, grasp_q, heightmap).primitive
    assert (p.rotation_index, p.row, p.col) == (0, 10, 10)


def test_epsilon_greedy_exploration():
    heightmap = box_heightmap()
    push_q, grasp_q = low_q_maps()
    push_q[1, 10, 10] = 2.0  # greedy choice: this push
    grasp_q[6, 24, 34] = 1.0  # best grasp
    rng = np.random.default_rng(7)
    chosen = [select_from_q_maps(push_q, grasp_q, heightmap, True, rng, epsilon=1.0) for _ in range(200)]
    kinds = [d.primitive.type for d in chosen]
    assert 60 < kinds.count(PrimitiveType.GRASP) < 140  # a fair coin over the primitive type
    for decision in chosen:
        p = decision.primitive
        assert decision.explored
        expected = (1, 10, 10) if p.type == PrimitiveType.PUSH else (6, 24, 34)
        assert (p.rotation_index, p.row, p.col) == expected  # the best pixel of the drawn primitive
    greedy = [select_from_q_maps(push_q, grasp_q, heightmap, True, rng, epsilon=0.0) for _ in range(20)]
    assert all(d.primitive.type == PrimitiveType.PUSH and not d.explored for d in greedy)
    # Same seed, same choices.
    rng = np.random.default_rng(7)
    again = [select_from_q_maps(push_q, grasp_q, heightmap, True, rng, 1.0).primitive.type for _ in range(20)]
    assert again == kinds[:20]


def test_bad_inputs_are_refused():
    heightmap = box_heightmap()
    push_q, grasp_q = low_q_maps()
    with pytest.raises(ValueError, match='Generator'):
        select_from_q_maps(push_q, grasp_q, heightmap, explore=True)
    with pytest.raises(ValueError, match='do not match'):
        select_from_q_maps(push_q[:, :-1], grasp_q[:, :-1], heightmap)
    with pytest.raises(ValueError):
        select_from_q_maps(push_q, grasp_q[:4], heightmap)
    with pytest.raises(ValueError, match='non-finite'):
        select_from_q_maps(np.full_like(push_q, np.nan), np.full_like(grasp_q, np.nan), heightmap)


class FixedQPolicy(QMapPolicy):
    """A policy whose Q-maps are fixed arrays (what is under test is the base class's choice)."""

    def __init__(self, push_q, grasp_q, **settings):
        super().__init__(PolicyConfig(num_rotations=R, **settings))
        self.maps = (push_q, grasp_q)

    def q_maps(self, heightmap):
        return self.maps


def test_a_policy_does_not_repeat_an_action_on_a_scene_it_did_not_change():
    push_q, grasp_q = low_q_maps()
    grasp_q[2, 25, 35] = 5.0  # the best action: a grasp on the block at rotation 2
    grasp_q[6, 25, 35] = 4.0  # the same jaw axis (rotation 2 + R/2): the same grasp
    grasp_q[2, 26, 36] = 4.5  # one cell away: the same grasp too
    grasp_q[1, 24, 33] = 3.0  # a different grasp
    policy = FixedQPolicy(push_q, grasp_q)
    scene = box_heightmap()
    first = policy.decide(scene).primitive
    assert (first.type, first.rotation_index, first.row, first.col) == (PrimitiveType.GRASP, 2, 25, 35)
    second = policy.decide(box_heightmap()).primitive  # nothing changed: the grasp failed
    assert (second.type, second.rotation_index, second.row, second.col) == (PrimitiveType.GRASP, 1, 24, 33)
    assert policy.decide(box_heightmap()).primitive.type == PrimitiveType.PUSH  # every grasp above 0.5 was tried

    nudged = box_heightmap()
    nudged.height[55:64, 55:64] = 0.05  # a small change at the edge of the grasps' surroundings: still masked
    assert policy.decide(nudged).primitive.type == PrimitiveType.PUSH
    changed = box_heightmap()
    changed.height[30:50, 30:50] = 0.05  # the block's surroundings changed: everything may be tried again
    assert policy.decide(changed).primitive.rotation_index == 2

    unguarded = FixedQPolicy(push_q, grasp_q, avoid_repeats=False)
    assert unguarded.decide(scene).primitive.row == unguarded.decide(scene).primitive.row == 25


def test_the_guard_falls_back_to_the_unmasked_maps_when_nothing_else_is_left():
    push_q, grasp_q = low_q_maps()
    push_q[:] = -np.inf  # a grasping-only policy
    policy = FixedQPolicy(push_q, grasp_q, repeat_radius_px=100)
    scene = box_heightmap()
    first = policy.decide(scene).primitive
    for _ in range(R // 2 - 1):  # each failed grasp masks its jaw axis (two rotations) everywhere
        policy.decide(scene)
    again = policy.decide(scene).primitive  # every grasp is masked: take the best anyway
    assert (again.rotation_index, again.row, again.col) == (first.rotation_index, first.row, first.col)

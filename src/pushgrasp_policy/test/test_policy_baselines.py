# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The heuristic and random baseline policies and the policy registry."""

import numpy as np
import pytest

from pushgrasp_control.primitives import PrimitiveType
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE
from pushgrasp_policy import HeuristicPolicy, Policy, RandomPolicy, make_policy
from pushgrasp_policy.decision import sample_shifted


def block_heightmap(rows=slice(100, 125), cols=slice(100, 125), height=0.05):
    heightmap = Heightmap.empty(DEFAULT_WORKSPACE)
    heightmap.height[rows, cols] = height  # a 5 cm cube at the centre by default
    return heightmap


def test_sample_shifted_follows_the_pixel_convention():
    height = np.zeros((5, 6), np.float32)
    height[2, 4] = 1.0
    angles = np.array([0.0, np.pi / 2])
    shifted = sample_shifted(height, angles, 0.004, 0.002)  # two pixels along +x (columns), then +y (rows)
    assert shifted[0, 2, 2] == 1.0 and shifted[0].sum() == 1.0
    assert shifted[1, 0, 4] == 1.0 and shifted[1].sum() == 1.0


def test_heuristic_grasp_prefers_an_isolated_block_to_empty_table():
    policy = make_policy('heuristic', seed=0)
    push_q, grasp_q = policy.q_maps(block_heightmap())
    assert push_q.shape == grasp_q.shape == (16, 224, 224)
    assert push_q.dtype == grasp_q.dtype == np.float32
    for q in (push_q, grasp_q):
        assert q.min() >= 0.0 and q.max() <= 1.0
    best = grasp_q.max(axis=0)
    assert best[112, 112] > 0.9  # centre of the block
    assert best[20, 20] == 0.0 and best[112, 60] == 0.0  # empty table
    assert best[112, 112] > best[101, 101]  # centred grasps beat edge grasps
    decision = policy.decide(block_heightmap())
    p = decision.primitive
    assert p.type == PrimitiveType.GRASP
    assert 100 <= p.row < 125 and 100 <= p.col < 125


def test_heuristic_does_not_grasp_an_object_too_wide_for_the_jaws():
    wall = block_heightmap(rows=slice(100, 150), cols=slice(0, 224))  # 10 cm thick, across the workspace
    policy = HeuristicPolicy()
    _, grasp_q = policy.q_maps(wall)
    assert grasp_q.max() == 0.0
    p = policy.decide(wall).primitive
    assert p.type == PrimitiveType.PUSH
    assert wall.height[p.row, p.col] == 0.0  # pushes start on free table


def test_heuristic_push_needs_an_object_ahead():
    policy = HeuristicPolicy()
    push_q, _ = policy.q_maps(block_heightmap())
    row, col = 112, 90  # 2 cm on the -x side of the block
    assert push_q[0, row, col] > 0.4  # rotation 0 pushes along +x, into the block
    assert push_q[8, row, col] == 0.0  # rotation 8 pushes along -x, away from it
    assert push_q[:, 20, 20].max() == 0.0  # nothing within reach
    assert push_q[:, 112, 112].max() == 0.0  # starting on the block
    # Earlier contact scores higher than contact at the end of the stroke.
    assert push_q[0, row, col] > push_q[0, row, 60]


def test_random_policy_is_seeded_and_uniform():
    heightmap = block_heightmap()
    a, b = make_policy('random', seed=3), make_policy('random', seed=3)
    push_a, grasp_a = a.q_maps(heightmap)
    push_b, grasp_b = b.q_maps(heightmap)
    np.testing.assert_array_equal(push_a, push_b)
    np.testing.assert_array_equal(grasp_a, grasp_b)
    other, _ = make_policy('random', seed=4).q_maps(heightmap)
    assert not np.array_equal(push_a, other)
    assert push_a.dtype == np.float32 and 0.0 <= push_a.min() and push_a.max() < 1.0
    assert abs(float(push_a.mean()) - 0.5) < 0.01
    decision = make_policy('random', seed=3).decide(heightmap, explore=True, rng=np.random.default_rng(0))
    if decision.primitive.type == PrimitiveType.GRASP:
        assert heightmap.height[decision.primitive.row, decision.primitive.col] > 0


def test_registry():
    assert isinstance(make_policy('heuristic', 0), HeuristicPolicy)
    assert isinstance(make_policy('random', 0), RandomPolicy)
    assert isinstance(make_policy('heuristic', 0), Policy)
    policy = make_policy('heuristic', 0, num_rotations=8, push_length=0.05, epsilon=0.3)
    assert (policy.config.num_rotations, policy.config.push_length, policy.config.epsilon) == (8, 0.05, 0.3)
    assert policy.q_maps(block_heightmap())[0].shape == (8, 224, 224)
    with pytest.raises(ValueError, match='heuristic, random'):
        make_policy('vpg_typo', 0)
    with pytest.raises(ValueError, match='checkpoint'):
        make_policy('heuristic', 0, checkpoint='/tmp/model.pt')
    with pytest.raises(ValueError, match='epsilon'):
        make_policy('heuristic', 0, epsilon=1.5)

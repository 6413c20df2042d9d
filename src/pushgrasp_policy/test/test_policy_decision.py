# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Selecting a primitive from Q-maps: the argmax, the grasp mask and epsilon-greedy exploration."""

import contextlib
import math

import numpy as np
import pytest

from pushgrasp_control.motion import MotionLimits, PrimitiveRefused, plan_primitive
from pushgrasp_control.primitives import PrimitiveType, primitive_from_pixel
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.workspace import Workspace
from pushgrasp_perception import DEFAULT_WORKSPACE
from pushgrasp_policy.decision import (contained_push_strokes, grasp_mask, pushable_mask, select_from_q_maps,
                                       unseen_finger_grasps)
from pushgrasp_policy.policy import PolicyConfig, QMapPolicy, RepeatGuard

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
    push_q[1, 10, 10] = 2.0
    decision = select_from_q_maps(push_q, grasp_q, heightmap)
    p = decision.primitive
    assert (p.type, p.rotation_index, p.row, p.col, p.num_rotations) == (PrimitiveType.PUSH, 1, 10, 10, R)
    assert p.q_value == pytest.approx(2.0)
    assert p.yaw == pytest.approx(1 * 2 * math.pi / R)
    np.testing.assert_allclose(p.position, WORKSPACE.pixel_to_base(10, 10))
    assert p.push_length == pytest.approx(0.1) and p.stamp_ns == 123
    assert not decision.explored
    np.testing.assert_array_equal(decision.best_push_q, push_q.max(axis=0))


def test_pushes_the_controller_would_refuse_are_never_chosen():
    """A push near an edge pointing out of the workspace keeps < 2 cm of stroke inside the edge margin: skipped."""
    heightmap = box_heightmap()
    push_q, grasp_q = low_q_maps()
    push_q[5, 50, 10] = 3.0  # 2.1 cm from the -x edge, pushing towards -x and -y: no stroke left inside 5 cm
    push_q[1, 10, 10] = 2.0  # pushing into the workspace: 8 cm of stroke
    pushable = pushable_mask(heightmap, R)
    assert not pushable[5, 50, 10] and pushable[1, 10, 10]
    p = select_from_q_maps(push_q, grasp_q, heightmap).primitive
    assert (p.type, p.rotation_index, p.row, p.col) == (PrimitiveType.PUSH, 1, 10, 10)
    with pytest.raises(PrimitiveRefused):  # the controller agrees
        plan_primitive(select_from_q_maps(push_q, grasp_q, heightmap, push_edge_margin=0.0, min_push_stroke=0.0)
                       .primitive, MotionLimits(workspace=WORKSPACE))
    # Without the edge margin the stroke is 3 cm: the controller executes it, and the policy chooses it.
    # (Without keeping 1 cm between the edge and what the push shoves, too: that leaves it 1.97 cm of stroke.)
    p = FixedQPolicy(push_q, grasp_q, push_edge_margin=0.0, keep_pushes_inside=None).decide(heightmap).primitive
    assert (p.rotation_index, p.row, p.col) == (5, 50, 10)
    plan = plan_primitive(p, MotionLimits(workspace=WORKSPACE, push_edge_margin=0.0))
    assert plan.stroke_length == pytest.approx(0.021 / math.cos(math.pi / 4))
    # Exploration draws a primitive type, then takes its best allowed action: never the refused push either.
    rng = np.random.default_rng(0)
    explored = [select_from_q_maps(push_q, grasp_q, heightmap, True, rng, epsilon=1.0).primitive for _ in range(20)]
    assert all((e.rotation_index, e.row, e.col) != (5, 50, 10) for e in explored if e.type == PrimitiveType.PUSH)


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
        super().__init__(PolicyConfig(**{'num_rotations': R, **settings}))
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


def test_a_neighbouring_jaw_axis_at_the_same_spot_is_the_same_grasp():
    """16 rotations: after a failed grasp, the axes 22.5 degrees either side are masked too, 45 degrees are not."""
    guard = RepeatGuard(angle_deg=22.5)
    grasp = primitive_from_pixel(PrimitiveType.GRASP, 0, 25, 35, np.zeros(WORKSPACE.shape), WORKSPACE, num_rotations=16)
    assert guard.same_rotations(grasp) == [0, 1, 7, 8, 9, 15]  # jaw axes at 0 and +-22.5 degrees, both ways round
    push = primitive_from_pixel(PrimitiveType.PUSH, 3, 25, 35, np.zeros(WORKSPACE.shape), WORKSPACE, num_rotations=16)
    assert guard.same_rotations(push) == [2, 3, 4]  # a push direction has no symmetric twin
    assert RepeatGuard().same_rotations(grasp) == [0, 8]

    push_q = np.full((16, *WORKSPACE.shape), -np.inf, np.float32)
    grasp_q = np.zeros_like(push_q)
    grasp_q[3, 25, 35], grasp_q[4, 25, 35], grasp_q[5, 25, 35] = 3.0, 2.0, 1.0
    policy = FixedQPolicy(push_q, grasp_q, num_rotations=16)
    assert [policy.decide(box_heightmap()).primitive.rotation_index for _ in range(2)] == [3, 5]  # 4 is masked
    narrow = FixedQPolicy(push_q, grasp_q, num_rotations=16, repeat_angle_deg=0.0)
    assert [narrow.decide(box_heightmap()).primitive.rotation_index for _ in range(2)] == [3, 4]


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


def test_a_push_is_cut_to_the_free_table_ahead_of_it_near_an_edge():
    """The stroke leaves room for what the push gathers between its start and the edge, plus keep_inside."""
    heightmap = Heightmap.empty(WORKSPACE)  # 64 x 64 cells; +y (rotation 2 of 8) runs along +rows to row 64
    heightmap.height[40:50, 30:35] = 0.03  # 2 cm of block ahead of a push from row 30 along +y
    to_edge = (64 - 30.5) * 0.002  # 6.7 cm from the centre of row 30 to the +y edge
    no_margin = {'push_edge_margin': 0.0}  # (this small workspace leaves 1.7 cm inside the usual 5 cm margin)
    strokes = contained_push_strokes(heightmap, R, keep_inside=0.0, **no_margin)
    assert strokes[2, 30, 32] == pytest.approx(to_edge - 10 * 0.002)  # the free table ahead: 4.7 cm
    kept = contained_push_strokes(heightmap, R, keep_inside=0.01, **no_margin)
    assert kept[2, 30, 32] == pytest.approx(to_edge - 10 * 0.002 - 0.01)
    # Nothing ahead: the fingers themselves keep keep_inside; within the usual margin, the controller's stroke.
    assert kept[2, 30, 10] == pytest.approx(to_edge - 0.01)
    assert contained_push_strokes(heightmap, R)[2, 30, 10] == pytest.approx(to_edge - 0.05)
    # Along +x, with 11.7 cm to the edge and the block 2 cm beside the line: the whole push.
    assert kept[0, 30, 5] == pytest.approx(0.1)
    # A block whose nearest cell is 1.2 cm beside the line is in the corridor; 1.4 cm beside, it is not.
    assert contained_push_strokes(heightmap, R, keep_inside=0.0, **no_margin)[2, 30, 24] == \
        pytest.approx(to_edge - 10 * 0.002)
    assert contained_push_strokes(heightmap, R, keep_inside=0.0, **no_margin)[2, 30, 23] == pytest.approx(to_edge)

    # Material the push does not reach does not count: a block at the edge 6 mm beyond the end of a 10 cm push
    # from row 5 (free table up to it) leaves the whole push; the same block 2 cm nearer would be shoved, so the
    # push stops where the block's far side is 1 cm inside the edge.
    far = Heightmap.empty(WORKSPACE)
    far.height[58:64, 0:10] = 0.03
    assert contained_push_strokes(far, R, **no_margin)[2, 5, 4] == pytest.approx(0.1)
    near = Heightmap.empty(WORKSPACE)
    near.height[50:56, 0:10] = 0.03
    to_edge_5 = (64 - 5.5) * 0.002
    assert contained_push_strokes(near, R, **no_margin)[2, 5, 4] == pytest.approx(to_edge_5 - 0.01 - 6 * 0.002)

    # The decision cuts the chosen push to that stroke, and leaves out pushes it cuts below the shortest stroke.
    push_q, grasp_q = low_q_maps()
    push_q[2, 30, 32] = 3.0
    decision = select_from_q_maps(push_q, grasp_q, heightmap, keep_pushes_inside=0.01, **no_margin)
    assert decision.primitive.push_length == pytest.approx(kept[2, 30, 32])
    plan = plan_primitive(decision.primitive, MotionLimits(workspace=WORKSPACE, push_edge_margin=0.0))
    assert plan.stroke_length == pytest.approx(kept[2, 30, 32])
    assert select_from_q_maps(push_q, grasp_q, heightmap, **no_margin).primitive.push_length == pytest.approx(0.1)
    heightmap.height[31:50, 30:35] = 0.03  # now 3.8 cm of block: 1.9 cm of stroke left, less than 2 cm
    p = select_from_q_maps(push_q, grasp_q, heightmap, keep_pushes_inside=0.01, **no_margin).primitive
    assert (p.rotation_index, p.row, p.col) != (2, 30, 32)


def test_with_the_cut_a_push_that_would_touch_nothing_is_left_out():
    heightmap = Heightmap.empty(WORKSPACE)  # 64 x 64 cells; +y (rotation 2 of 8) runs along +rows
    heightmap.height[56:64, 30:35] = 0.03  # a block at the +y edge
    heightmap.height[20:25, 50:55] = 0.03  # one in the middle
    no_margin = {'push_edge_margin': 0.0}
    cut = contained_push_strokes(heightmap, R, **no_margin)
    touching = contained_push_strokes(heightmap, R, only_touching=True, **no_margin)
    # From row 30 along +y toward the edge block: cut to stop where the block starts (it may not move toward the
    # edge), the push would only reach it.
    assert cut[2, 30, 32] == pytest.approx((56 - 30.5) * 0.002) and touching[2, 30, 32] == 0.0
    # Into the middle block: the (cut) push; across empty table: nothing.
    assert touching[2, 5, 52] == pytest.approx(cut[2, 5, 52]) and touching[2, 5, 52] > 0.02
    assert touching[0, 40, 5] == 0.0 and cut[0, 40, 5] == pytest.approx(0.1)

    push_q = np.zeros((R, *WORKSPACE.shape), dtype=np.float32)
    grasp_q = np.full_like(push_q, -np.inf)
    push_q[0, 40, 5] = 3.0  # the best value, along empty table
    push_q[2, 5, 52] = 1.0
    p = select_from_q_maps(push_q, grasp_q, heightmap, keep_pushes_inside=0.01, **no_margin).primitive
    assert (p.rotation_index, p.row, p.col) == (2, 5, 52)
    # Nothing else left: the rule gives way rather than leave the policy without a choice.
    push_q[2, 5, 52] = -np.inf
    push_q[push_q == 0.0] = -np.inf
    p = select_from_q_maps(push_q, grasp_q, heightmap, keep_pushes_inside=0.01, **no_margin).primitive
    assert (p.rotation_index, p.row, p.col) == (0, 40, 5)


@pytest.mark.parametrize('seed', range(6))
def test_the_rules_computed_per_rotation_on_demand_choose_what_the_full_masks_choose(seed):
    rng = np.random.default_rng(seed)
    heightmap = Heightmap.empty(DEFAULT_WORKSPACE)
    rows, cols = DEFAULT_WORKSPACE.shape
    for _ in range(25):  # blocks anywhere, some across the edges
        r, c = rng.integers(-10, rows), rng.integers(-10, cols)
        heightmap.height[max(r, 0):r + rng.integers(10, 30), max(c, 0):c + rng.integers(10, 30)] = rng.uniform(0.02,
                                                                                                               0.1)
    shape = (16, rows, cols)
    push_q = rng.uniform(0, 1, shape).astype(np.float32)
    grasp_q = rng.uniform(0, 1, shape).astype(np.float32)
    grasp_q[:, rows - 10:] += 0.5  # the best grasps at the +y edge, where many have a finger beyond it
    push_q *= 1.6 if seed % 2 else 1.0  # pushes win on odd seeds
    decision = select_from_q_maps(push_q, grasp_q, heightmap, keep_pushes_inside=0.01)

    # The rules' full maps, and the documented argmax (pixel first, then the lowest rotation) over them.
    strokes = contained_push_strokes(heightmap, 16, keep_inside=0.01, only_touching=True)
    pushes = np.where((strokes >= 0.02) & pushable_mask(heightmap, 16), push_q, -np.inf)
    grasps = np.where(grasp_mask(heightmap)[None] & ~unseen_finger_grasps(heightmap, 16), grasp_q, -np.inf)
    best = {}
    for kind, q in ((PrimitiveType.PUSH, pushes), (PrimitiveType.GRASP, grasps)):
        r, c = np.unravel_index(int(np.argmax(q.max(axis=0))), q.shape[1:])
        best[kind] = (float(q[:, r, c].max()), int(np.argmax(q[:, r, c])), int(r), int(c))
    kind = PrimitiveType.GRASP if best[PrimitiveType.GRASP][0] > best[PrimitiveType.PUSH][0] else PrimitiveType.PUSH
    p = decision.primitive
    assert (p.type, p.rotation_index, p.row, p.col) == (kind, *best[kind][1:])
    assert p.q_value == pytest.approx(best[kind][0])
    if kind == PrimitiveType.PUSH:
        assert p.push_length == pytest.approx(min(0.1, strokes[p.rotation_index, p.row, p.col]))


def test_grasps_with_a_finger_coming_down_on_an_object_beyond_the_edge_are_masked():
    heightmap = Heightmap.empty(WORKSPACE)
    rows, cols = WORKSPACE.shape
    heightmap.height[rows - 10:, 20:45] = 0.05  # a block reaching the +y edge (rows run along +y)
    heightmap.height[rows - 30:rows - 20, 50:60] = 0.05  # one 4 cm short of it
    blocked = unseen_finger_grasps(heightmap, R)
    # Jaws along y (rotation 2 of 8) on the first block: the outer finger would land on its unseen part.
    assert blocked[2, rows - 5, 32] and blocked[6, rows - 5, 32]
    assert not blocked[0, rows - 5, 32] and not blocked[4, rows - 5, 32], 'jaws along the edge see both fingers'
    # Beyond the edge in line with the second block the edge is empty table: nothing to land on.
    assert not blocked[:, rows - 25, 55].any()
    assert not blocked[:, 20:30, 20:45].any(), 'fingers inside the heightmap are left to the Q-values'

    push_q, grasp_q = low_q_maps()
    grasp_q[2, rows - 5, 32] = 2.0  # the best value, but blocked
    grasp_q[0, rows - 5, 32] = 1.5
    p = select_from_q_maps(push_q, grasp_q, heightmap).primitive
    assert (p.type, p.rotation_index, p.row, p.col) == (PrimitiveType.GRASP, 0, rows - 5, 32)
    p = select_from_q_maps(push_q, grasp_q, heightmap, guard_unseen_fingers=False).primitive
    assert (p.rotation_index, p.row, p.col) == (2, rows - 5, 32)


@contextlib.contextmanager
def scene_in_physics(tmp_path, case_text):
    """A simulator reset to the test case `case_text`, and the heightmap of its first frame."""
    from pushgrasp_policy.evaluation import heightmap_of
    from pushgrasp_sim.env import PushGraspEnv
    case = tmp_path / 'case.txt'
    case.write_text(case_text)
    with PushGraspEnv() as env:
        yield env, heightmap_of(env.reset(0, str(case)), env)


# A plank lying along y across the +y edge of the workspace: 3 cm of it are out of view.
PLANK_ACROSS_THE_EDGE = '3.obj 0.3 0.47 0.65 -0.500000 0.204000 0.012500 0 0 1.570796\n'


@pytest.mark.parametrize('guard', [False, True])
def test_in_physics_a_grasp_with_a_finger_on_the_unseen_part_of_a_plank_is_not_chosen(tmp_path, guard):
    with scene_in_physics(tmp_path, PLANK_ACROSS_THE_EDGE) as (env, heightmap):
        x, _, _ = env.object_states()[0].position
        row, col = DEFAULT_WORKSPACE.base_to_pixel(x, DEFAULT_WORKSPACE.y_max - 0.01)
        push_q = np.full((16, *DEFAULT_WORKSPACE.shape), -np.inf, dtype=np.float32)
        grasp_q = np.zeros_like(push_q)
        grasp_q[4, row, col] = 1.0  # jaws along y, along the plank: the far finger comes down on it
        grasp_q[0, row, col] = 0.5  # jaws along x, across its 5 cm width
        primitive = select_from_q_maps(push_q, grasp_q, heightmap, guard_unseen_fingers=guard).primitive
        _, info = env.step(primitive)
        if guard:
            assert primitive.rotation_index == 0
            assert info.grasp_success and info.picked_objects == [0], info.error
        else:
            assert primitive.rotation_index == 4
            assert not info.grasp_success and 'protective stop' in info.error


TWO_CUBES_TOWARDS_THE_EDGE = ('4.obj 0.3 0.47 0.65 -0.500000 0.120000 0.025000 0 0 0\n'
                              '4.obj 0.9 0.2 0.2 -0.500000 0.171000 0.025000 0 0 0\n')


@pytest.mark.parametrize('keep_inside', [None, 0.01])
def test_in_physics_the_cut_push_keeps_a_row_of_blocks_in_the_workspace(tmp_path, keep_inside):
    """Two 5 cm cubes in a row before the +y edge; a full push along +y shoves the far one out, the cut one not."""
    with scene_in_physics(tmp_path, TWO_CUBES_TOWARDS_THE_EDGE) as (env, heightmap):
        near = env.object_states()[0].position
        row, col = DEFAULT_WORKSPACE.base_to_pixel(near[0], near[1] - 0.06)
        push_q = np.zeros((16, *DEFAULT_WORKSPACE.shape), dtype=np.float32)
        push_q[4, row, col] = 1.0  # rotation 4 of 16: along +y, into the row of cubes
        grasp_q = np.full_like(push_q, -np.inf)
        primitive = select_from_q_maps(push_q, grasp_q, heightmap, keep_pushes_inside=keep_inside).primitive
        assert (primitive.rotation_index, primitive.row, primitive.col) == (4, row, col)
        _, info = env.step(primitive)
        assert info.executed and info.scene_changed, info.error
        if keep_inside is None:
            assert info.objects_left_workspace == [1], 'without the cut the far cube leaves the workspace'
        else:
            assert primitive.push_length < 0.06
            assert info.objects_left_workspace == [] and info.objects_remaining == 2

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Goal-oriented policies: choose a primitive to pick ONE object, given the heightmap and the goal's mask.

`GoalPolicy` is the interface the goal-oriented evaluator (pushgrasp_policy.goal_evaluation) and, later,
the policy node's goal requests use: `decide(heightmap, goal_mask, explore, rng) -> Decision`, the goal
mask a (rows, cols) bool heightmap of the goal object's cells (pushgrasp_perception.goal_mask), possibly
empty when the goal is hidden.

`GreedyGoalPolicy` is the baseline the goal-conditioned method is compared with: a goal-agnostic
push-grasp policy (the learned VPG-style one by default) used greedily on the goal. Its Q-maps are
computed as usual; then grasps count only at pixels on the goal, and pushes only from pixels within
`push_radius` of the goal (pushes that can disturb what surrounds it). Among what is left, the base
policy's own selection rule (argmax, grasp masks, no repeats on an unchanged scene) chooses. When the goal
is not visible at all, grasps are impossible and pushes are unrestricted: the base policy pushes where it
likes best, which may uncover the goal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_policy.decision import MIN_GRASP_HEIGHT, Decision
from pushgrasp_policy.policy import Policy, PolicyConfig

DEFAULT_PUSH_RADIUS = 0.05
"""Metres: pushes may start this far from the goal's nearest cell (half the push stroke)."""
SHIPPED_GOAL = 'goal'
"""The name of the shipped goal-conditioned weights (pushgrasp_policy.checkpoint.SHIPPED)."""
SHIPPED_GOALS = (SHIPPED_GOAL, 'goal-alternate')
"""The names of all shipped goal-conditioned weights ('goal-alternate': those shipped until 2026-11-22)."""
GOAL_KEEP_PUSHES_INSIDE: float | None = None
"""`PolicyConfig.keep_pushes_inside` of goal policies unless given: their pushes are not cut. A goal-oriented
push serves one object, other blocks leaving the workspace do not fail the task, and in 30-object piles the cut
changed which pushes freed the goal (docs/results.md, goal-oriented evaluation)."""


@runtime_checkable
class GoalPolicy(Protocol):
    """A policy that picks a given object: it sees the heightmap and the goal object's mask."""

    def decide(self, heightmap: Heightmap, goal_mask: np.ndarray, explore: bool = False,
               rng: np.random.Generator | None = None) -> Decision:
        """The primitive to take on `heightmap` to get the object of `goal_mask` ((rows, cols) bool)."""
        ...


def check_goal_mask(goal_mask: np.ndarray, heightmap: Heightmap) -> np.ndarray:
    """`goal_mask` as a (rows, cols) bool array of the heightmap's size; ValueError otherwise."""
    goal_mask = np.asarray(goal_mask)
    if goal_mask.shape != heightmap.shape:
        raise ValueError(f'goal mask {goal_mask.shape} does not match the {heightmap.shape} heightmap')
    return goal_mask.astype(bool, copy=False)


def near_goal(goal_mask: np.ndarray, radius_cells: float) -> np.ndarray:
    """(rows, cols) bool: the cells at most `radius_cells` (Euclidean, in cells) from a goal cell."""
    if not goal_mask.any():
        return np.zeros(goal_mask.shape, dtype=bool)
    # Distance of every cell to the nearest goal cell (goal cells are the zeros of the input).
    distance = cv2.distanceTransform((~goal_mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return distance <= radius_cells


def goal_clearance(height: np.ndarray, goal_mask: np.ndarray, band_cells: float,
                   min_height: float = MIN_GRASP_HEIGHT) -> float:
    """Return the share (0..1) of the cells within `band_cells` of the goal, outside it, that are empty table.

    Room around the goal is what its grasp needs: 1 when nothing stands within the band (or the goal is gone),
    near 0 when it is boxed in. Cells count as empty below `min_height` metres.
    """
    band = near_goal(goal_mask, band_cells) & ~goal_mask
    if not band.any():
        return 1.0
    return float(np.mean(height[band] < min_height))


class GreedyGoalPolicy:
    """A goal-agnostic policy's Q-maps restricted to the goal: grasps on it, pushes near it (see the module)."""

    name = 'greedy-goal'

    def __init__(self, base: Policy, push_radius: float = DEFAULT_PUSH_RADIUS) -> None:
        """Wrap `base` (anything with `q_maps` and `select`, e.g. a VPGPolicy); `push_radius` in metres."""
        if not push_radius >= 0:
            raise ValueError(f'push_radius must be >= 0, got {push_radius}')
        self.base = base
        self.config = base.config
        self.push_radius = float(push_radius)

    def goal_q_maps(self, heightmap: Heightmap, goal_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The base policy's (push_q, grasp_q) with the choices away from the goal at -inf."""
        goal_mask = check_goal_mask(goal_mask, heightmap)
        push_q, grasp_q = self.base.q_maps(heightmap)
        grasp_q = np.where(goal_mask[None], grasp_q, -np.inf).astype(np.float32)
        if goal_mask.any():
            near = near_goal(goal_mask, self.push_radius / heightmap.workspace.resolution)
            push_q = np.where(near[None], push_q, -np.inf).astype(np.float32)
        return push_q, grasp_q

    def decide(self, heightmap: Heightmap, goal_mask: np.ndarray, explore: bool = False,
               rng: np.random.Generator | None = None) -> Decision:
        """The base policy's choice among grasps on the goal and pushes near it."""
        push_q, grasp_q = self.goal_q_maps(heightmap, goal_mask)
        return self.base.select(heightmap, push_q, grasp_q, explore, rng)


def goal_policy_from_spec(spec: str, seed: int, push_radius: float = DEFAULT_PUSH_RADIUS,
                          grasp_threshold: float | None = None, **settings) -> GoalPolicy:
    """The goal policy a user names: a goal-oriented agent's checkpoint, or a goal-agnostic policy used greedily.

    A checkpoint of the goal-conditioned agent (a `pushgrasp_policy.goal_trainer` run's policy.pt or
    checkpoint.pt, or 'goal', the shipped one, or 'goal-alternate') gives its GoalConditionedPolicy; anything
    else is what `pushgrasp_policy.registry.policy_from_spec` takes ('shipped', 'heuristic', a checkpoint path,
    ...), wrapped in a GreedyGoalPolicy. `grasp_threshold` replaces a goal-conditioned checkpoint's own (ValueError for
    another policy, which has none). `settings` are PolicyConfig's; pushes are not cut unless
    `keep_pushes_inside` is given (GOAL_KEEP_PUSHES_INSIDE). ValueError (CheckpointError) with the reason when
    it cannot be used.
    """
    settings.setdefault('keep_pushes_inside', GOAL_KEEP_PUSHES_INSIDE)
    if spec in SHIPPED_GOALS:
        from pushgrasp_policy.checkpoint import resolve_checkpoint
        spec = str(resolve_checkpoint(spec))
    if Path(spec).is_file():  # names ('heuristic', 'shipped') need no look inside, nor torch
        from pushgrasp_policy.goal_agent import GoalConditionedPolicy, is_goal_checkpoint
        if is_goal_checkpoint(spec):
            return GoalConditionedPolicy.from_checkpoint(spec, seed, PolicyConfig(**settings),
                                                         grasp_threshold=grasp_threshold)
    if grasp_threshold is not None:
        raise ValueError(f'a grasp threshold is a setting of goal-conditioned policies, and {spec!r} is not one')
    from pushgrasp_policy.registry import policy_from_spec
    return GreedyGoalPolicy(policy_from_spec(spec, seed, **settings), push_radius=push_radius)

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The interface every push-grasp policy offers, and a base class for policies that produce Q-maps.

A greedy policy on a scene that its last action did not change would choose that action again, and
fail again, forever. `RepeatGuard` remembers the actions taken and masks them (that primitive, at that
jaw axis or push direction, within a small radius) in later choices until the scene around them
changes. It learns nothing: it only reads successive heightmaps.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from pushgrasp_control.motion import MIN_PUSH_STROKE, PUSH_EDGE_MARGIN
from pushgrasp_control.primitives import NUM_ROTATIONS, PUSH_LENGTH, Primitive, PrimitiveType
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_policy.change import changed_cells
from pushgrasp_policy.decision import KEEP_PUSHES_INSIDE, MIN_GRASP_HEIGHT, Decision, select_from_q_maps


@dataclass(frozen=True)
class PolicyConfig:
    """Settings shared by all Q-map policies."""

    num_rotations: int = NUM_ROTATIONS
    """Number of gripper rotations evaluated per pixel."""
    push_length: float = PUSH_LENGTH
    """Length of a push stroke in metres."""
    epsilon: float = 0.1
    """Probability of a random primitive type when a decision explores."""
    min_grasp_height: float = MIN_GRASP_HEIGHT
    """Pixels lower than this (metres above the table) are never grasped."""
    push_edge_margin: float = PUSH_EDGE_MARGIN
    min_push_stroke: float = MIN_PUSH_STROKE
    """Pushes the controller would refuse with these MotionLimits settings are never chosen (see
    `decision.pushable_mask`); keep them equal to the controller's."""
    keep_pushes_inside: float | None = KEEP_PUSHES_INSIDE
    """Metres: pushes are cut short, or left out, so that what they shove ahead stays this far inside the
    workspace (`decision.contained_push_strokes`); None: pushes run their full stroke whatever lies ahead."""
    avoid_repeats: bool = True
    """Do not repeat an action on a scene it did not change (see RepeatGuard)."""
    repeat_radius_px: int = 8
    """Heightmap cells around a tried action that count as the same action."""
    repeat_angle_deg: float = 22.5
    """Jaw axes (grasps) or push directions at most this far from a tried action's count as the same action:
    with 16 rotations, the neighbouring rotations (at 8 cm opening the fingers land within 1.6 cm of the same
    spots)."""

    def __post_init__(self) -> None:
        if self.keep_pushes_inside is not None and not self.keep_pushes_inside >= 0.0:
            raise ValueError(f'keep_pushes_inside must be >= 0 metres or None, got {self.keep_pushes_inside}')
        if self.num_rotations < 1:
            raise ValueError(f'num_rotations must be at least 1, got {self.num_rotations}')
        if not self.push_length > 0:
            raise ValueError(f'push_length must be positive, got {self.push_length}')
        if not 0.0 <= self.epsilon <= 1.0:
            raise ValueError(f'epsilon must be in [0, 1], got {self.epsilon}')


def keep_pushes_inside_setting(metres: float) -> float | None:
    """`PolicyConfig.keep_pushes_inside` from a parameter that cannot be None (ROS, CLI): negative means None."""
    return None if metres < 0.0 else float(metres)


@dataclass
class RepeatGuard:
    """Actions already tried where the scene has not changed since, masked out of the next choice.

    An action is remembered with the heightmap around it (a square of `window_px` cells on each side); the
    same action is that primitive within `radius_px` cells and `angle_deg` of its jaw axis or push direction.
    It stays masked while less than `local_change` of that square changed: pushing or nudging elsewhere
    in the pile does not make a failed grasp here worth repeating, but moving what was here does.
    """

    radius_px: int = 8
    angle_deg: float = 0.0
    """Rotations whose jaw axis (grasp) or push direction is at most this far from the tried one's are masked too."""
    window_px: int = 25
    local_change: float = 0.1
    memory: int = 20
    tried: list[tuple[Primitive, np.ndarray]] = field(default_factory=list)

    def _window(self, height: np.ndarray, primitive: Primitive) -> np.ndarray:
        w = self.window_px
        return height[max(0, primitive.row - w):primitive.row + w + 1, max(0, primitive.col - w):primitive.col + w + 1]

    def same_rotations(self, tried: Primitive) -> list[int]:
        """The rotation indices that count as `tried`'s: a grasp's jaw axis is the same at both symmetric rotations."""
        n = tried.num_rotations
        period = n // 2 if tried.type == PrimitiveType.GRASP and n % 2 == 0 else n
        step = 360.0 / n
        rotations = []
        for rotation in range(n):
            k = (rotation - tried.rotation_index) % period
            if min(k, period - k) * step <= self.angle_deg + 1e-9:
                rotations.append(rotation)
        return rotations

    def mask(self, height: np.ndarray, push_q: np.ndarray, grasp_q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the Q-maps with the tried actions at -inf; forgets those whose surroundings changed."""
        def unchanged(primitive: Primitive, before: np.ndarray) -> bool:
            now = self._window(height, primitive)
            return now.shape == before.shape and changed_cells(before, now) <= self.local_change * before.size

        self.tried = [(p, before) for p, before in self.tried[-self.memory:] if unchanged(p, before)]
        if not self.tried:
            return push_q, grasp_q
        push_q, grasp_q = np.array(push_q, copy=True), np.array(grasp_q, copy=True)
        rows, cols = np.ogrid[:height.shape[0], :height.shape[1]]
        for tried, _ in self.tried:
            near = (rows - tried.row) ** 2 + (cols - tried.col) ** 2 <= self.radius_px ** 2
            q = grasp_q if tried.type == PrimitiveType.GRASP else push_q
            for rotation in self.same_rotations(tried):
                q[rotation][near] = -np.inf
        return push_q, grasp_q

    def remember(self, height: np.ndarray, primitive: Primitive) -> None:
        """Record that `primitive` is being taken on the scene of `height`."""
        self.tried.append((primitive, np.array(self._window(height, primitive), copy=True)))

    def reset(self) -> None:
        """Forget everything (a new episode)."""
        self.tried = []


@runtime_checkable
class Policy(Protocol):
    """A push-grasp policy: Q-maps for a heightmap and the primitive chosen from them."""

    config: PolicyConfig

    def q_maps(self, heightmap: Heightmap) -> tuple[np.ndarray, np.ndarray]:
        """(push_q, grasp_q), each (num_rotations, rows, cols) float32."""
        ...

    def select(self, heightmap: Heightmap, push_q: np.ndarray, grasp_q: np.ndarray, explore: bool,
               rng: np.random.Generator | None) -> Decision:
        """The decision on `heightmap` given Q-maps computed by `q_maps`."""
        ...

    def decide(self, heightmap: Heightmap, explore: bool = False, rng: np.random.Generator | None = None) -> Decision:
        """Q-maps and the chosen primitive for `heightmap` (epsilon-greedy with `rng` when `explore`)."""
        ...


class QMapPolicy(abc.ABC):
    """A policy that scores every (primitive, rotation, pixel) and takes the argmax."""

    name = 'q_map'

    def __init__(self, config: PolicyConfig | None = None) -> None:
        self.config = config if config is not None else PolicyConfig()
        self.repeat_guard = RepeatGuard(radius_px=self.config.repeat_radius_px,
                                        angle_deg=self.config.repeat_angle_deg)

    @abc.abstractmethod
    def q_maps(self, heightmap: Heightmap) -> tuple[np.ndarray, np.ndarray]:
        """(push_q, grasp_q), each (num_rotations, rows, cols) float32."""

    def select(self, heightmap: Heightmap, push_q: np.ndarray, grasp_q: np.ndarray, explore: bool,
               rng: np.random.Generator | None) -> Decision:
        """The argmax decision (epsilon-greedy when `explore`), never an action just tried on this same scene.

        The returned Decision holds the Q-maps as given (unmasked); when masking the tried actions leaves
        nothing to choose, the unmasked maps are used.
        """
        choose_from = (push_q, grasp_q)
        if self.config.avoid_repeats:
            choose_from = self.repeat_guard.mask(heightmap.height, push_q, grasp_q)
        c = self.config
        settings = {'push_length': c.push_length, 'min_grasp_height': c.min_grasp_height,
                    'push_edge_margin': c.push_edge_margin, 'min_push_stroke': c.min_push_stroke,
                    'keep_pushes_inside': c.keep_pushes_inside}
        try:
            decision = select_from_q_maps(*choose_from, heightmap, explore, rng, self.config.epsilon, **settings)
        except ValueError:
            if choose_from[0] is push_q:
                raise
            decision = select_from_q_maps(push_q, grasp_q, heightmap, explore, rng, self.config.epsilon, **settings)
        decision.push_q, decision.grasp_q = push_q, grasp_q
        if self.config.avoid_repeats:
            self.repeat_guard.remember(heightmap.height, decision.primitive)
        return decision

    def decide(self, heightmap: Heightmap, explore: bool = False, rng: np.random.Generator | None = None) -> Decision:
        """Q-maps and the chosen primitive for `heightmap`."""
        push_q, grasp_q = self.q_maps(heightmap)
        return self.select(heightmap, push_q, grasp_q, explore, rng)

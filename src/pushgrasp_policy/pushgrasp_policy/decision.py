# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Turning push and grasp Q-maps into one primitive: the argmax over (primitive, rotation, pixel).

Q-maps are (num_rotations, rows, cols) float32 arrays on the heightmap grid; entry [i, r, c] is the
value of the primitive at pixel (r, c) with rotation i (see pushgrasp_control.primitives for what a
rotation means). Grasps at pixels with nothing underneath are never chosen, nor pushes that the controller
would refuse because the workspace edge margin leaves them (almost) no stroke (`pushable_mask`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pushgrasp_control.motion import MIN_PUSH_STROKE, PUSH_EDGE_MARGIN, pushable_map
from pushgrasp_control.primitives import PUSH_LENGTH, Primitive, PrimitiveType, primitive_from_pixel
from pushgrasp_perception.heightmap import Heightmap

MIN_GRASP_HEIGHT = 0.01
"""Metres above the table below which a pixel counts as empty (no grasp there)."""


@dataclass
class Decision:
    """The chosen primitive together with the Q-maps it was chosen from."""

    primitive: Primitive
    push_q: np.ndarray
    """(num_rotations, rows, cols) float32 push Q-values, as the policy produced them."""
    grasp_q: np.ndarray
    """(num_rotations, rows, cols) float32 grasp Q-values, as the policy produced them (unmasked)."""
    explored: bool = False
    """The primitive type was drawn at random (epsilon-greedy) instead of taken greedily."""
    goal_value: float | None = None
    """A goal-conditioned policy's grasp value of the goal when it decided (what its push/grasp switch compares
    with the threshold); None for other policies."""

    @property
    def best_push_q(self) -> np.ndarray:
        """(rows, cols) push Q-map: the best over rotations."""
        return self.push_q.max(axis=0)

    @property
    def best_grasp_q(self) -> np.ndarray:
        """(rows, cols) grasp Q-map: the best over rotations."""
        return self.grasp_q.max(axis=0)


def grasp_mask(heightmap: Heightmap, min_height: float = MIN_GRASP_HEIGHT) -> np.ndarray:
    """(rows, cols) bool: pixels with something at least `min_height` above the table to grasp."""
    return heightmap.height >= min_height


def pushable_mask(heightmap: Heightmap, num_rotations: int, push_length: float = PUSH_LENGTH,
                  push_edge_margin: float = PUSH_EDGE_MARGIN, min_push_stroke: float = MIN_PUSH_STROKE) -> np.ndarray:
    """(num_rotations, rows, cols) bool, read-only: pushes the controller executes with these settings.

    The controller's own rule (`pushgrasp_control.motion.pushable_map`, `MotionLimits`). False where the
    stroke, cut short `push_edge_margin` inside the workspace edges, would be shorter than `min_push_stroke`:
    a push that starts near an edge and points out of the workspace moves nothing, and `plan_primitive`
    refuses it.
    """
    return pushable_map(heightmap.workspace, num_rotations, push_length, push_edge_margin, min_push_stroke)


def _check_q_maps(push_q: np.ndarray, grasp_q: np.ndarray, heightmap: Heightmap) -> tuple[np.ndarray, np.ndarray]:
    push_q = np.asarray(push_q, dtype=np.float32)
    grasp_q = np.asarray(grasp_q, dtype=np.float32)
    if push_q.ndim != 3 or push_q.shape != grasp_q.shape:
        raise ValueError(f'Q-maps must both be (rotations, rows, cols); got {push_q.shape} and {grasp_q.shape}')
    if push_q.shape[0] < 1 or push_q.shape[1:] != heightmap.shape:
        raise ValueError(f'Q-maps of shape {push_q.shape} do not match the {heightmap.shape} heightmap')
    return push_q, grasp_q


def select_from_q_maps(push_q: np.ndarray, grasp_q: np.ndarray, heightmap: Heightmap, explore: bool = False,
                       rng: np.random.Generator | None = None, epsilon: float = 0.1, *,
                       push_length: float = PUSH_LENGTH, min_grasp_height: float = MIN_GRASP_HEIGHT,
                       push_edge_margin: float = PUSH_EDGE_MARGIN,
                       min_push_stroke: float = MIN_PUSH_STROKE) -> Decision:
    """Choose the primitive with the highest Q-value over (primitive, rotation, pixel).

    Grasp pixels lower than `min_grasp_height`, pushes outside `pushable_mask` (with `push_edge_margin` and
    `min_push_stroke`, the controller's settings) and non-finite Q-values are never chosen. With `explore`,
    the primitive type is drawn uniformly at random with probability `epsilon` (from `rng`) and its best
    rotation and pixel are taken, as in the reference method; otherwise grasp wins only when its best
    value is strictly higher than the best push. Among equal values the pixel is the first (row-major)
    argmax of the best-over-rotations map and the rotation the lowest index reaching it. Raises ValueError
    when the maps do not fit the heightmap or hold no choosable value.
    """
    push_q, grasp_q = _check_q_maps(push_q, grasp_q, heightmap)
    if explore and rng is None:
        raise ValueError('exploration needs a seeded np.random.Generator')
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f'epsilon must be in [0, 1], got {epsilon}')
    candidates = {
        PrimitiveType.PUSH: np.where(pushable_mask(heightmap, push_q.shape[0], push_length, push_edge_margin,
                                                   min_push_stroke) & np.isfinite(push_q), push_q, -np.inf),
        PrimitiveType.GRASP: np.where(grasp_mask(heightmap, min_grasp_height)[None] & np.isfinite(grasp_q),
                                      grasp_q, -np.inf),
    }
    best_pixel, best_value = {}, {}
    for kind, q in candidates.items():
        # Pixel first, then rotation: ties resolve to the argmax of the best-over-rotations map.
        pixel = np.unravel_index(int(np.argmax(q.max(axis=0))), q.shape[1:])
        rotation = int(np.argmax(q[:, pixel[0], pixel[1]]))
        best_pixel[kind] = (rotation, int(pixel[0]), int(pixel[1]))
        best_value[kind] = float(q[best_pixel[kind]])
    valid = [kind for kind in candidates if np.isfinite(best_value[kind])]
    if not valid:
        raise ValueError('no primitive can be chosen: every Q-value is non-finite or masked')

    explored = False
    if explore and rng.random() < epsilon:
        kind = PrimitiveType(int(rng.integers(2)))
        explored = True
        if kind not in valid:  # e.g. no pixel is high enough to grasp
            kind = valid[0]
    elif len(valid) == 1:
        kind = valid[0]
    else:
        kind = PrimitiveType.GRASP if best_value[PrimitiveType.GRASP] > best_value[PrimitiveType.PUSH] \
            else PrimitiveType.PUSH

    rotation, row, col = best_pixel[kind]
    primitive = primitive_from_pixel(kind, rotation, row, col, heightmap.height, heightmap.workspace,
                                     num_rotations=push_q.shape[0], push_length=push_length,
                                     q_value=best_value[kind], stamp_ns=heightmap.stamp_ns)
    return Decision(primitive=primitive, push_q=push_q, grasp_q=grasp_q, explored=explored)

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""An analytic push-grasp baseline computed from the height map alone (no learning).

Grasp: high on a pixel that lies on an object when both finger positions, `finger_offset` either side
along the jaw axis (cos a, sin a), are clearly lower than the pixel, so the fingers can go down beside
the object; a little higher near the middle of the object. Beyond the heightmap edge the fingers are assumed
to meet whatever is at the edge (it may continue out of view).
Push: moderate (at most `push_value`, below a clean grasp) on a free pixel with an object ahead within
the push stroke along (cos a, sin a); higher when the object is met early, halved when the stroke would
leave the heightmap (pushing objects out of view is the reference method's failure mode).

Every map is computed for all rotations and pixels at once by sampling shifted copies of the height map.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_policy.decision import sample_shifted
from pushgrasp_policy.policy import PolicyConfig, QMapPolicy


@dataclass(frozen=True)
class HeuristicConfig:
    """Geometry of the heuristic, in metres."""

    finger_offset: float = 0.045
    """Distance of each finger from the grasp centre along the jaw axis (a Robotiq 2F-85 opens 85 mm)."""
    grasp_depth: float = 0.03
    """Finger clearance below the grasp point that earns the full grasp score."""
    min_clearance: float = 0.005
    """Finger clearance below which a grasp scores zero."""
    centre_offset: float = 0.015
    """Radius of the neighbourhood that must be on the object for the centring bonus."""
    push_value: float = 0.5
    """Largest push Q-value (a clean grasp scores up to 1)."""
    push_step: float = 0.01
    """Spacing of the samples along the push stroke."""
    pusher_half_width: float = 0.01
    """Half the width of the closed fingers; this much either side of the push start must be free."""


class HeuristicPolicy(QMapPolicy):
    """Analytic grasp and push Q-maps in [0, 1] from the height map (see the module docstring)."""

    name = 'heuristic'

    def __init__(self, config: PolicyConfig | None = None, heuristic: HeuristicConfig | None = None) -> None:
        super().__init__(config)
        self.heuristic = heuristic if heuristic is not None else HeuristicConfig()

    def q_maps(self, heightmap: Heightmap) -> tuple[np.ndarray, np.ndarray]:
        """(push_q, grasp_q), each (num_rotations, rows, cols) float32 in [0, 1]."""
        return self.push_q(heightmap), self.grasp_q(heightmap)

    def _angles(self) -> np.ndarray:
        return np.arange(self.config.num_rotations) * (2.0 * math.pi / self.config.num_rotations)

    def grasp_q(self, heightmap: Heightmap) -> np.ndarray:
        """Grasp Q-map: on an object, both fingers clearly lower than the centre, centred on the object."""
        cfg, height = self.heuristic, heightmap.height
        res, angles, min_height = heightmap.workspace.resolution, self._angles(), self.config.min_grasp_height
        # Fingers beyond the heightmap edge are assumed blocked by whatever is at the edge (it may go on).
        fingers = np.maximum(sample_shifted(height, angles, cfg.finger_offset, res, 'edge'),
                             sample_shifted(height, angles + math.pi, cfg.finger_offset, res, 'edge'))
        clearance = height[None] - fingers
        clear_score = np.clip((clearance - cfg.min_clearance) / (cfg.grasp_depth - cfg.min_clearance), 0.0, 1.0)
        around = [sample_shifted(height, angles + k * math.pi / 2, cfg.centre_offset, res, 'edge') for k in range(4)]
        centred = np.mean([ring >= min_height for ring in around], axis=0)
        on_object = (height >= min_height)[None]
        return (on_object * clear_score * (0.5 + 0.5 * centred)).astype(np.float32)

    def push_q(self, heightmap: Heightmap) -> np.ndarray:
        """Push Q-map: a free start with an object ahead within the stroke, earlier contact scoring higher."""
        cfg, height = self.heuristic, heightmap.height
        res, angles, min_height = heightmap.workspace.resolution, self._angles(), self.config.min_grasp_height
        free = (height < min_height)[None]
        for side in (math.pi / 2, -math.pi / 2):
            free = free & (sample_shifted(height, angles + side, cfg.pusher_half_width, res) < min_height)
        steps = max(1, int(round(self.config.push_length / cfg.push_step)))
        first_hit = np.full((len(angles), *height.shape), steps, dtype=np.int64)
        for k in range(steps - 1, -1, -1):  # nearest hit wins: go from the far end back to the start
            distance = (k + 1) * self.config.push_length / steps
            first_hit[sample_shifted(height, angles, distance, res) >= min_height] = k
        hit = first_hit < steps
        score = cfg.push_value * (1.0 - 0.5 * np.minimum(first_hit, steps - 1) / steps)
        # Halve pushes whose stroke ends outside the heightmap.
        rows, cols = height.shape
        end_row = np.arange(rows)[None, :, None] + np.rint(
            self.config.push_length * np.sin(angles) / res)[:, None, None]
        end_col = np.arange(cols)[None, None, :] + np.rint(
            self.config.push_length * np.cos(angles) / res)[:, None, None]
        inside = (end_row >= 0) & (end_row < rows) & (end_col >= 0) & (end_col < cols)
        return (free * hit * score * np.where(inside, 1.0, 0.5)).astype(np.float32)

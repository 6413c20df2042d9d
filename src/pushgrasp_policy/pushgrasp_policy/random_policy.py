# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""A baseline that scores every (primitive, rotation, pixel) uniformly at random."""

from __future__ import annotations

import numpy as np

from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_policy.policy import PolicyConfig, QMapPolicy


class RandomPolicy(QMapPolicy):
    """Uniform random Q-maps in [0, 1) from a seeded generator (grasps still need something underneath)."""

    name = 'random'

    def __init__(self, rng: np.random.Generator, config: PolicyConfig | None = None) -> None:
        super().__init__(config)
        self.rng = rng

    def q_maps(self, heightmap: Heightmap) -> tuple[np.ndarray, np.ndarray]:
        """(push_q, grasp_q), each (num_rotations, rows, cols) float32, uniform in [0, 1)."""
        shape = (self.config.num_rotations, *heightmap.shape)
        return self.rng.random(shape, dtype=np.float32), self.rng.random(shape, dtype=np.float32)

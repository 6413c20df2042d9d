# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The interface every push-grasp policy offers, and a base class for policies that produce Q-maps."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from pushgrasp_control.primitives import NUM_ROTATIONS, PUSH_LENGTH
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_policy.decision import MIN_GRASP_HEIGHT, Decision, select_from_q_maps


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

    def __post_init__(self) -> None:
        if self.num_rotations < 1:
            raise ValueError(f'num_rotations must be at least 1, got {self.num_rotations}')
        if not self.push_length > 0:
            raise ValueError(f'push_length must be positive, got {self.push_length}')
        if not 0.0 <= self.epsilon <= 1.0:
            raise ValueError(f'epsilon must be in [0, 1], got {self.epsilon}')


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

    @abc.abstractmethod
    def q_maps(self, heightmap: Heightmap) -> tuple[np.ndarray, np.ndarray]:
        """(push_q, grasp_q), each (num_rotations, rows, cols) float32."""

    def select(self, heightmap: Heightmap, push_q: np.ndarray, grasp_q: np.ndarray, explore: bool,
               rng: np.random.Generator | None) -> Decision:
        """The argmax decision (epsilon-greedy when `explore`) using this policy's settings."""
        return select_from_q_maps(push_q, grasp_q, heightmap, explore, rng, self.config.epsilon,
                                  push_length=self.config.push_length,
                                  min_grasp_height=self.config.min_grasp_height)

    def decide(self, heightmap: Heightmap, explore: bool = False, rng: np.random.Generator | None = None) -> Decision:
        """Q-maps and the chosen primitive for `heightmap`."""
        push_q, grasp_q = self.q_maps(heightmap)
        return self.select(heightmap, push_q, grasp_q, explore, rng)

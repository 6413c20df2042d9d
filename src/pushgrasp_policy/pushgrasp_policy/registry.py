# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Policies by name: the one place that maps a policy name (e.g. a ROS parameter) to an object.

'vpg' loads a checkpoint: a path, or the name of a shipped one ('shipped', 'grasp-only'); without one, the
shipped VPG-style policy.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pushgrasp_control.primitives import NUM_ROTATIONS, PUSH_LENGTH
from pushgrasp_policy.heuristic import HeuristicPolicy
from pushgrasp_policy.decision import KEEP_PUSHES_INSIDE
from pushgrasp_policy.policy import Policy, PolicyConfig
from pushgrasp_policy.random_policy import RandomPolicy


def _heuristic(seed: int, checkpoint: str, config: PolicyConfig) -> Policy:
    return HeuristicPolicy(config)


def _random(seed: int, checkpoint: str, config: PolicyConfig) -> Policy:
    return RandomPolicy(np.random.default_rng(seed), config)


def _vpg(seed: int, checkpoint: str, config: PolicyConfig) -> Policy:
    from pushgrasp_policy.vpg import VPGPolicy  # torch is only imported by the learned policies
    return VPGPolicy.from_checkpoint(checkpoint or 'shipped', seed, config)


# name -> (factory, whether it loads a checkpoint)
_POLICIES: dict[str, tuple[Callable[[int, str, PolicyConfig], Policy], bool]] = {
    'heuristic': (_heuristic, False),
    'random': (_random, False),
    'vpg': (_vpg, True),
}
POLICY_NAMES: tuple[str, ...] = tuple(_POLICIES)


def make_policy(name: str, seed: int, checkpoint: str = '', *, num_rotations: int = NUM_ROTATIONS,
                push_length: float = PUSH_LENGTH, epsilon: float = 0.1,
                keep_pushes_inside: float | None = KEEP_PUSHES_INSIDE) -> Policy:
    """The policy called `name`, seeded with `seed`; ValueError for an unknown name or a misplaced checkpoint."""
    if name not in _POLICIES:
        raise ValueError(f'unknown policy {name!r}; known policies: {", ".join(POLICY_NAMES)}')
    if seed < 0:
        raise ValueError(f'seed must be non-negative, got {seed}')
    factory, loads_checkpoint = _POLICIES[name]
    if checkpoint and not loads_checkpoint:
        raise ValueError(f'policy {name!r} does not load a checkpoint, but checkpoint={checkpoint!r} was given')
    config = PolicyConfig(num_rotations=num_rotations, push_length=push_length, epsilon=epsilon,
                          keep_pushes_inside=keep_pushes_inside)
    return factory(seed, checkpoint, config)


def policy_from_spec(spec: str, seed: int, **settings) -> Policy:
    """The policy a user names on the command line: a policy name, 'shipped', 'grasp-only', or a checkpoint path.

    'shipped' and 'grasp-only' are the learned checkpoints that come with pushgrasp (the VPG-style
    push-grasp policy and the grasping-only baseline). Raises ValueError (CheckpointError for an unusable
    checkpoint) with the reason.
    """
    if spec in _POLICIES:
        return make_policy(spec, seed, **settings)
    return make_policy('vpg', seed, checkpoint=spec, **settings)

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""One Q-learning step of the VPG-style agent, shared by the ways pushgrasp trains it.

A transition's label is computed once, when it is learned from (`label_of`); then one optimiser step runs on it
together with its replays, and the surprise of every transition trained on is updated (`learn_with_replays`).
"""

from __future__ import annotations

import numpy as np

from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_policy.replay import SurpriseReplay
from pushgrasp_policy.vpg import VPGAgent


def label_of(agent: VPGAgent, reward: float, changed: bool, next_heightmap: Heightmap | None,
             next_q: tuple[np.ndarray, np.ndarray] | None = None) -> float:
    """Return the Q-learning target of a transition; `next_heightmap` is None when the episode ended after it.

    The future term (gamma * best Q of the next heightmap) counts only when the scene changed and the episode
    goes on, so the network is run on the next heightmap only then. `next_q`: the (push, grasp) Q-maps of
    `next_heightmap` when the caller has them already (the online trainer needs them for its next decision).
    """
    if changed and next_heightmap is not None:
        future = agent.best_value(next_heightmap, *(next_q if next_q is not None else agent.q_maps(next_heightmap)))
    else:
        future = 0.0
    return agent.label(reward, changed, future)


def learn_with_replays(agent: VPGAgent, replay: SurpriseReplay, index: int, full_shape: tuple[int, int],
                       rng: np.random.Generator) -> tuple[list[int], list[float], float]:
    """Run one optimiser step on transition `index` and its replays; return (batch, predictions, loss).

    The batch is `index` followed by the agent's replays for it (`VPGAgent.replay_indices`); the surprise of
    each transition in it is set to |prediction - label|. `full_shape` is the (rows, cols) of the
    full-resolution heightmaps the transitions' pixels refer to.
    """
    batch = [index] + agent.replay_indices(replay, index, rng)
    predictions, loss = agent.learn([replay.transitions[i] for i in batch], full_shape)
    for i, predicted in zip(batch, predictions, strict=True):
        replay.set_surprise(i, abs(predicted - replay.transitions[i].label))
    return batch, predictions, loss

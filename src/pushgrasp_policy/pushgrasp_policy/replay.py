# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Experience replay prioritised by surprise, as in the reference method.

Every transition keeps its network-resolution heightmap, the executed action, its reward and its
label (the Q-learning target computed when it happened), and its surprise |prediction - label|,
updated whenever it is trained on. Sampling ranks candidates by surprise and draws a rank with a power
law, so the most surprising transitions are replayed most often but none is starved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pushgrasp_control.primitives import PrimitiveType


@dataclass
class Transition:
    """One executed action and what it earned (heightmap at network resolution)."""

    color: np.ndarray
    """(h, w, 3) uint8."""
    height: np.ndarray
    """(h, w) float16 metres."""
    primitive: PrimitiveType
    rotation: int
    row: int
    """Executed pixel on the full-resolution heightmap."""
    col: int
    reward: float
    label: float
    surprise: float = float('inf')


_META = ('primitive', 'rotation', 'row', 'col', 'reward', 'label', 'surprise')


class SurpriseReplay:
    """Transitions in order of arrival, sampled by surprise rank."""

    def __init__(self, power: float = 2.0) -> None:
        if power <= 0:
            raise ValueError(f'power must be positive, got {power}')
        self.power = power
        self.transitions: list[Transition] = []

    def __len__(self) -> int:
        return len(self.transitions)

    def add(self, transition: Transition) -> int:
        """Store `transition`; returns its index."""
        self.transitions.append(transition)
        return len(self.transitions) - 1

    def set_surprise(self, index: int, surprise: float) -> None:
        """Record how far the network's prediction for transition `index` was from its label."""
        self.transitions[index].surprise = float(surprise)

    def sample(self, rng: np.random.Generator, primitive: PrimitiveType | None = None,
               reward: float | None = None, exclude: int | None = None) -> int | None:
        """Index of a transition (of `primitive` with `reward`, when given) drawn by surprise rank; None if none fit.

        Candidates are sorted by increasing surprise and rank floor(u * n) taken with u ~ Power(`power`),
        which favours the end of the list (the reference's power-law sampling).
        """
        candidates = [i for i, t in enumerate(self.transitions)
                      if i != exclude and (primitive is None or t.primitive == primitive)
                      and (reward is None or np.isclose(t.reward, reward))]
        if not candidates:
            return None
        surprise = np.array([self.transitions[i].surprise for i in candidates])
        order = np.argsort(surprise, kind='stable')
        rank = min(int(rng.power(self.power) * len(candidates)), len(candidates) - 1)
        return candidates[int(order[rank])]

    # --- persistence: metadata in the checkpoint, heightmaps in their own files -----------------------
    def metadata(self) -> dict[str, np.ndarray]:
        """Per-transition actions, rewards, labels and surprises as arrays (for a checkpoint)."""
        return {key: np.array([float(getattr(t, key)) for t in self.transitions], dtype=np.float64)
                for key in _META}

    @classmethod
    def from_metadata(cls, metadata: dict[str, np.ndarray], heightmaps: list[tuple[np.ndarray, np.ndarray]],
                      power: float = 2.0) -> SurpriseReplay:
        """Rebuild a replay saved with `metadata` and the (colour, height) of each transition."""
        lengths = {len(v) for v in metadata.values()}
        if len(lengths) != 1 or lengths.pop() != len(heightmaps):
            raise ValueError('replay metadata and heightmaps disagree on the number of transitions')
        replay = cls(power)
        for i, (color, height) in enumerate(heightmaps):
            replay.add(Transition(color=color, height=height, primitive=PrimitiveType(int(metadata['primitive'][i])),
                                  rotation=int(metadata['rotation'][i]), row=int(metadata['row'][i]),
                                  col=int(metadata['col'][i]), reward=float(metadata['reward'][i]),
                                  label=float(metadata['label'][i]), surprise=float(metadata['surprise'][i])))
        return replay

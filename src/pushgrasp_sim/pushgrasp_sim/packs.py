# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Random tightly packed arrangements, written as test cases in the reference format, for training.

Random drops of 10 objects rarely leave blocks packed so tightly that only a push frees them, so a policy
trained on drops alone sees few situations in which a push pays off. `random_pack_testcase` builds such a
situation from a seed: one group of 2-6 blocks of a kind (planks standing on edge like books, a grid of
cubes, standing pillars or cylinders, lying pillars side by side, a raft of flat planks, a mixed grid),
1 mm apart, turned and placed at random, plus 1-2 blocks standing alone. The shipped evaluation cases
(`testcases/challenging/`) are hand-made files, not drawn from this generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pushgrasp_perception.workspace import DEFAULT_WORKSPACE, Workspace
from pushgrasp_sim.blocks import PALETTE_RGB, block_shape
from pushgrasp_sim.testcases import reference_offset

GAP = 0.001
"""Gap between the blocks of a group, metres: too narrow for a finger."""
MARGIN = 0.05
"""Blocks stay this far inside the workspace edges, metres."""
ALONE_DISTANCE = 0.12
"""A block standing alone is at least this far from every other block, metres (centre to centre)."""


def _rx(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _ry(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _rz(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def matrix_to_euler_xyz(rotation: np.ndarray) -> tuple[float, float, float]:
    """Return the test-case Euler angles (alpha, beta, gamma) with R = Rx(alpha) Ry(beta) Rz(gamma)."""
    beta = math.asin(float(np.clip(rotation[0, 2], -1.0, 1.0)))
    if abs(rotation[0, 2]) < 1.0 - 1e-9:
        alpha = math.atan2(-rotation[1, 2], rotation[2, 2])
        gamma = math.atan2(-rotation[0, 1], rotation[0, 0])
    else:  # gimbal lock: only alpha + gamma is defined
        alpha, gamma = math.atan2(rotation[2, 1], rotation[1, 1]), 0.0
    return alpha, beta, gamma


@dataclass(frozen=True)
class _Cell:
    """A block in a group: its shape and its rest orientation (before the group's turn)."""

    shape: str
    rotation: np.ndarray

    def extent(self) -> tuple[float, float, float]:
        """Return the block's bounding box in the group frame (x, y, z), metres."""
        size = np.abs(self.rotation) @ np.asarray(block_shape(self.shape).size)
        return float(size[0]), float(size[1]), float(size[2])


FLAT = np.eye(3)
ON_EDGE = _rx(-math.pi / 2)  # a plank (100 x 50 x 25 mm) standing on its long edge: 25 mm wide, 50 mm tall
LYING = _ry(math.pi / 2)  # a pillar (50 x 50 x 100 mm) on its side: 100 mm long in x

# kind: (cells to draw from, (min, max) rows, (min, max) columns)
PACK_KINDS: dict[str, tuple[tuple[_Cell, ...], tuple[int, int], tuple[int, int]]] = {
    'planks_on_edge': ((_Cell('3.obj', ON_EDGE),), (2, 5), (1, 1)),
    'cube_grid': ((_Cell('4.obj', FLAT),), (2, 3), (2, 2)),
    'pillar_grid': ((_Cell('6.obj', FLAT),), (2, 3), (2, 2)),
    'cylinder_grid': ((_Cell('8.obj', FLAT),), (2, 3), (2, 2)),
    'lying_pillars': ((_Cell('6.obj', LYING),), (2, 4), (1, 1)),
    'plank_raft': ((_Cell('3.obj', FLAT),), (2, 4), (1, 1)),
    'mixed_grid': ((_Cell('4.obj', FLAT), _Cell('8.obj', FLAT), _Cell('7.obj', FLAT)), (2, 3), (2, 2)),
}
ALONE_SHAPES = ('4.obj', '8.obj', '7.obj', '3.obj', '0.obj', '6.obj')
"""Shapes of the blocks standing alone (each rests flat in its file orientation)."""


def random_pack_testcase(rng: np.random.Generator, workspace: Workspace = DEFAULT_WORKSPACE,
                         kind: str | None = None) -> str:
    """Return the text of a random test case: one tightly packed group and 1-2 blocks standing alone.

    Args:
        rng: draws everything (kind, size, turn, place, colours).
        workspace: the workspace the blocks must lie in (the reference frame of the file is derived from it).
        kind: one of PACK_KINDS, or None for a random one.
    """
    kind = kind if kind is not None else str(rng.choice(sorted(PACK_KINDS)))
    if kind not in PACK_KINDS:
        raise ValueError(f'unknown pack kind {kind!r}; known: {", ".join(sorted(PACK_KINDS))}')
    cells, row_range, col_range = PACK_KINDS[kind]
    rows = int(rng.integers(row_range[0], row_range[1] + 1))
    cols = int(rng.integers(col_range[0], col_range[1] + 1))
    chosen = [cells[int(rng.integers(len(cells)))] for _ in range(rows * cols)]
    pitch_x = max(cell.extent()[0] for cell in chosen) + GAP
    pitch_y = max(cell.extent()[1] for cell in chosen) + GAP
    yaw = float(rng.uniform(0.0, math.pi))
    turn = _rz(yaw)
    half = 0.5 * math.hypot(cols * pitch_x, rows * pitch_y)
    low = np.array([workspace.x_min, workspace.y_min]) + MARGIN + half
    high = np.array([workspace.x_max, workspace.y_max]) - MARGIN - half
    centre = rng.uniform(low, high)

    placed: list[tuple[str, np.ndarray, np.ndarray]] = []  # (shape, position, rotation) in our frame
    for index, cell in enumerate(chosen):
        row, col = divmod(index, cols)
        offset = np.array([(col - (cols - 1) / 2) * pitch_x, (row - (rows - 1) / 2) * pitch_y, 0.0])
        position = np.array([centre[0], centre[1], 0.0]) + turn @ offset
        position[2] = workspace.z_min + cell.extent()[2] / 2
        placed.append((cell.shape, position, turn @ cell.rotation))
    lines = [f'# random {kind} pack ({rows} x {cols}), turned {math.degrees(yaw):.0f} deg, and blocks alone']

    for _ in range(int(rng.integers(1, 3))):
        shape = str(rng.choice(ALONE_SHAPES))
        for _attempt in range(50):
            xy = rng.uniform([workspace.x_min + MARGIN, workspace.y_min + MARGIN],
                             [workspace.x_max - MARGIN, workspace.y_max - MARGIN])
            if all(np.hypot(*(xy - p[:2])) >= ALONE_DISTANCE for _, p, _ in placed):
                height = block_shape(shape).size[2]
                placed.append((shape, np.array([xy[0], xy[1], workspace.z_min + height / 2]),
                               _rz(float(rng.uniform(0.0, math.pi)))))
                break

    offset = reference_offset(workspace)
    for shape, position, rotation in placed:
        colour = PALETTE_RGB[int(rng.integers(len(PALETTE_RGB)))]
        x, y, z = position - offset  # our frame to the file's reference frame
        alpha, beta, gamma = matrix_to_euler_xyz(rotation)
        lines.append(f'{shape} {colour[0]:.6f} {colour[1]:.6f} {colour[2]:.6f} {x:.6f} {y:.6f} {z:.6f} '
                     f'{alpha:.6f} {beta:.6f} {gamma:.6f}')
    return '\n'.join(lines) + '\n'

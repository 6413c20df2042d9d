# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Did an action change the scene? The reference method's test on heightmaps, shared by training and acting."""

from __future__ import annotations

import numpy as np

CHANGE_MIN = 0.01
"""Metres: a heightmap cell changed when its height moved by at least this ..."""
CHANGE_MAX = 0.3
"""... and at most this (larger differences are noise)."""
CHANGE_CELLS = 300
"""The scene changed when more cells than this changed."""


def changed_cells(before: np.ndarray, after: np.ndarray, min_change: float = CHANGE_MIN,
                  max_change: float = CHANGE_MAX) -> int:
    """Number of heightmap cells whose height changed by between `min_change` and `max_change` metres."""
    if before.shape != after.shape:
        raise ValueError(f'heightmaps of different shapes {before.shape} and {after.shape}')
    diff = np.nan_to_num(np.abs(after.astype(np.float32) - before.astype(np.float32)), nan=0.0)
    return int(np.count_nonzero((diff >= min_change) & (diff <= max_change)))


def workspace_empty(height: np.ndarray, min_height: float = 0.02, min_cells: int = 300) -> bool:
    """True when fewer than `min_cells` cells are higher than `min_height` (the reference's reset test)."""
    return int(np.count_nonzero(np.nan_to_num(height) > min_height)) < min_cells

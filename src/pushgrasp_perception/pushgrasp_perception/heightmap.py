# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The heightmap: an orthographic top-down colour and height image of the workspace."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pushgrasp_perception.workspace import Workspace


@dataclass
class Heightmap:
    """Colour and height of the highest point in each workspace cell.

    color:  (rows, cols, 3) uint8 RGB.
    height: (rows, cols) float32, metres above the table; 0 where nothing was seen.
    goal_mask: optional (rows, cols) bool, the goal object's cells.
    stamp_ns: time of the newest camera frame used, nanoseconds (0 when unknown).
    """

    color: np.ndarray
    height: np.ndarray
    workspace: Workspace
    goal_mask: np.ndarray | None = None
    stamp_ns: int = 0

    def __post_init__(self) -> None:
        rows, cols = self.height.shape[:2]
        if self.height.ndim != 2:
            raise ValueError(f'height must be 2-D, got shape {self.height.shape}')
        if self.color.shape != (rows, cols, 3):
            raise ValueError(f'color shape {self.color.shape} does not match height {self.height.shape}')
        if self.goal_mask is not None and self.goal_mask.shape != (rows, cols):
            raise ValueError(f'goal mask shape {self.goal_mask.shape} does not match height {self.height.shape}')
        if self.workspace.shape != (rows, cols):
            raise ValueError(
                f'heightmap {rows}x{cols} does not match the workspace ({self.workspace.shape[0]}x'
                f'{self.workspace.shape[1]} cells at {self.workspace.resolution} m)')
        self.color = np.ascontiguousarray(self.color, dtype=np.uint8)
        self.height = np.ascontiguousarray(self.height, dtype=np.float32)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols)."""
        return self.height.shape  # type: ignore[return-value]

    @classmethod
    def empty(cls, workspace: Workspace) -> Heightmap:
        """An empty table."""
        rows, cols = workspace.shape
        return cls(np.zeros((rows, cols, 3), np.uint8), np.zeros((rows, cols), np.float32), workspace)

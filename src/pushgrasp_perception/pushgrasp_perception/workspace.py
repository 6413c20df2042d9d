# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The workspace box and the mapping between heightmap pixels and base-frame positions.

Convention (the reference system's): heightmap row r runs along +y and column c along +x, so
pixel (r, c) is the cell whose centre is x = x_min + (c + 0.5) * resolution,
y = y_min + (r + 0.5) * resolution. Heights are metres above z_min (the table surface).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any
from collections.abc import Mapping

import numpy as np


@dataclass(frozen=True)
class Workspace:
    """An axis-aligned box in the robot base frame (metres) and the heightmap resolution over it."""

    x_min: float
    x_max: float
    y_min: float
    y_max: float
    z_min: float
    z_max: float
    resolution: float = 0.002
    """Edge length of one heightmap cell in metres."""

    def __post_init__(self) -> None:
        if not (self.x_max > self.x_min and self.y_max > self.y_min and self.z_max > self.z_min):
            raise ValueError(f'workspace bounds must be increasing: {self}')
        if not self.resolution > 0:
            raise ValueError(f'workspace resolution must be positive, got {self.resolution}')

    @property
    def shape(self) -> tuple[int, int]:
        """Heightmap size (rows, cols): rows along y, columns along x."""
        rows = int(round((self.y_max - self.y_min) / self.resolution))
        cols = int(round((self.x_max - self.x_min) / self.resolution))
        return rows, cols

    def pixel_to_base(self, row: float, col: float, height: float = 0.0) -> np.ndarray:
        """Base-frame point (x, y, z) at the centre of cell (row, col), `height` above the table."""
        return np.array([self._centre(self.x_min, col), self._centre(self.y_min, row), self.z_min + height])

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """(x of each column's centre (cols,), y of each row's centre (rows,)): `pixel_to_base` for the whole grid."""
        rows, cols = self.shape
        return self._centre(self.x_min, np.arange(cols)), self._centre(self.y_min, np.arange(rows))

    def _centre(self, low: float, index: float | np.ndarray) -> float | np.ndarray:
        return low + (index + 0.5) * self.resolution

    def base_to_pixel(self, x: float, y: float) -> tuple[int, int]:
        """The cell (row, col) containing base-frame point (x, y); may lie outside the heightmap."""
        col = int(np.floor((x - self.x_min) / self.resolution))
        row = int(np.floor((y - self.y_min) / self.resolution))
        return row, col

    def contains(self, x: float, y: float, z: float | None = None) -> bool:
        """Whether a base-frame point lies inside the box (z is ignored when None)."""
        inside = self.x_min <= x <= self.x_max and self.y_min <= y <= self.y_max
        if z is not None:
            inside = inside and self.z_min <= z <= self.z_max
        return bool(inside)

    def to_dict(self) -> dict[str, float]:
        """The workspace as plain numbers (for YAML, JSON and ROS parameters)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Workspace:
        """Build from a mapping with the field names; unknown keys are an error."""
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f'unknown workspace keys: {sorted(unknown)}')
        return cls(**{k: float(v) for k, v in values.items()})

    @classmethod
    def from_list(cls, bounds: list[float] | tuple[float, ...], resolution: float) -> Workspace:
        """Build from [x_min, x_max, y_min, y_max, z_min, z_max] (the ROS parameter form)."""
        if len(bounds) != 6:
            raise ValueError(f'workspace bounds need 6 numbers, got {len(bounds)}')
        return cls(*(float(b) for b in bounds), resolution=float(resolution))

    def bounds(self) -> list[float]:
        """[x_min, x_max, y_min, y_max, z_min, z_max], the ROS parameter form."""
        return [self.x_min, self.x_max, self.y_min, self.y_max, self.z_min, self.z_max]


# The reference benchmark's 0.448 m square at 2 mm per pixel (224 x 224), placed in front of the
# robot base (the base at the origin, x pointing away from the robot, the table surface at z = 0).
DEFAULT_WORKSPACE = Workspace(x_min=0.276, x_max=0.724, y_min=-0.224, y_max=0.224,
                              z_min=0.0, z_max=0.4, resolution=0.002)

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Push and grasp primitives: what a policy chooses on a heightmap and where that is in the base frame.

This is the one place that maps (primitive, rotation index, pixel) to a base-frame pose; the policies,
the simulator and the robot backends all use it.

Rotation i of n has angle a = i * 2*pi / n. A push starts at the pixel's position and moves
`push_length` along (cos a, sin a); a grasp is centred on the pixel with its jaws closing along
(cos a, sin a), so the gripper yaw is a (mod pi: a parallel-jaw grasp is symmetric).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import numpy as np

from pushgrasp_perception.workspace import Workspace

NUM_ROTATIONS = 16
PUSH_LENGTH = 0.1  # metres, as in the reference method


def tool_down_rotation(yaw: float | np.ndarray) -> np.ndarray:
    """Rotation(s) Rz(yaw) Rx(pi) of a tool pointing straight down whose jaws close along (cos yaw, sin yaw).

    The tool's x axis is the jaw axis and its z axis points down; `yaw` may be an array (shape (..., 3, 3)).
    """
    yaw = np.asarray(yaw, dtype=float)
    c, s = np.cos(yaw), np.sin(yaw)
    zero = np.zeros_like(yaw)
    return np.stack([np.stack([c, s, zero], -1), np.stack([s, -c, zero], -1),
                     np.stack([zero, zero, zero - 1.0], -1)], -1)


def tool_down_axis(yaw: float) -> np.ndarray:
    """Unit axis of `tool_down_rotation(yaw)`, a half turn: rotation vector pi * axis, quaternion (axis, 0)."""
    return np.array([math.cos(yaw / 2.0), math.sin(yaw / 2.0), 0.0])


class PrimitiveType(enum.IntEnum):
    """The two motion primitives (values match pushgrasp_interfaces/Primitive)."""

    PUSH = 0
    GRASP = 1


def rotation_angle(rotation_index: int, num_rotations: int = NUM_ROTATIONS) -> float:
    """Angle in radians of rotation `rotation_index` of `num_rotations`, in [0, 2*pi)."""
    if not 0 <= rotation_index < num_rotations:
        raise ValueError(f'rotation index {rotation_index} outside 0..{num_rotations - 1}')
    return rotation_index * 2.0 * math.pi / num_rotations


@dataclass
class Primitive:
    """A push or a grasp at a heightmap pixel and rotation, with its base-frame pose."""

    type: PrimitiveType
    row: int
    col: int
    rotation_index: int
    num_rotations: int
    position: np.ndarray
    """Base-frame target (x, y, z) in metres; z is the surface height at the pixel."""
    yaw: float
    push_direction: np.ndarray = field(default_factory=lambda: np.zeros(3))
    """Unit push direction in the base frame; zero for a grasp."""
    push_length: float = 0.0
    q_value: float = float('nan')
    stamp_ns: int = 0

    @property
    def rotation_angle(self) -> float:
        """Angle of the chosen rotation in radians."""
        return rotation_angle(self.rotation_index, self.num_rotations)

    @property
    def push_end(self) -> np.ndarray:
        """Where the push stroke ends (the start for a grasp)."""
        return self.position + self.push_length * self.push_direction

    def describe(self) -> str:
        """One line for logs."""
        x, y, z = self.position
        kind = self.type.name.lower()
        return (f'{kind} at pixel ({self.row}, {self.col}) rotation {self.rotation_index}/{self.num_rotations} '
                f'-> ({x:.3f}, {y:.3f}, {z:.3f}) m, yaw {math.degrees(self.yaw):.1f} deg, q {self.q_value:.3f}')


def primitive_from_pixel(kind: PrimitiveType, rotation_index: int, row: int, col: int,
                         height: np.ndarray, workspace: Workspace,
                         num_rotations: int = NUM_ROTATIONS, push_length: float = PUSH_LENGTH,
                         q_value: float = float('nan'), stamp_ns: int = 0) -> Primitive:
    """The primitive of type `kind` at heightmap pixel (row, col) and rotation `rotation_index`.

    `height` is the (rows, cols) height map in metres above the table; the target's z is the surface
    height at the pixel (the executor decides how far below the surface the fingers go).
    """
    rows, cols = height.shape
    if not (0 <= row < rows and 0 <= col < cols):
        raise ValueError(f'pixel ({row}, {col}) outside the {rows}x{cols} heightmap')
    kind = PrimitiveType(kind)
    angle = rotation_angle(rotation_index, num_rotations)
    position = workspace.pixel_to_base(row, col, float(height[row, col]))
    direction = np.array([math.cos(angle), math.sin(angle), 0.0])
    is_push = kind == PrimitiveType.PUSH
    return Primitive(type=kind, row=int(row), col=int(col), rotation_index=int(rotation_index),
                     num_rotations=int(num_rotations), position=position, yaw=angle,
                     push_direction=direction if is_push else np.zeros(3),
                     push_length=push_length if is_push else 0.0, q_value=float(q_value), stamp_ns=stamp_ns)

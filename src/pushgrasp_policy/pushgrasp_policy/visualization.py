# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Pictures of Q-maps and chosen primitives, over the colour heightmap or the camera image (rviz, reports, demos)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from pushgrasp_control.primitives import Primitive, PrimitiveType
from pushgrasp_policy.decision import Decision

GRIPPER_OPENING_M = 0.085  # drawn jaw span of a Robotiq 2F-85
FINGER_LENGTH_M = 0.05
"""Drawn length of a gripper finger (3-D markers)."""
PUSH_LIFT_M = 0.01
"""A push arrow is drawn this far above the surface it starts on, so that it is not hidden in the object."""
LABEL_LIFT_M = 0.03
"""Height of a primitive's caption above the top of its drawing."""


def qmap_overlay(color: np.ndarray, q_map: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Colour-mapped Q-map (jet, scaled to its own min..max) blended over an RGB heightmap; RGB uint8."""
    if color.shape[:2] != q_map.shape:
        raise ValueError(f'Q-map shape {q_map.shape} does not match the heightmap {color.shape[:2]}')
    q = np.nan_to_num(q_map.astype(np.float32))
    span = float(q.max() - q.min())
    scaled = np.zeros_like(q, np.uint8) if span == 0 else ((q - q.min()) / span * 255).astype(np.uint8)
    heat = cv2.cvtColor(cv2.applyColorMap(scaled, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    return cv2.addWeighted(color.astype(np.uint8), 1.0 - alpha, heat, alpha, 0.0)


def masked_qmap_overlay(color: np.ndarray, q_map: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """`qmap_overlay` that ignores non-finite Q-values: they are scaled as the finite minimum and shown uncoloured.

    A Q-map without any finite value (e.g. the push map of a grasping-only policy) gives the plain colour
    image (a copy).
    """
    q_map = np.asarray(q_map, dtype=np.float32)
    finite = np.isfinite(q_map)
    color = np.ascontiguousarray(color, dtype=np.uint8)
    if not finite.any():
        return color.copy()
    filled = np.where(finite, q_map, q_map[finite].min()).astype(np.float32)
    overlay = qmap_overlay(color, filled, alpha)
    overlay[~finite] = color[~finite]
    return overlay


def chosen_primitive_overlay(color: np.ndarray, decision: Decision, resolution: float) -> np.ndarray:
    """The decision's primitive drawn on the Q-map of its type at its rotation, over the colour heightmap; RGB.

    Falls back to the plain colour heightmap under the drawing when that Q-map does not fit the heightmap.
    """
    primitive = decision.primitive
    q_maps = np.asarray(decision.grasp_q if primitive.type == PrimitiveType.GRASP else decision.push_q)
    base = np.ascontiguousarray(color, dtype=np.uint8)
    if q_maps.ndim == 3 and q_maps.shape[1:] == base.shape[:2] and 0 <= primitive.rotation_index < q_maps.shape[0]:
        base = masked_qmap_overlay(base, q_maps[primitive.rotation_index])
    return draw_primitive(base, primitive, resolution)


def draw_primitive(image: np.ndarray, primitive: Primitive, resolution: float) -> np.ndarray:
    """Draw a push as an arrow along its stroke and a grasp as the jaw axis, on a heightmap-sized RGB image.

    Pixel convention: columns along +x, rows along +y, so a base-frame direction (dx, dy) is (dcol, drow).
    """
    out = np.ascontiguousarray(image.copy())
    centre = (int(primitive.col), int(primitive.row))
    angle = primitive.rotation_angle
    direction = np.array([math.cos(angle), math.sin(angle)])
    if primitive.type == PrimitiveType.PUSH:
        length = primitive.push_length / resolution
        end = (int(round(centre[0] + direction[0] * length)), int(round(centre[1] + direction[1] * length)))
        cv2.arrowedLine(out, centre, end, (255, 255, 255), 2, tipLength=0.25)
        cv2.circle(out, centre, 3, (255, 255, 255), -1)
    else:
        half = GRIPPER_OPENING_M / 2 / resolution
        a = (int(round(centre[0] - direction[0] * half)), int(round(centre[1] - direction[1] * half)))
        b = (int(round(centre[0] + direction[0] * half)), int(round(centre[1] + direction[1] * half)))
        cv2.line(out, a, b, (255, 255, 255), 2)
        normal = np.array([-direction[1], direction[0]]) * 5
        for end in (a, b):
            p = (int(round(end[0] - normal[0])), int(round(end[1] - normal[1])))
            q = (int(round(end[0] + normal[0])), int(round(end[1] + normal[1])))
            cv2.line(out, p, q, (255, 255, 255), 2)
        cv2.circle(out, centre, 3, (255, 255, 255), -1)
    return out


def project(points: np.ndarray, camera_pose: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Pixels (u, v) of base-frame points seen by a camera with pose `camera_pose` (camera-to-base) and K."""
    base_to_camera = np.linalg.inv(camera_pose)
    camera = points @ base_to_camera[:3, :3].T + base_to_camera[:3, 3]
    uvw = camera @ k.T
    return uvw[:, :2] / uvw[:, 2:3]


def draw_on_camera(image: np.ndarray, primitive: Primitive, camera_pose: np.ndarray, k: np.ndarray,
                   caption: str) -> np.ndarray:
    """The camera image with the primitive drawn where it acts (arrow for a push, jaw axis for a grasp)."""
    out = np.ascontiguousarray(image.copy())
    angle = primitive.rotation_angle
    axis = np.array([np.cos(angle), np.sin(angle), 0.0])
    if primitive.type == PrimitiveType.PUSH:
        a, b = project(np.stack([primitive.position, primitive.push_end]), camera_pose, k).astype(int)
        cv2.arrowedLine(out, tuple(a), tuple(b), (255, 255, 255), 3, tipLength=0.25)
    else:
        half = GRIPPER_OPENING_M / 2
        ends = np.stack([primitive.position - half * axis, primitive.position + half * axis])
        a, b = project(ends, camera_pose, k).astype(int)
        cv2.line(out, tuple(a), tuple(b), (255, 255, 255), 3)
        for end in (a, b):
            cv2.circle(out, tuple(end), 5, (255, 255, 255), -1)
    cv2.putText(out, caption, (12, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2, cv2.LINE_AA)
    return out


@dataclass(frozen=True)
class PrimitiveGeometry:
    """Base-frame points (metres) that draw a primitive in 3-D, e.g. as rviz markers."""

    type: PrimitiveType
    arrow: np.ndarray
    """(2, 3): start and end of the push stroke, `PUSH_LIFT_M` above the surface; (0, 3) for a grasp."""
    gripper_lines: np.ndarray
    """(6, 3) segment end points taken in pairs (a LINE_LIST): the two fingers, then the bar joining their tops;
    (0, 3) for a push."""
    point: np.ndarray
    """(3,): where the primitive acts (the grasp point, or the start of the push on the surface)."""
    label: np.ndarray
    """(3,): where the caption goes, above the drawing."""


def primitive_geometry(primitive: Primitive, opening: float = GRIPPER_OPENING_M,
                       finger_length: float = FINGER_LENGTH_M, push_lift: float = PUSH_LIFT_M) -> PrimitiveGeometry:
    """The 3-D drawing of `primitive` in its base frame: an arrow along a push, an open gripper over a grasp.

    A push is an arrow from its start to its end (`push_length` along `push_direction`), lifted by
    `push_lift`. A grasp is a gripper seen from the side of its jaws: two vertical fingers `opening` apart
    along the jaw axis (cos yaw, sin yaw), from the surface up `finger_length`, and the bar joining their tops.
    """
    position = np.asarray(primitive.position, dtype=float)
    up = np.array([0.0, 0.0, 1.0])
    none = np.zeros((0, 3))
    if primitive.type == PrimitiveType.PUSH:
        start = position + push_lift * up
        end = start + primitive.push_length * np.asarray(primitive.push_direction, dtype=float)
        return PrimitiveGeometry(type=PrimitiveType.PUSH, arrow=np.stack([start, end]), gripper_lines=none,
                                 point=position, label=start + LABEL_LIFT_M * up)
    axis = np.array([math.cos(primitive.yaw), math.sin(primitive.yaw), 0.0])
    tips = [position - opening / 2 * axis, position + opening / 2 * axis]
    tops = [tip + finger_length * up for tip in tips]
    lines = np.stack([tips[0], tops[0], tips[1], tops[1], tops[0], tops[1]])
    return PrimitiveGeometry(type=PrimitiveType.GRASP, arrow=none, gripper_lines=lines, point=position,
                             label=position + (finger_length + LABEL_LIFT_M) * up)

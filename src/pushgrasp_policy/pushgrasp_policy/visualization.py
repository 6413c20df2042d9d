# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Pictures of Q-maps and chosen primitives, over the colour heightmap or the camera image (rviz, reports, demos)."""

from __future__ import annotations

import math

import cv2
import numpy as np

from pushgrasp_control.primitives import Primitive, PrimitiveType

GRIPPER_OPENING_M = 0.085  # drawn jaw span of a Robotiq 2F-85


def qmap_overlay(color: np.ndarray, q_map: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Colour-mapped Q-map (jet, scaled to its own min..max) blended over an RGB heightmap; RGB uint8."""
    if color.shape[:2] != q_map.shape:
        raise ValueError(f'Q-map shape {q_map.shape} does not match the heightmap {color.shape[:2]}')
    q = np.nan_to_num(q_map.astype(np.float32))
    span = float(q.max() - q.min())
    scaled = np.zeros_like(q, np.uint8) if span == 0 else ((q - q.min()) / span * 255).astype(np.uint8)
    heat = cv2.cvtColor(cv2.applyColorMap(scaled, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    return cv2.addWeighted(color.astype(np.uint8), 1.0 - alpha, heat, alpha, 0.0)


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

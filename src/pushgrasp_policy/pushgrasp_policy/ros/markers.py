# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The chosen primitive as rviz markers: an arrow for a push, an open gripper for a grasp, and its Q-value.

The geometry comes from `pushgrasp_policy.visualization.primitive_geometry`; this module only wraps it in
visualization_msgs. The array starts with a DELETEALL marker, so the previous primitive vanishes.
"""

from __future__ import annotations

import numpy as np
from geometry_msgs.msg import Point
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from pushgrasp_control.primitives import Primitive, PrimitiveType
from pushgrasp_policy.visualization import primitive_geometry

MARKER_NAMESPACE = 'selected_primitive'
PUSH_COLOR = ColorRGBA(r=1.0, g=0.55, b=0.0, a=1.0)
GRASP_COLOR = ColorRGBA(r=0.1, g=0.9, b=0.2, a=1.0)
TEXT_COLOR = ColorRGBA(r=1.0, g=1.0, b=1.0, a=1.0)
# Marker ids within MARKER_NAMESPACE.
SHAPE_ID, POINT_ID, TEXT_ID = 0, 1, 2


def _point(xyz: np.ndarray) -> Point:
    return Point(x=float(xyz[0]), y=float(xyz[1]), z=float(xyz[2]))


def _marker(header: Header, marker_id: int, marker_type: int, color: ColorRGBA) -> Marker:
    marker = Marker(header=header, ns=MARKER_NAMESPACE, id=marker_id, type=marker_type, action=Marker.ADD,
                    color=color)
    marker.pose.orientation.w = 1.0  # identity: the points are already in the header's frame
    return marker


def primitive_label(primitive: Primitive) -> str:
    """The caption of a primitive: 'push q=0.123' or 'grasp q=0.456' ('q=nan' when not Q-based)."""
    return f'{primitive.type.name.lower()} q={primitive.q_value:.3f}'


def primitive_markers(primitive: Primitive, header: Header) -> MarkerArray:
    """DELETEALL, then the primitive (ARROW for a push; LINE_LIST gripper and a SPHERE for a grasp) and its caption.

    `header` gives the frame of the primitive's base-frame coordinates and the stamp of the markers.
    """
    geometry = primitive_geometry(primitive)
    markers = [Marker(header=header, ns=MARKER_NAMESPACE, action=Marker.DELETEALL)]
    if primitive.type == PrimitiveType.PUSH:
        arrow = _marker(header, SHAPE_ID, Marker.ARROW, PUSH_COLOR)
        arrow.points = [_point(p) for p in geometry.arrow]
        arrow.scale.x, arrow.scale.y, arrow.scale.z = 0.008, 0.02, 0.025  # shaft and head diameter, head length
        markers.append(arrow)
    else:
        gripper = _marker(header, SHAPE_ID, Marker.LINE_LIST, GRASP_COLOR)
        gripper.points = [_point(p) for p in geometry.gripper_lines]
        gripper.scale.x = 0.006  # line width
        point = _marker(header, POINT_ID, Marker.SPHERE, GRASP_COLOR)
        point.pose.position = _point(geometry.point)
        point.scale.x = point.scale.y = point.scale.z = 0.015
        markers += [gripper, point]
    text = _marker(header, TEXT_ID, Marker.TEXT_VIEW_FACING, TEXT_COLOR)
    text.pose.position = _point(geometry.label)
    text.scale.z = 0.025  # text height
    text.text = primitive_label(primitive)
    markers.append(text)
    return MarkerArray(markers=markers)

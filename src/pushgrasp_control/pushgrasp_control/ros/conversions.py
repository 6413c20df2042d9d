# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Message conversions of pushgrasp_control.

Primitive <-> pushgrasp_interfaces/Primitive (the only copy in pushgrasp), and the geometry_msgs/PoseStamped
factory that the MoveIt backend (a plain module that may not import ROS) is given to build its goals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from geometry_msgs.msg import Point, Pose, PoseStamped, Quaternion, Vector3
from pushgrasp_interfaces.msg import Primitive as PrimitiveMsg
from std_msgs.msg import Header

from pushgrasp_control.primitives import Primitive, PrimitiveType
from pushgrasp_perception.ros.conversions import ns_to_stamp, stamp_to_ns


def primitive_to_msg(primitive: Primitive, frame_id: str) -> PrimitiveMsg:
    """A pushgrasp_interfaces/Primitive from a Primitive."""
    x, y, z = (float(v) for v in primitive.position)
    dx, dy, dz = (float(v) for v in primitive.push_direction)
    return PrimitiveMsg(
        header=Header(stamp=ns_to_stamp(primitive.stamp_ns), frame_id=frame_id),
        type=int(primitive.type), row=primitive.row, col=primitive.col,
        rotation_index=primitive.rotation_index, num_rotations=primitive.num_rotations,
        rotation_angle=primitive.rotation_angle, position=Point(x=x, y=y, z=z), yaw=float(primitive.yaw),
        push_direction=Vector3(x=dx, y=dy, z=dz), push_length=float(primitive.push_length),
        q_value=float(primitive.q_value))


def msg_to_primitive(msg: PrimitiveMsg) -> Primitive:
    """A Primitive from a pushgrasp_interfaces/Primitive; raises ValueError with the reason if invalid."""
    if msg.type not in (PrimitiveMsg.PUSH, PrimitiveMsg.GRASP):
        raise ValueError(f'unknown primitive type {msg.type} (PUSH=0, GRASP=1)')
    if msg.num_rotations == 0 or msg.rotation_index >= msg.num_rotations:
        raise ValueError(f'rotation index {msg.rotation_index} invalid for {msg.num_rotations} rotations')
    position = np.array([msg.position.x, msg.position.y, msg.position.z])
    direction = np.array([msg.push_direction.x, msg.push_direction.y, msg.push_direction.z])
    numbers = [*position, *direction, msg.yaw, msg.push_length]
    if not all(math.isfinite(v) for v in numbers):
        raise ValueError('primitive pose contains NaN or infinite values')
    return Primitive(type=PrimitiveType(msg.type), row=msg.row, col=msg.col, rotation_index=msg.rotation_index,
                     num_rotations=msg.num_rotations, position=position, yaw=msg.yaw,
                     push_direction=direction, push_length=msg.push_length, q_value=msg.q_value,
                     stamp_ns=stamp_to_ns(msg.header.stamp))


def pose_stamped(frame_id: str, xyz: Sequence[float], quat_xyzw: Sequence[float]) -> PoseStamped:
    """Build a geometry_msgs/PoseStamped in `frame_id` at position `xyz` (metres) with quaternion `quat_xyzw`.

    The stamp is left at zero, which tf2 and MoveIt read as "the latest transform". ValueError unless `xyz`
    has 3 and `quat_xyzw` 4 finite values and the quaternion has unit length (within 1e-6).
    """
    position = [float(v) for v in xyz]
    quaternion = [float(v) for v in quat_xyzw]
    if len(position) != 3 or len(quaternion) != 4 or not all(math.isfinite(v) for v in position + quaternion):
        raise ValueError(f'a pose needs 3 finite coordinates and a finite quaternion (x, y, z, w), got '
                         f'{position}, {quaternion}')
    if abs(math.sqrt(sum(v * v for v in quaternion)) - 1.0) > 1e-6:
        raise ValueError(f'quaternion {quaternion} is not of unit length')
    x, y, z = position
    qx, qy, qz, qw = quaternion
    return PoseStamped(header=Header(frame_id=frame_id),
                       pose=Pose(position=Point(x=x, y=y, z=z), orientation=Quaternion(x=qx, y=qy, z=qz, w=qw)))

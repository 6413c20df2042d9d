# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Robot backends by name: the one place that maps a backend name (e.g. a ROS parameter) to a Robot."""

from __future__ import annotations

from typing import Any

from pushgrasp_control.motion import Robot

BACKENDS: tuple[str, ...] = ('mock', 'sim', 'ur_rtde', 'moveit')


class BackendUnavailable(RuntimeError):
    """A known robot backend that cannot be created (not implemented yet, or its dependency is missing)."""


def make_robot(name: str, **params: Any) -> Robot:
    """The robot backend called `name`, built from backend-specific keyword parameters.

    'mock' takes MockRobot's parameters (time_scale, home_position, home_yaw, step); 'ur_rtde' takes
    URRtdeRobot's (robot_ip, gripper, tcp_offset, ...; it connects to the robot); 'moveit' takes MoveItRobot's
    (robot_model, tcp_offset, pose_msg_factory, ...; a `robot_ip` is ignored: MoveIt reaches the robot through
    its driver). Raises BackendUnavailable when a backend's dependency is missing and ValueError for an unknown
    name or bad parameters.
    """
    if name == 'mock':
        from pushgrasp_control.backends.mock import MockRobot
        try:
            return MockRobot(**params)
        except TypeError as error:
            raise ValueError(f'bad parameters for the mock backend: {error}') from error
    if name == 'sim':
        raise ValueError("the 'sim' backend talks to the sim bridge node over ROS: the control node creates it "
                         '(pushgrasp_control.ros.sim_backend.SimBridgeRobot)')
    if name == 'ur_rtde':
        from pushgrasp_control.backends.ur_rtde import URRtdeRobot
        try:
            return URRtdeRobot(**params)
        except TypeError as error:
            raise ValueError(f'bad parameters for the ur_rtde backend: {error}') from error
    if name == 'moveit':
        from pushgrasp_control.backends.moveit import MoveItRobot
        params.pop('robot_ip', None)
        try:
            return MoveItRobot(**params)
        except TypeError as error:
            raise ValueError(f'bad parameters for the moveit backend: {error}') from error
    raise ValueError(f'unknown robot backend {name!r}; known backends: {", ".join(BACKENDS)}')

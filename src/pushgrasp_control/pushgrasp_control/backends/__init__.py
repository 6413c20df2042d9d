# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Robot backends by name: the one place that maps a backend name (e.g. a ROS parameter) to a Robot."""

from __future__ import annotations

from typing import Any

from pushgrasp_control.motion import Robot

BACKENDS: tuple[str, ...] = ('mock', 'sim', 'ur_rtde', 'moveit')

_PENDING = {
    'ur_rtde': 'the UR5 backend over ur_rtde arrives with the robot-backend work',
    'moveit': 'the MoveIt 2 backend arrives with the robot-backend work',
}


class BackendUnavailable(RuntimeError):
    """A known robot backend that cannot be created (not implemented yet, or its dependency is missing)."""


def make_robot(name: str, **params: Any) -> Robot:
    """The robot backend called `name`, built from backend-specific keyword parameters.

    'mock' takes MockRobot's parameters (time_scale, home_position, home_yaw, step). Raises
    BackendUnavailable for a backend that is not available yet and ValueError for an unknown name or
    bad parameters.
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
    if name in _PENDING:
        raise BackendUnavailable(f'robot backend {name!r} is not available yet: {_PENDING[name]}; '
                                 "use backend 'mock' until then")
    raise ValueError(f'unknown robot backend {name!r}; known backends: {", ".join(BACKENDS)}')

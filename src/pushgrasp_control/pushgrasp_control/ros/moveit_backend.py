# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The ROS side of the MoveIt backend: MoveItRobot with the PoseStamped factory and the robot's gripper.

Grippers (`gripper`): 'robotiq_socket' - a Robotiq 2F-85 through the URCap socket on the UR controller at
`robot_ip` (Robotiq2F85); 'gripper_action' - a control_msgs/action/GripperCommand client (GripperActionClient)
of the action `gripper_action`, by default the model's (DEFAULT_GRIPPER_ACTIONS); 'none' - no gripper (gripper
commands fail); 'auto' - the model's usual gripper (DEFAULT_GRIPPERS).

Default actions: for the HSR its gripper controller's ``/gripper_controller/grasp`` (the HSR's documented
gripper actions are ``follow_joint_trajectory``, ``grasp`` and ``apply_force`` on ``/gripper_controller``;
if ``grasp`` there is not a GripperCommand action, the client's error names the type it is served with, and
`gripper_action` must name a GripperCommand action, e.g. a GripperActionController's); for the UR5 the
GripperActionController of the ros2_robotiq_gripper driver, ``/robotiq_gripper_controller/gripper_cmd``.
Neither is verified on hardware.

Frames: MoveIt reads the goal's frame, so the control node's `base_frame` (the frame primitives come in) must
be the one the model is planned in ('base' for the ur5, 'base_footprint' for the hsr); otherwise the backend
refuses to start rather than move to poses meant for another frame. A missing moveit_py is reported before
any setting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rclpy.node import Node

from pushgrasp_control.backends import BackendUnavailable, make_robot
from pushgrasp_control.backends.moveit import INSTALL_HINT, MODELS
from pushgrasp_control.backends.robotiq import DEFAULT_PORT, Robotiq2F85
from pushgrasp_control.motion import Robot
from pushgrasp_control.ros.conversions import pose_stamped
from pushgrasp_control.ros.gripper_action import GripperActionClient

GRIPPERS: tuple[str, ...] = ('auto', 'robotiq_socket', 'gripper_action', 'none')
DEFAULT_GRIPPERS: dict[str, str] = {'ur5': 'robotiq_socket', 'hsr': 'gripper_action'}
DEFAULT_GRIPPER_ACTIONS: dict[str, str] = {'ur5': '/robotiq_gripper_controller/gripper_cmd',
                                           'hsr': '/gripper_controller/grasp'}


@dataclass(frozen=True)
class MoveItSettings:
    """What the control node's parameters say about the MoveIt backend and its gripper."""

    robot_model: str = 'ur5'
    """'ur5' or 'hsr' (pushgrasp_control.backends.moveit.MODELS)."""
    base_frame: str = 'base'
    """The frame primitives are given in; it must be the one MoveIt plans the model in."""
    tcp_offset: float = math.nan
    """Distance from the tip link to the point between the fingertips along the tip's z axis, metres; no default."""
    node_name: str = 'pushgrasp_moveit'
    """Name of moveit_py's own node, which must be given the MoveIt configuration as parameters."""
    gripper: str = 'auto'
    """One of GRIPPERS."""
    robot_ip: str = ''
    """The UR controller's address, for 'robotiq_socket'."""
    robotiq_port: int = DEFAULT_PORT
    """The Robotiq URCap socket's port, for 'robotiq_socket'."""
    gripper_action: str = ''
    """The GripperCommand action, for 'gripper_action'; empty: the model's default."""
    gripper_open_position: float = 0.085
    """GripperCommand position of the open gripper."""
    gripper_closed_position: float = 0.0
    """GripperCommand position of the closed gripper."""
    gripper_open_width: float = 0.085
    """Jaw opening at gripper_open_position, metres."""
    gripper_max_effort: float = 10.0
    """GripperCommand max_effort of open and close."""
    gripper_timeout: float = 10.0
    """Seconds to wait for the gripper action server and for one finger motion."""


def resolve_gripper(settings: MoveItSettings) -> tuple[str, str]:
    """Return the gripper kind and, for 'gripper_action', the action name `settings` select; ValueError if bad."""
    if settings.robot_model not in MODELS:
        raise ValueError(f'unknown robot_model {settings.robot_model!r}; known: {", ".join(MODELS)}')
    if settings.gripper not in GRIPPERS:
        raise ValueError(f'unknown gripper {settings.gripper!r}; known: {", ".join(GRIPPERS)}')
    kind = DEFAULT_GRIPPERS[settings.robot_model] if settings.gripper == 'auto' else settings.gripper
    action = (settings.gripper_action or DEFAULT_GRIPPER_ACTIONS[settings.robot_model]) \
        if kind == 'gripper_action' else ''
    return kind, action


def make_gripper(node: Node, settings: MoveItSettings) -> Any:
    """Make the gripper `settings` select (None for 'none'); ValueError or BackendUnavailable if it cannot be made."""
    kind, action = resolve_gripper(settings)
    if kind == 'none':
        return None
    if kind == 'robotiq_socket':
        if not settings.robot_ip:
            raise ValueError("gripper 'robotiq_socket' needs robot_ip, the UR controller's address")
        return Robotiq2F85(settings.robot_ip, port=settings.robotiq_port)
    return GripperActionClient(
        node, action, open_position=settings.gripper_open_position,
        closed_position=settings.gripper_closed_position, open_width=settings.gripper_open_width,
        max_effort=settings.gripper_max_effort, server_timeout=settings.gripper_timeout,
        motion_timeout=settings.gripper_timeout)


def make_moveit_robot(node: Node, settings: MoveItSettings) -> Robot:
    """Make a MoveItRobot for `settings` with the PoseStamped factory and its gripper.

    Raises BackendUnavailable without moveit_py (or, for 'gripper_action', without control_msgs), ValueError
    for bad settings (no tcp_offset, primitives in another frame than the one MoveIt plans in) and RobotError
    when MoveIt does not start.
    """
    kind, action = resolve_gripper(settings)
    model = MODELS[settings.robot_model]
    try:  # a missing moveit_py is the first thing to fix, before any setting
        import moveit.planning  # noqa: F401
    except ImportError as error:
        raise BackendUnavailable(f'moveit_py is missing ({error}); {INSTALL_HINT}') from error
    if not math.isfinite(settings.tcp_offset):
        raise ValueError(f'the moveit backend needs moveit_tcp_offset: the distance (metres) along the tip link '
                         f'{model.tip!r} z axis to the point between the fingertips')
    if settings.base_frame != model.frame:
        # MoveIt reads the goal's frame, so a primitive given in another frame would be put in the wrong place.
        raise ValueError(f'the moveit backend plans the {settings.robot_model} in frame {model.frame!r}, but '
                         f'primitives are given in base_frame {settings.base_frame!r}; set base_frame to '
                         f'{model.frame!r} and express the primitives (the camera calibration) in it')
    # MoveIt before the gripper: without MoveIt that is the reason to report, not the gripper's.
    robot = make_robot('moveit', robot_model=settings.robot_model, tcp_offset=settings.tcp_offset,
                       node_name=settings.node_name, pose_msg_factory=pose_stamped)
    robot.gripper = make_gripper(node, settings)
    gripper = f'gripper action {action}' if kind == 'gripper_action' else f'gripper {kind}'
    node.get_logger().info(f'MoveIt backend for {settings.robot_model} with {gripper}')
    return robot

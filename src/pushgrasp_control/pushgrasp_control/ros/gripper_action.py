# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""A gripper behind a control_msgs/action/GripperCommand action server, e.g. a ros2_control GripperActionController.

It offers the gripper interface the MoveIt and ur_rtde backends take: open(), close() -> width, width().
open() sends position `open_position`, close() sends `closed_position` (default 0); both with `max_effort`.
GripperCommand's position is in the controller's units (the jaw gap in metres for some grippers, a finger
joint angle in radians for others), so the jaw opening in metres is taken as linear in the reported position:

    width = open_width * (position - closed_position) / (open_position - closed_position), at least 0,

i.e. `open_width` metres at `open_position` and 0 at `closed_position` (with the defaults, position is the
gap in metres). GripperCommand has no query, so width() is the width from the last goal's result.

A close that stops on an object ends with ``stalled`` set (ros2_control's GripperActionController succeeds
then if it allows stalling and aborts otherwise): both count as a closed gripper holding something of the
reported width. An open must reach its goal. A missing server, an unanswered or rejected goal, or a motion
that does not end within `motion_timeout` raises RobotError naming the action and the reason.

control_msgs is not among ROS 2's PyPI wheels: without it, creating the client raises BackendUnavailable.
Call the methods from a thread other than the one spinning the node (the control node's execute callback
runs in a MultiThreadedExecutor), because they wait for the server's answers.
"""

from __future__ import annotations

import math
import threading
from typing import Any

from action_msgs.msg import GoalStatus
from rclpy.action import ActionClient, get_action_server_names_and_types_by_node
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node

from pushgrasp_control.backends import BackendUnavailable
from pushgrasp_control.motion import RobotError
from pushgrasp_control.ros.sim_backend import wait_for

ACTION_TYPE = 'control_msgs/action/GripperCommand'
INSTALL_HINT = ('install control_msgs (e.g. ros-jazzy-control-msgs with a system ROS 2; it is not among the '
                'PyPI wheels) to drive a gripper through a GripperCommand action')
STATUS_NAMES = {GoalStatus.STATUS_SUCCEEDED: 'succeeded', GoalStatus.STATUS_ABORTED: 'aborted',
                GoalStatus.STATUS_CANCELED: 'canceled', GoalStatus.STATUS_UNKNOWN: 'unknown'}


def gripper_command_type() -> Any:
    """Return control_msgs.action.GripperCommand (BackendUnavailable when control_msgs is missing)."""
    try:
        from control_msgs.action import GripperCommand
    except ImportError as error:
        raise BackendUnavailable(f'control_msgs is missing ({error}); {INSTALL_HINT}') from error
    return GripperCommand


class GripperActionClient:
    """The gripper interface over a GripperCommand action (see the module docstring); thread-safe."""

    def __init__(self, node: Node, action_name: str, *, open_position: float = 0.085,
                 closed_position: float = 0.0, open_width: float = 0.085, max_effort: float = 10.0,
                 server_timeout: float = 5.0, motion_timeout: float = 10.0, action_type: Any = None) -> None:
        """Create a client of `action_name` on `node`; nothing is sent until the first command.

        `server_timeout` (s) bounds the wait for the server and for its answer to a goal, `motion_timeout` (s)
        one finger motion. `max_effort` is GripperCommand's effort limit (N for a linear gripper). `action_type`
        replaces control_msgs.action.GripperCommand (a type with the same fields).
        """
        numbers = {'open_position': open_position, 'closed_position': closed_position, 'open_width': open_width,
                   'max_effort': max_effort, 'server_timeout': server_timeout, 'motion_timeout': motion_timeout}
        for name, value in numbers.items():
            if not math.isfinite(value):
                raise ValueError(f'gripper {name} must be finite, got {value}')
        if open_position == closed_position:
            raise ValueError(f'gripper open_position and closed_position must differ, both are {open_position}')
        if not open_width > 0 or max_effort < 0 or not server_timeout > 0 or not motion_timeout > 0:
            raise ValueError('gripper open_width and the timeouts must be positive and max_effort not negative')
        self.action_type = action_type if action_type is not None else gripper_command_type()
        self.open_position, self.closed_position = float(open_position), float(closed_position)
        self.open_width, self.max_effort = float(open_width), float(max_effort)
        self.server_timeout, self.motion_timeout = float(server_timeout), float(motion_timeout)
        self.action_name = node.resolve_topic_name(action_name)
        self._node = node
        self._client = ActionClient(node, self.action_type, action_name, callback_group=ReentrantCallbackGroup())
        self._lock = threading.Lock()
        self._width: float | None = None
        self.stalled = False
        """Whether the last command's result said the fingers stalled (stopped on something)."""
        self.reached_goal = False
        """Whether the last command's result said the fingers reached the commanded position."""

    def position_to_width(self, position: float) -> float:
        """Convert a GripperCommand `position` to the jaw opening in metres (the module docstring's linear map)."""
        fraction = (float(position) - self.closed_position) / (self.open_position - self.closed_position)
        return max(0.0, self.open_width * fraction)

    def _missing_server(self) -> str:
        """Explain why no server answered: none of that name, or one of another action type."""
        message = f'no {ACTION_TYPE} action server {self.action_name} within {self.server_timeout:g} s'
        served: set[str] = set()
        for name, namespace in self._node.get_node_names_and_namespaces():
            try:
                servers = get_action_server_names_and_types_by_node(self._node, name, namespace)
            except Exception:  # the node left the graph meanwhile
                continue
            served.update(kind for action, kinds in servers if action == self.action_name for kind in kinds)
        if served:
            return f'{message}: {self.action_name} is served with type {", ".join(sorted(served))}'
        return f'{message} (is the gripper controller running?)'

    def _command(self, position: float, what: str) -> tuple[int, Any, str]:
        """Send one goal and wait for its end: (status, result, a description of the end); RobotError on failure."""
        if not self._client.wait_for_server(timeout_sec=self.server_timeout):
            raise RobotError(self._missing_server())
        goal = self.action_type.Goal()
        goal.command.position = float(position)
        goal.command.max_effort = self.max_effort
        sent = self._client.send_goal_async(goal)
        if not wait_for(sent, self.server_timeout):
            raise RobotError(f'gripper action {self.action_name} did not answer the {what} goal within '
                             f'{self.server_timeout:g} s')
        handle = sent.result()
        if not handle.accepted:
            raise RobotError(f'gripper action {self.action_name} rejected the {what} goal (position {position:g})')
        finished = handle.get_result_async()
        if not wait_for(finished, self.motion_timeout):
            handle.cancel_goal_async()
            raise RobotError(f'gripper action {self.action_name}: the {what} did not finish within '
                             f'{self.motion_timeout:g} s (goal canceled)')
        response = finished.result()
        result = response.result
        width = self.position_to_width(result.position)
        self._width = width
        self.stalled, self.reached_goal = bool(result.stalled), bool(result.reached_goal)
        status = STATUS_NAMES.get(response.status, f'status {response.status}')
        ended = (f'gripper action {self.action_name}: the {what} ended {status} at width {1000 * width:.1f} mm '
                 f'(position {result.position:g}, stalled {self.stalled}, reached_goal {self.reached_goal})')
        return response.status, result, ended

    def open(self) -> None:
        """Open the fingers to `open_position`; RobotError unless they got there."""
        with self._lock:
            status, result, ended = self._command(self.open_position, 'open')
            if status != GoalStatus.STATUS_SUCCEEDED and not result.reached_goal:
                raise RobotError(ended + (': something blocks the fingers' if result.stalled else ''))

    def close(self) -> float:
        """Close the fingers until they stop (on an object or fully closed); the jaw opening in metres."""
        with self._lock:
            status, result, ended = self._command(self.closed_position, 'close')
            stopped = status == GoalStatus.STATUS_SUCCEEDED or (
                status == GoalStatus.STATUS_ABORTED and (result.stalled or result.reached_goal))
            if not stopped:
                raise RobotError(ended)
            return self.position_to_width(result.position)

    def width(self) -> float:
        """Return the jaw opening in metres reported by the last command's result."""
        if self._width is None:
            raise RobotError(f'gripper action {self.action_name} has reported no width yet: GripperCommand '
                             'tells the position only in the result of a goal')
        return self._width

    def destroy(self) -> None:
        """Destroy the action client."""
        self._client.destroy()

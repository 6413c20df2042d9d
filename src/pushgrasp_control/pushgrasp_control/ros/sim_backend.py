# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The simulated robot backend: drives the sim bridge node's robot side over ROS.

The control node sees a robot, not an environment: tool motions go through the bridge's `move_tool`
action (cancelled to stop), the gripper through its `set_gripper` service. The same primitive plans and
safety checks run as on the real robot.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from action_msgs.msg import GoalStatus
from geometry_msgs.msg import Point
from pushgrasp_interfaces.action import MoveTool
from pushgrasp_interfaces.srv import SetGripper
from rclpy.action import ActionClient
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node

from pushgrasp_control.motion import RobotError

SERVER_TIMEOUT_S = 10.0
MOTION_TIMEOUT_S = 120.0


def wait_for(future: Any, timeout: float, should_stop: Callable[[], bool] | None = None) -> bool:
    """Block this (non-executor) thread until `future` is done; False on timeout or when should_stop()."""
    done = threading.Event()
    future.add_done_callback(lambda _: done.set())
    deadline = timeout
    while not done.wait(0.01):
        deadline -= 0.01
        if deadline <= 0 or (should_stop is not None and should_stop()):
            return False
    return True


class SimBridgeRobot:
    """The Robot interface over the sim bridge node's `move_tool` action and `set_gripper` service.

    Call it from a thread other than the executor's (the control node's action callbacks run in a
    MultiThreadedExecutor), because it waits for the bridge's answers.
    """

    def __init__(self, node: Node, namespace: str = 'sim') -> None:
        group = ReentrantCallbackGroup()
        self._node = node
        self._move = ActionClient(node, MoveTool, f'{namespace}/move_tool', callback_group=group)
        self._gripper = node.create_client(SetGripper, f'{namespace}/set_gripper', callback_group=group)
        self._lock = threading.Lock()
        self._active_goal: Any = None
        self._width = 0.0

    def _require_servers(self) -> None:
        if not self._move.wait_for_server(timeout_sec=SERVER_TIMEOUT_S):
            raise RobotError('lost the simulated robot: no move_tool action server (is the sim bridge running?)')

    def move_linear(self, position: np.ndarray, yaw: float, speed: float, accel: float,
                    should_stop: Callable[[], bool] | None = None) -> bool:
        """Move the tool in a straight line; False if stopped before arrival, RobotError on failure."""
        self._require_servers()
        x, y, z = (float(v) for v in position)
        goal = MoveTool.Goal(position=Point(x=x, y=y, z=z), yaw=float(yaw), speed=float(speed),
                             acceleration=float(accel))
        sent = self._move.send_goal_async(goal)
        if not wait_for(sent, SERVER_TIMEOUT_S) or not sent.result().accepted:
            raise RobotError('the simulated robot rejected the motion')
        handle = sent.result()
        with self._lock:
            self._active_goal = handle
        try:
            result = handle.get_result_async()
            if not wait_for(result, MOTION_TIMEOUT_S, should_stop):
                cancel = handle.cancel_goal_async()
                wait_for(cancel, SERVER_TIMEOUT_S)
                wait_for(result, SERVER_TIMEOUT_S)
                return False
        finally:
            with self._lock:
                self._active_goal = None
        response = result.result()
        if response.status == GoalStatus.STATUS_CANCELED:
            return False
        if response.status != GoalStatus.STATUS_SUCCEEDED:
            raise RobotError(response.result.error or f'motion ended with status {response.status}')
        return bool(response.result.reached)

    def move_joints(self, joints: Sequence[float], speed: float, accel: float,
                    should_stop: Callable[[], bool] | None = None) -> bool:
        """Joint moves are not offered by the bridge's robot side; primitives use tool moves only."""
        raise RobotError('the simulated robot backend moves the tool only (move_joints is not offered)')

    def _set_gripper(self, close: bool) -> float:
        if not self._gripper.wait_for_service(timeout_sec=SERVER_TIMEOUT_S):
            raise RobotError('lost the simulated gripper: no set_gripper service (is the sim bridge running?)')
        future = self._gripper.call_async(SetGripper.Request(close=close))
        if not wait_for(future, MOTION_TIMEOUT_S):
            raise RobotError('the simulated gripper did not answer')
        response = future.result()
        if not response.success:
            raise RobotError(f'gripper failed: {response.message}')
        self._width = float(response.width)
        return self._width

    def open_gripper(self) -> None:
        """Open the jaws fully."""
        self._set_gripper(close=False)

    def close_gripper(self) -> float:
        """Close with the gripper's finite force; the jaw opening afterwards, metres."""
        return self._set_gripper(close=True)

    def gripper_width(self) -> float:
        """The jaw opening reported by the last gripper command, metres."""
        return self._width if math.isfinite(self._width) else 0.0

    def stop(self) -> None:
        """Cancel the motion in progress, which stops the simulated arm at once."""
        with self._lock:
            handle = self._active_goal
        if handle is not None:
            handle.cancel_goal_async()

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""A UR5 (any e-Series or CB3 UR) driven with ur_rtde, and a Robotiq 2F-85 through the URCap socket.

Poses: positions are in the controller's base frame (ROS frame ``base``, not ``base_link``, which is turned
by 180 degrees about z). The tool points straight down with a yaw about the base z axis: its orientation is
Rz(yaw) * Rx(pi), whose tool x axis is (cos yaw, sin yaw, 0), the axis along which the jaws close
(mount the gripper so that its jaws move along the tool x axis). As a UR rotation vector that is a turn of pi
about (cos(yaw/2), sin(yaw/2), 0); for the wrapped yaw of a plan in [-pi/2, pi/2) that axis has a positive x
component, so nearby yaws give nearby rotation vectors.

TCP: ur_rtde moves the controller's active TCP. With `tcp_offset` None the TCP configured on the controller
is used (the Robotiq URCap sets one at the fingertips); otherwise `setTcp(tcp_offset)` sets it on connect.
Either way it must be the point between the fingertips, or every move is off by the difference.

Moves are sent asynchronously (``moveL(pose, speed, accel, True)``) and polled: the move ends when
``getAsyncOperationProgress()`` is negative and the TCP is at the target. `should_stop` or `stop()` stop the
arm with ``stopL`` (``stopJ`` for joint moves). A protective or emergency stop, a lost connection, a
control script that stopped running or a move that ends away from its target raises RobotError.
This backend cannot be run here; tests check it against recording stand-ins for ur_rtde's interfaces.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pushgrasp_control.backends import BackendUnavailable
from pushgrasp_control.backends.mock import trapezoid_duration
from pushgrasp_control.backends.robotiq import Robotiq2F85
from pushgrasp_control.motion import RobotError, checked_linear_target
from pushgrasp_control.primitives import tool_down_axis

INSTALL_HINT = "install ur_rtde (pip install ur_rtde) to use the 'ur_rtde' backend"


def _unavailable(error: ImportError) -> BackendUnavailable:
    return BackendUnavailable(f'the ur_rtde Python package is missing ({error}); {INSTALL_HINT}')


def default_control_factory(robot_ip: str) -> Any:
    """ur_rtde's RTDEControlInterface connected to `robot_ip` (BackendUnavailable without ur_rtde)."""
    try:
        import rtde_control
    except ImportError as error:
        raise _unavailable(error) from error
    return rtde_control.RTDEControlInterface(robot_ip)


def default_receive_factory(robot_ip: str) -> Any:
    """ur_rtde's RTDEReceiveInterface connected to `robot_ip` (BackendUnavailable without ur_rtde)."""
    try:
        import rtde_receive
    except ImportError as error:
        raise _unavailable(error) from error
    return rtde_receive.RTDEReceiveInterface(robot_ip)


def tool_down_rotvec(yaw: float) -> np.ndarray:
    """UR rotation vector of Rz(yaw) * Rx(pi): the tool points down and its x axis is (cos yaw, sin yaw, 0)."""
    return math.pi * tool_down_axis(yaw)


def tool_down_pose(position: Sequence[float], yaw: float) -> list[float]:
    """The UR pose [x, y, z, rx, ry, rz] of the downward tool at `position` with `yaw`."""
    return [float(v) for v in position] + [float(v) for v in tool_down_rotvec(yaw)]


class URRtdeRobot:
    """The Robot protocol on a UR arm over ur_rtde with a Robotiq 2F-85 (see the module docstring)."""

    def __init__(self, robot_ip: str, gripper: Any = None, tcp_offset: Sequence[float] | None = None,
                 control_factory: Callable[[str], Any] | None = None,
                 receive_factory: Callable[[str], Any] | None = None, stop_accel: float = 10.0,
                 joint_stop_accel: float = 2.0, poll_period: float = 0.008, position_tolerance: float = 0.002,
                 start_timeout: float = 0.5, timeout_slack: float = 5.0) -> None:
        """Connect to the controller at `robot_ip`.

        `gripper` has open(), close() -> width and width() (default: a Robotiq2F85 on `robot_ip`, port 63352).
        `tcp_offset` ([x, y, z, rx, ry, rz] from the flange), if given, is set with setTcp. `stop_accel`
        (m/s^2) and `joint_stop_accel` (rad/s^2) are the decelerations of stopL and stopJ. A move fails when
        it has not started within `start_timeout` s or runs `timeout_slack` s longer than its planned duration.
        """
        self.robot_ip = robot_ip
        self.stop_accel, self.joint_stop_accel = float(stop_accel), float(joint_stop_accel)
        self.poll_period, self.position_tolerance = float(poll_period), float(position_tolerance)
        self.start_timeout, self.timeout_slack = float(start_timeout), float(timeout_slack)
        self.gripper = gripper if gripper is not None else Robotiq2F85(robot_ip)
        self._stop = threading.Event()
        self._joint_move = False
        try:
            self.control = (control_factory or default_control_factory)(robot_ip)
            self.receive = (receive_factory or default_receive_factory)(robot_ip)
            if tcp_offset is not None:
                if len(tcp_offset) != 6:
                    raise ValueError(f'tcp_offset must be [x, y, z, rx, ry, rz], got {tcp_offset}')
                if not self.control.setTcp([float(v) for v in tcp_offset]):
                    raise RobotError(f'the UR at {robot_ip} refused setTcp({list(tcp_offset)})')
        except RuntimeError as error:
            if isinstance(error, (RobotError, BackendUnavailable)):
                raise
            raise RobotError(f'cannot connect to the UR at {robot_ip}: {error}') from error

    # -- state ------------------------------------------------------------------------------------------------

    def _check(self) -> None:
        """Raise RobotError unless the arm is connected, running the control script and not stopped."""
        try:
            if not self.control.isConnected() or not self.receive.isConnected():
                raise RobotError(f'lost the connection to the UR at {self.robot_ip}')
            if self.receive.isEmergencyStopped():
                raise RobotError(f'the UR at {self.robot_ip} is emergency stopped')
            if self.receive.isProtectiveStopped():
                raise RobotError(f'the UR at {self.robot_ip} is protective stopped (collision or limit); '
                                 'an operator must unlock it')
            if not self.control.isProgramRunning():
                raise RobotError(f'the ur_rtde control script is not running on the UR at {self.robot_ip}')
        except RobotError:
            raise
        except RuntimeError as error:
            raise RobotError(f'the UR at {self.robot_ip} failed: {error}') from error

    def tcp_pose(self) -> list[float]:
        """The actual TCP pose [x, y, z, rx, ry, rz] (getActualTCPPose)."""
        try:
            return list(self.receive.getActualTCPPose())
        except RuntimeError as error:
            raise RobotError(f'cannot read the TCP pose of the UR at {self.robot_ip}: {error}') from error

    # -- motion -----------------------------------------------------------------------------------------------

    def _run(self, command: Callable[[], bool], what: str, arrived: Callable[[], bool], duration: float,
             should_stop: Callable[[], bool] | None, halt: Callable[[], Any]) -> bool:
        """Send an asynchronous move and poll it until it arrives (True), is stopped (False) or fails."""
        self._check()
        self._stop.clear()
        try:
            if not command():
                self._check()  # a refusal because of a stop says why
                raise RobotError(f'the UR at {self.robot_ip} refused {what}')
            start = time.monotonic()
            started = False
            while True:
                if self._stop.is_set():
                    return False
                if should_stop is not None and should_stop():
                    halt()
                    return False
                self._check()
                elapsed = time.monotonic() - start
                if self.control.getAsyncOperationProgress() >= 0:
                    started = True
                elif arrived():
                    return True
                elif started or elapsed > self.start_timeout:
                    raise RobotError(f'{what} on the UR at {self.robot_ip} ended away from its target')
                if elapsed > duration + self.timeout_slack:
                    halt()
                    raise RobotError(f'{what} on the UR at {self.robot_ip} did not finish within '
                                     f'{duration + self.timeout_slack:.1f} s')
                time.sleep(self.poll_period)
        except RobotError:
            raise
        except RuntimeError as error:
            raise RobotError(f'{what} on the UR at {self.robot_ip} failed: {error}') from error

    def move_linear(self, position: np.ndarray, yaw: float, speed: float, accel: float,
                    should_stop: Callable[[], bool] | None = None) -> bool:
        """Move linearly (moveL) to `position` with the downward tool at `yaw`; False if stopped before arrival."""
        target = checked_linear_target(position, yaw, speed, accel)
        pose = tool_down_pose(target, yaw)
        distance = float(np.linalg.norm(target - np.asarray(self.tcp_pose()[:3])))
        self._joint_move = False

        def arrived() -> bool:
            return float(np.linalg.norm(np.asarray(self.tcp_pose()[:3]) - target)) <= self.position_tolerance

        return self._run(lambda: self.control.moveL(pose, float(speed), float(accel), True),
                         f'moveL to {np.round(target, 4).tolist()}', arrived,
                         trapezoid_duration(distance, speed, accel), should_stop,
                         lambda: self.control.stopL(self.stop_accel))

    def move_joints(self, joints: Sequence[float], speed: float, accel: float,
                    should_stop: Callable[[], bool] | None = None) -> bool:
        """Move the joints (moveJ) to `joints` (radians); False if stopped before arrival."""
        target = np.asarray(joints, dtype=float)
        if target.shape != (6,) or not np.all(np.isfinite(target)):
            raise ValueError(f'move_joints needs 6 finite joint positions, got {joints}')
        if not speed > 0 or not accel > 0:
            raise ValueError(f'speed and accel must be positive, got {speed}, {accel}')
        try:
            actual = np.asarray(self.receive.getActualQ(), dtype=float)
        except RuntimeError as error:
            raise RobotError(f'cannot read the joints of the UR at {self.robot_ip}: {error}') from error
        self._joint_move = True

        def arrived() -> bool:
            return float(np.abs(np.asarray(self.receive.getActualQ(), dtype=float) - target).max()) <= 0.005

        return self._run(lambda: self.control.moveJ(target.tolist(), float(speed), float(accel), True),
                         f'moveJ to {np.round(target, 4).tolist()}', arrived,
                         trapezoid_duration(float(np.abs(target - actual).max()), speed, accel), should_stop,
                         lambda: self.control.stopJ(self.joint_stop_accel))

    def stop(self) -> None:
        """Stop the arm at once (stopL, or stopJ during a joint move); callable from any thread."""
        self._stop.set()
        try:
            if self._joint_move:
                self.control.stopJ(self.joint_stop_accel)
            else:
                self.control.stopL(self.stop_accel)
        except RuntimeError as error:
            raise RobotError(f'cannot stop the UR at {self.robot_ip}: {error}') from error

    # -- gripper ----------------------------------------------------------------------------------------------

    def open_gripper(self) -> None:
        """Open the gripper fully."""
        self.gripper.open()

    def close_gripper(self) -> float:
        """Close the gripper until it stops; the jaw opening in metres."""
        return float(self.gripper.close())

    def gripper_width(self) -> float:
        """The present jaw opening in metres."""
        return float(self.gripper.width())

    def disconnect(self) -> None:
        """Stop the control script and close the RTDE connections."""
        for name, interface in (('stopScript', self.control), ('disconnect', self.control),
                                ('disconnect', self.receive)):
            method = getattr(interface, name, None)
            if method is not None:
                try:
                    method()
                except RuntimeError:
                    pass

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""A kinematic mock robot, like ur_robot_driver's `use_mock_hardware`: it only moves a point.

The mock has NO physics and NO objects: it keeps a TCP position and yaw and moves them along straight
lines with a trapezoidal speed profile at the commanded speed and acceleration, in real time sped up by
`time_scale` (a move of duration T takes T / time_scale seconds). Closing the gripper always ends at
width 0 (there is never anything between the jaws), so every grasp on the mock fails and no push moves
anything. `move_joints` only waits and records the joint values; the mock has no kinematic model linking
joints and TCP.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np

HOME_POSITION = (0.4, 0.0, 0.4)
"""Start TCP position in the base frame, metres (above the default workspace)."""
GRIPPER_OPEN_WIDTH = 0.085
"""Jaw opening of an open Robotiq 2F-85, metres."""


def trapezoid_duration(distance: float, speed: float, accel: float) -> float:
    """Seconds to travel `distance` from rest to rest with peak `speed` and acceleration `accel`."""
    if distance <= 0:
        return 0.0
    if accel <= 0 or math.isinf(accel):
        return distance / speed
    ramp = speed * speed / accel  # distance spent speeding up and slowing down at full speed
    if ramp >= distance:
        return 2.0 * math.sqrt(distance / accel)
    return 2.0 * speed / accel + (distance - ramp) / speed


def trapezoid_distance(t: float, distance: float, speed: float, accel: float) -> float:
    """Distance covered `t` seconds into a rest-to-rest move (see `trapezoid_duration`)."""
    total = trapezoid_duration(distance, speed, accel)
    if t >= total:
        return distance
    if t <= 0:
        return 0.0
    if accel <= 0 or math.isinf(accel):
        return speed * t
    peak = min(speed, math.sqrt(distance * accel))
    ramp_time = peak / accel
    if t < ramp_time:
        return 0.5 * accel * t * t
    if t > total - ramp_time:
        return distance - 0.5 * accel * (total - t) ** 2
    return 0.5 * accel * ramp_time ** 2 + peak * (t - ramp_time)


class MockRobot:
    """A mock robot backend without physics or objects (see the module docstring)."""

    def __init__(self, time_scale: float = 1.0, home_position: Sequence[float] = HOME_POSITION,
                 home_yaw: float = 0.0, step: float = 0.01) -> None:
        """Create the mock at `home_position`.

        `time_scale` speeds motions up: a move of duration T takes T / time_scale wall-clock seconds, so 1.0
        runs in real time, 10 ten times faster, 0.5 at half speed and math.inf finishes moves at once.
        `step` is the wall-clock update period in seconds.
        """
        if not time_scale > 0:
            raise ValueError(f'time_scale must be positive (math.inf: instant moves), got {time_scale}')
        if not step > 0:
            raise ValueError(f'step must be positive, got {step}')
        self.time_scale = float(time_scale)
        self.step = float(step)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._position = np.array(home_position, dtype=float)
        self._yaw = float(home_yaw)
        self._joints = np.zeros(6)
        self._width = GRIPPER_OPEN_WIDTH
        self._moving = False

    @property
    def tcp_position(self) -> np.ndarray:
        """The present TCP position (x, y, z) in the base frame, metres (a copy)."""
        with self._lock:
            return self._position.copy()

    @property
    def tcp_yaw(self) -> float:
        """The present gripper yaw, radians."""
        with self._lock:
            return self._yaw

    @property
    def joints(self) -> np.ndarray:
        """The last commanded joint positions, radians (a copy)."""
        with self._lock:
            return self._joints.copy()

    @property
    def moving(self) -> bool:
        """Whether a move is in progress."""
        with self._lock:
            return self._moving

    def _run(self, duration: float, update: Callable[[float], None], should_stop: Callable[[], bool] | None) -> bool:
        """Advance `update(fraction of motion time)` in wall-clock steps until done or stopped."""
        self._stop.clear()
        with self._lock:
            self._moving = True
        try:
            wall_total = duration / self.time_scale
            start = time.monotonic()
            while True:
                if self._stop.is_set() or (should_stop is not None and should_stop()):
                    return False
                elapsed = time.monotonic() - start
                if elapsed >= wall_total:
                    update(duration)
                    return True
                update(elapsed * self.time_scale)
                # Wakes at once on stop(); should_stop is checked every step.
                self._stop.wait(min(self.step, wall_total - elapsed))
        finally:
            with self._lock:
                self._moving = False

    def move_linear(self, position: np.ndarray, yaw: float, speed: float, accel: float,
                    should_stop: Callable[[], bool] | None = None) -> bool:
        """Move the TCP in a straight line to `position`, turning to `yaw`; False if stopped on the way."""
        target = np.asarray(position, dtype=float)
        if target.shape != (3,) or not np.all(np.isfinite(target)) or not math.isfinite(yaw):
            raise ValueError(f'move_linear needs a finite 3-D position and yaw, got {position}, {yaw}')
        if not speed > 0:
            raise ValueError(f'speed must be positive, got {speed}')
        start, start_yaw = self.tcp_position, self.tcp_yaw
        delta = target - start
        distance = float(np.linalg.norm(delta))
        turn = (yaw - start_yaw + math.pi) % (2 * math.pi) - math.pi
        duration = trapezoid_duration(distance, speed, accel)

        def update(t: float) -> None:
            fraction = trapezoid_distance(t, distance, speed, accel) / distance if distance > 0 else 1.0
            with self._lock:
                self._position = start + fraction * delta
                self._yaw = start_yaw + fraction * turn

        return self._run(duration, update, should_stop)

    def move_joints(self, joints: Sequence[float], speed: float, accel: float,
                    should_stop: Callable[[], bool] | None = None) -> bool:
        """Move the recorded joint values to `joints` (the TCP does not move: no kinematics)."""
        target = np.asarray(joints, dtype=float)
        if target.shape != (6,) or not np.all(np.isfinite(target)):
            raise ValueError(f'move_joints needs 6 finite joint positions, got {joints}')
        if not speed > 0:
            raise ValueError(f'speed must be positive, got {speed}')
        start = self.joints
        delta = target - start
        distance = float(np.abs(delta).max())
        duration = trapezoid_duration(distance, speed, accel)

        def update(t: float) -> None:
            fraction = trapezoid_distance(t, distance, speed, accel) / distance if distance > 0 else 1.0
            with self._lock:
                self._joints = start + fraction * delta

        return self._run(duration, update, should_stop)

    def open_gripper(self) -> None:
        """Open the jaws fully (instantly)."""
        with self._lock:
            self._width = GRIPPER_OPEN_WIDTH

    def close_gripper(self) -> float:
        """Close the jaws (instantly); with no objects they always close to 0."""
        with self._lock:
            self._width = 0.0
            return self._width

    def gripper_width(self) -> float:
        """The present jaw opening in metres."""
        with self._lock:
            return self._width

    def stop(self) -> None:
        """Stop the present move at once (from any thread); the TCP stays where it is."""
        self._stop.set()

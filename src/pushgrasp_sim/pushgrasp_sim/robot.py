# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The simulated UR5 and gripper as a `pushgrasp_control.motion.Robot`.

The arm moves only through its joint servos: a linear move is planned as a straight TCP line with a
trapezoidal speed profile in simulated time, turned into a joint path by closed-form inverse kinematics
in the arm configuration the arm is in, checked whole (reach, joint limits, joint speeds) before the arm
moves, and then followed by setting the servo targets (with feed-forward velocities) every control tick
of `SimRobotConfig.control_decimation` physics steps. Any robot geom touching the table stops the arm
at once and raises RobotError, and so does a TCP pushed more than `blocked_tolerance` off its path
(a protective stop, as when the closed fingers press onto an object).

Simulated time is not wall time: everything runs as fast as the CPU allows.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pushgrasp_control.motion import RobotError
from pushgrasp_sim import kinematics
from pushgrasp_sim.physics import GRIPPER_OPEN_WIDTH, HOME_KEY, Contact, Physics


@dataclass(frozen=True)
class SimRobotConfig:
    """Settings of the simulated robot's motion control (seconds, metres, radians)."""

    control_decimation: int = 5
    """Physics steps per control tick (new servo targets and a collision check every tick)."""
    rotation_speed: float = 1.5
    """Largest tool rotation speed of a linear move, rad/s (limits moves that mostly turn)."""
    rotation_accel: float = 6.0
    """Largest tool rotation acceleration of a linear move, rad/s^2."""
    max_joint_speed: float = math.pi
    """A path needing a faster joint (near a singularity) is refused, rad/s (a UR5 does 180 deg/s)."""
    settle_tolerance: float = 0.0005
    """After the planned motion the arm settles until its TCP is this close to the target, metres."""
    settle_timeout: float = 0.3
    """Longest wait for the arm to settle on the target after the planned motion, seconds."""
    arrival_tolerance: float = 0.002
    """TCP distance to the target that counts as arrived after settling, metres."""
    blocked_tolerance: float = 0.005
    """TCP distance from the planned path that means the arm is blocked (a protective stop), metres."""
    max_contact_force: float = 100.0
    """Contact force between the robot and anything that triggers a protective stop, newtons (a UR's default
    force limit is 150 N; the 2F-85's squeeze is 20-40 N)."""
    gripper_timeout: float = 2.0
    """Longest wait for the jaws to stop, seconds."""
    gripper_stopped_speed: float = 0.002
    """Jaw opening speed below which the jaws count as stopped, m/s."""
    home_speed: float = 2.0
    """Joint speed of `go_home`, rad/s (ur_rtde's moveJ default is 1.05; a UR5's joints reach 3.14)."""
    home_accel: float = 1.4
    """Joint acceleration of `go_home`, rad/s^2."""

    def __post_init__(self) -> None:
        if self.control_decimation < 1:
            raise ValueError(f'control_decimation must be at least 1, got {self.control_decimation}')


def trapezoid(t: np.ndarray, distance: float, speed: float, accel: float) -> tuple[np.ndarray, float]:
    """Distance covered at times `t` of a rest-to-rest move, and the move's duration.

    The move has peak speed `speed` and acceleration `accel` (a triangle when it is too short to reach
    `speed`).
    """
    t = np.asarray(t, dtype=float)
    if distance <= 0.0:
        return np.zeros_like(t), 0.0
    peak = min(speed, math.sqrt(distance * accel))
    ramp = peak / accel
    duration = 2.0 * ramp + (distance - peak * ramp) / peak
    t = np.clip(t, 0.0, duration)
    cruise_end = duration - ramp
    s = np.where(t < ramp, 0.5 * accel * t * t,
                 np.where(t > cruise_end, distance - 0.5 * accel * (duration - t) ** 2,
                          0.5 * peak * ramp + peak * (t - ramp)))
    return s, duration


@dataclass
class _Path:
    """A motion sampled once per control tick."""

    targets: np.ndarray
    """Servo targets (ticks, 6): the joints at the middle of each tick, where a held target errs least."""
    velocities: np.ndarray
    """Feed-forward joint velocities (ticks, 6)."""
    tcp: np.ndarray
    """Where the TCP should be at the end of each tick (ticks, 3)."""
    goal: np.ndarray
    """Final joints (6,)."""
    goal_tcp: np.ndarray
    """Final TCP position (3,)."""


class SimRobot:
    """The UR5 and gripper of a `Physics` work cell, driven through their actuators only."""

    def __init__(self, physics: Physics, config: SimRobotConfig | None = None,
                 params: kinematics.ArmParams = kinematics.UR5) -> None:
        """Drive the robot of `physics` (its present servo targets are held until the first command)."""
        self.physics = physics
        self.config = config or SimRobotConfig()
        self.params = params
        self.last_collision: Contact | None = None
        """The deepest robot-table contact that stopped the last motion, None when it did not collide."""
        self.last_tracking_error = 0.0
        """Largest distance of the TCP from where the plan had it during the last motion, metres."""
        self._stop_requested = threading.Event()
        self._busy = threading.Lock()
        home = physics.keyframe_arm_qpos(HOME_KEY)
        self.home_joints = home if home is not None else physics.arm_qpos
        """Joint angles of the home pose (the 'home' keyframe), radians."""

    # --- read-outs ------------------------------------------------------------------------------------
    @property
    def steps_taken(self) -> int:
        """Physics steps taken so far (for benchmarking)."""
        return self.physics.steps_taken

    def joint_positions(self) -> np.ndarray:
        """The six measured arm joint angles, radians."""
        return self.physics.arm_qpos

    def tcp_position(self) -> np.ndarray:
        """The measured TCP position in the base frame, metres."""
        return self.physics.tcp_position()

    def tcp_yaw(self) -> float:
        """The measured jaw-axis yaw, radians in (-pi, pi]."""
        return self.physics.tcp_yaw()

    def gripper_width(self) -> float:
        """The present jaw opening in metres."""
        return self.physics.gripper_width()

    # --- arm ------------------------------------------------------------------------------------------
    def move_linear(self, position: np.ndarray, yaw: float, speed: float, accel: float,
                    should_stop: Callable[[], bool] | None = None) -> bool:
        """Move the TCP in a straight line to `position`, pointing down with jaws along (cos yaw, sin yaw).

        The yaw is taken mod pi, turning the wrist the shorter way. Returns False when stopped (by
        `stop()` or `should_stop`) before arrival, or when the arm did not get within
        `arrival_tolerance` of the target. Raises RobotError before moving when the line cannot be
        followed (out of reach, joint limits, a singularity on the way), and after stopping the arm when
        it touches the table (see `last_collision`) or is blocked (a protective stop).
        """
        target = np.asarray(position, dtype=float)
        if target.shape != (3,) or not np.all(np.isfinite(target)) or not math.isfinite(yaw):
            raise ValueError(f'move_linear needs a finite 3-D position and yaw, got {position}, {yaw}')
        if not (speed > 0 and accel > 0):
            raise ValueError(f'speed and accel must be positive, got {speed}, {accel}')
        with self._busy:
            start_q = self.physics.arm_ctrl
            start = kinematics.forward_tcp(start_q, self.params)
            current_yaw = kinematics.tool_yaw(start[:3, :3])
            # Of the two equivalent yaws, try the one needing less wrist turn first.
            candidates = sorted((yaw, yaw + math.pi), key=lambda y: abs(_wrap_angle(y - current_yaw)))
            path, reason = None, ''
            for candidate in candidates:
                goal_rotation = kinematics.down_rotation(current_yaw + _wrap_angle(candidate - current_yaw))
                try:
                    path = self._plan_line(start_q, start, target, goal_rotation, speed, accel)
                    break
                except kinematics.Unreachable as error:
                    reason = reason or str(error)
            if path is None:
                raise RobotError(f'cannot move the TCP to ({target[0]:.3f}, {target[1]:.3f}, {target[2]:.3f}) m '
                                 f'at yaw {math.degrees(yaw):.1f} deg: {reason}')
            return self._run(path, should_stop)

    def move_joints(self, joints: Sequence[float], speed: float, accel: float,
                    should_stop: Callable[[], bool] | None = None) -> bool:
        """Move to joint angles `joints` (radians), all joints synchronised; False if stopped first.

        Raises RobotError for targets outside the joint limits, on table contact and when blocked.
        """
        goal = np.asarray(joints, dtype=float)
        if goal.shape != (6,) or not np.all(np.isfinite(goal)):
            raise ValueError(f'move_joints needs 6 finite joint positions, got {joints}')
        if not (speed > 0 and accel > 0):
            raise ValueError(f'speed and accel must be positive, got {speed}, {accel}')
        if not kinematics.within_limits(goal, self.params):
            raise RobotError(f'joint target {np.round(goal, 3).tolist()} is outside the joint limits')
        with self._busy:
            start = self.physics.arm_ctrl
            delta = goal - start
            distance = float(np.abs(delta).max())
            rate = (speed / distance, accel / distance) if distance > 1e-9 else None
            mid, end = self._progress(rate)
            targets = start + mid[:, None] * delta
            tcp = kinematics.forward_tcp(start + end[:, None] * delta, self.params)[:, :3, 3]
            path = _Path(targets, self._velocities(start, targets), tcp, goal, tcp[-1])
            return self._run(path, should_stop)

    def go_home(self, should_stop: Callable[[], bool] | None = None) -> bool:
        """Move the joints to the home pose (TCP above the workspace centre, pointing down)."""
        return self.move_joints(self.home_joints, self.config.home_speed, self.config.home_accel, should_stop)

    def stop(self) -> None:
        """Stop any motion at once (callable from any thread); an idle arm holds its present joints."""
        self._stop_requested.set()
        if self._busy.acquire(blocking=False):
            try:
                self._hold()
                self._stop_requested.clear()
            finally:
                self._busy.release()

    # --- gripper --------------------------------------------------------------------------------------
    def open_gripper(self) -> None:
        """Open the jaws fully, stepping the physics until they stop."""
        with self._busy:
            self._run_gripper(GRIPPER_OPEN_WIDTH)

    def close_gripper(self) -> float:
        """Close the jaws with the gripper's finite force until they stop; the opening then, metres."""
        with self._busy:
            return self._run_gripper(0.0)

    # --- planning -------------------------------------------------------------------------------------
    @property
    def _tick(self) -> float:
        return self.config.control_decimation * self.physics.timestep

    def _progress(self, rate: tuple[float, float] | None) -> tuple[np.ndarray, np.ndarray]:
        """Progress in [0, 1] at the middle and at the end of each tick of a trapezoidal move.

        `rate` is the (speed, acceleration) of the progress, 1/s and 1/s^2; None for a move of no length.
        """
        if rate is None:
            return np.ones(1), np.ones(1)
        duration = trapezoid(0.0, 1.0, *rate)[1]
        count = max(1, math.ceil(duration / self._tick - 1e-9))
        ticks = np.arange(count)
        mid = trapezoid(np.minimum((ticks + 0.5) * self._tick, duration), 1.0, *rate)[0]
        end = trapezoid(np.minimum((ticks + 1.0) * self._tick, duration), 1.0, *rate)[0]
        mid[-1] = end[-1] = 1.0
        return mid, end

    def _velocities(self, start: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Feed-forward joint velocities of targets sampled once per control tick (central differences)."""
        padded = np.vstack([start, targets, targets[-1]])
        return (padded[2:] - padded[:-2]) / (2.0 * self._tick)

    def _plan_line(self, start_q: np.ndarray, start: np.ndarray, target: np.ndarray, goal_rotation: np.ndarray,
                   speed: float, accel: float) -> _Path:
        """The joint path of the straight TCP line from `start` to `target`; raises Unreachable."""
        params, config = self.params, self.config
        if not kinematics.within_limits(start_q, params):
            raise kinematics.Unreachable('the arm is outside its joint limits')
        branch = kinematics.branch_of(start_q, params)
        goal = kinematics.flange_from_tcp(kinematics.pose_matrix(target, goal_rotation), params)
        goal_valid = kinematics.inverse_all(goal, params)[1]
        if not goal_valid.any():
            raise kinematics.Unreachable(kinematics.unreachable_reason(goal, params))
        if not goal_valid[branch]:
            raise kinematics.Unreachable('the target needs another arm configuration (move_joints first)')

        delta = target - start[:3, 3]
        distance = float(np.linalg.norm(delta))
        angle = kinematics.rotation_angle(start[:3, :3], goal_rotation)
        # One trapezoid for the progress, as slow as the TCP speed or the turn rate demands.
        rates = [(speed / distance, accel / distance)] if distance > 1e-9 else []
        if angle > 1e-9:
            rates.append((config.rotation_speed / angle, config.rotation_accel / angle))
        rate = (min(r[0] for r in rates), min(r[1] for r in rates)) if rates else None
        mid, end = self._progress(rate)
        positions = start[:3, 3] + mid[:, None] * delta
        poses = kinematics.pose_matrix(positions, kinematics.rotation_path(start[:3, :3], goal_rotation, mid))
        solutions, valid = kinematics.inverse_all(kinematics.flange_from_tcp(poses, params), params)
        solutions, valid = solutions[:, branch], valid[:, branch]
        if not valid.all():
            x, y, z = positions[int(np.argmin(valid))]
            raise kinematics.Unreachable(f'the line leaves the arm\'s reach at ({x:.3f}, {y:.3f}, {z:.3f}) m')
        # Unwrap each joint along the path, starting from the present angles.
        targets = start_q + np.cumsum(_wrap_angle(np.diff(np.vstack([start_q, solutions]), axis=0)), axis=0)
        outside = ~np.all(np.abs(targets) <= np.asarray(params.joint_limits) + 1e-9, axis=0)
        if outside.any():
            names = ', '.join(n for n, o in zip(kinematics.JOINT_NAMES, outside, strict=True) if o)
            raise kinematics.Unreachable(f'{names} would pass its joint limit')
        velocities = self._velocities(start_q, targets)
        fastest = np.abs(velocities).max(axis=0)
        if fastest.max() > config.max_joint_speed:
            joint = int(np.argmax(fastest))
            raise kinematics.Unreachable(f'the line passes near a singularity: {kinematics.JOINT_NAMES[joint]} '
                                         f'would turn at {fastest[joint]:.1f} rad/s')
        return _Path(targets, velocities, start[:3, 3] + end[:, None] * delta, targets[-1], target)

    # --- execution ------------------------------------------------------------------------------------
    def _run(self, path: _Path, should_stop: Callable[[], bool] | None) -> bool:
        """Follow `path` tick by tick, then settle on its goal; False when stopped or short of the goal."""
        physics, config = self.physics, self.config
        self._stop_requested.clear()
        self.last_collision = None
        self.last_tracking_error = 0.0

        def stopped() -> bool:
            if self._stop_requested.is_set() or (should_stop is not None and should_stop()):
                self._hold()
                return True
            return False

        self._recent_targets = [physics.arm_qpos.copy()]
        for target, velocity, tcp in zip(path.targets, path.velocities, path.tcp, strict=True):
            if stopped():
                return False
            physics.set_arm_target(target, velocity)
            self._step_checked(tcp)
            self._recent_targets = (self._recent_targets + [np.asarray(target).copy()])[-4:]
        physics.set_arm_target(path.goal)
        settle_ticks = max(1, round(config.settle_timeout / self._tick))
        for _ in range(settle_ticks):
            error = float(np.linalg.norm(physics.tcp_position() - path.goal_tcp))
            if error <= config.settle_tolerance or stopped():
                break
            self._step_checked(path.goal_tcp)
        if self._stop_requested.is_set():
            return False
        return bool(np.linalg.norm(physics.tcp_position() - path.goal_tcp) <= config.arrival_tolerance)

    def _step_checked(self, expected_tcp: np.ndarray) -> None:
        """One control tick of physics; the contact force is checked at every physics step.

        Position servos build up contact force within a single 10 ms tick when the fingers meet an object,
        so the force limit (like a UR's protective stop) is enforced at the 2 ms physics rate.
        """
        physics = self.physics
        for _ in range(self.config.control_decimation):
            physics.step(1)
            force = physics.max_robot_contact_force()
            if force > self.config.max_contact_force:
                _, robot_geom, other = physics.strongest_robot_contact()
                self._back_off()
                x, y, z = physics.tcp_position()
                limit = self.config.max_contact_force
                raise RobotError(f'protective stop: contact force {force:.0f} N exceeds {limit:.0f} N '
                                 f'({robot_geom} on {other}) with the TCP at ({x:.3f}, {y:.3f}, {z:.3f}) m')
        self._check(expected_tcp)

    def _check(self, expected_tcp: np.ndarray) -> None:
        """Stop the arm and raise RobotError when it touches the table or is blocked off its path."""
        physics = self.physics
        if physics.touches_table():
            self._hold()
            self.last_collision = min(physics.table_contacts(), key=lambda c: c.distance)
            x, y, z = self.last_collision.position
            raise RobotError(f'collision with the table: {self.last_collision.geom1} / '
                             f'{self.last_collision.geom2} at ({x:.3f}, {y:.3f}, {z:.3f}) m; the arm was stopped')
        error = float(np.linalg.norm(physics.tcp_position() - expected_tcp))
        self.last_tracking_error = max(self.last_tracking_error, error)
        if error > self.config.blocked_tolerance:
            self._hold()
            x, y, z = physics.tcp_position()
            raise RobotError(f'protective stop: the arm is blocked, its TCP at ({x:.3f}, {y:.3f}, {z:.3f}) m is '
                             f'{1000 * error:.1f} mm off its path')

    def _back_off(self) -> None:
        """After a force stop, return to where the arm was a few ticks before the contact and hold there.

        Holding in place would keep the fingers pressed into the object with the full servo force (a real
        arm's compliance relieves that; stiff simulated servos would launch the object instead).
        """
        recent = getattr(self, '_recent_targets', None)
        if not recent:
            self._hold()
            return
        self.physics.set_arm_target(recent[0])
        self.physics.step(25)

    def _hold(self) -> None:
        """Hold the arm where it is now."""
        self.physics.set_arm_target(self.physics.arm_qpos)

    def _run_gripper(self, width: float) -> float:
        """Drive the jaws toward `width` until they stop or the timeout; the opening reached."""
        physics, config = self.physics, self.config
        physics.set_gripper_target(width)
        ticks = max(1, round(config.gripper_timeout / self._tick))
        still = 0
        previous = physics.gripper_width()
        for _ in range(ticks):
            physics.step(config.control_decimation)
            present = physics.gripper_width()
            # Stopped: three ticks in a row without motion (a single slow tick happens as the jaws start).
            still = still + 1 if abs(present - previous) < config.gripper_stopped_speed * self._tick else 0
            previous = present
            if still >= 3:
                break
        return physics.gripper_width()


def _wrap_angle(angle: float | np.ndarray) -> np.ndarray:
    """Angle(s) wrapped to [-pi, pi)."""
    return np.mod(np.asarray(angle) + math.pi, 2.0 * math.pi) - math.pi

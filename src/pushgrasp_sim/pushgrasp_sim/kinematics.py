# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""UR5 forward and inverse kinematics from the published DH parameters (plain numpy, no MuJoCo).

Frames follow Universal Robots' DH convention: the base frame is the robot's own base frame (here also
the world frame of the work cell), joint i turns about the z axis of DH frame i-1 and
T_i = Rz(q_i) Tz(d_i) Tx(a_i) Rx(alpha_i). The flange frame (`tool0`) is DH frame 6; the gripper's TCP
is `UR5.tool_length` along the flange z axis, with the same orientation, so the jaws close along the
flange x axis.

A tool pointing straight down with yaw `y` has the rotation [x, y, z] = [(cos y, sin y, 0),
(sin y, -cos y, 0), (0, 0, -1)].

The inverse kinematics is the closed-form UR solution (8 branches: shoulder left/right, wrist up/down,
elbow up/down). All functions take batches: poses of shape (..., 4, 4), joints of shape (..., 6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pushgrasp_control.primitives import tool_down_rotation
from pushgrasp_sim.geometry import matrix_to_quaternion

TWO_PI = 2.0 * math.pi
JOINT_NAMES = ('shoulder_pan_joint', 'shoulder_lift_joint', 'elbow_joint',
               'wrist_1_joint', 'wrist_2_joint', 'wrist_3_joint')


class Unreachable(ValueError):
    """An inverse kinematics target that the arm cannot reach; the message says why."""


@dataclass(frozen=True)
class ArmParams:
    """DH parameters (metres, radians), joint limits and tool offset of a UR-style arm."""

    d1: float = 0.089159
    a2: float = -0.425
    a3: float = -0.39225
    d4: float = 0.10915
    d5: float = 0.09465
    d6: float = 0.0823
    tool_length: float = 0.15
    """Distance from the flange to the TCP (midway between the fingertips) along the flange z axis."""
    joint_limits: tuple[float, ...] = (TWO_PI, TWO_PI, math.pi, TWO_PI, TWO_PI, TWO_PI)
    """Symmetric limits |q_i| <= limit, radians."""

    @property
    def d(self) -> np.ndarray:
        """Link offsets d_1..d_6."""
        return np.array([self.d1, 0.0, 0.0, self.d4, self.d5, self.d6])

    @property
    def a(self) -> np.ndarray:
        """Link lengths a_1..a_6."""
        return np.array([0.0, self.a2, self.a3, 0.0, 0.0, 0.0])

    @property
    def alpha(self) -> np.ndarray:
        """Link twists alpha_1..alpha_6."""
        return np.array([math.pi / 2, 0.0, 0.0, math.pi / 2, -math.pi / 2, 0.0])


UR5 = ArmParams()
# The downward tool orientation of the primitives (one definition, in pushgrasp_control).
down_rotation = tool_down_rotation


def pose_matrix(position: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """Homogeneous transform(s) (..., 4, 4) from position(s) (..., 3) and rotation(s) (..., 3, 3)."""
    position = np.asarray(position, dtype=float)
    rotation = np.asarray(rotation, dtype=float)
    shape = np.broadcast_shapes(position.shape[:-1], rotation.shape[:-2])
    pose = np.zeros(shape + (4, 4))
    pose[..., :3, :3] = rotation
    pose[..., :3, 3] = position
    pose[..., 3, 3] = 1.0
    return pose


def tool_yaw(rotation: np.ndarray) -> float:
    """Yaw of the jaw axis (the tool x axis projected on the table plane), radians in (-pi, pi]."""
    return math.atan2(rotation[1, 0], rotation[0, 0])


def rotation_angle(r0: np.ndarray, r1: np.ndarray) -> float:
    """Angle in radians of the rotation taking r0 to r1 (3x3 each)."""
    cos = (np.trace(np.asarray(r0).T @ np.asarray(r1)) - 1.0) / 2.0
    return float(np.arccos(np.clip(cos, -1.0, 1.0)))


def rotation_path(r0: np.ndarray, r1: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """Rotations (N, 3, 3) along the shortest rotation from r0 to r1 at `fractions` (N,) in [0, 1]."""
    q0, q1 = np.array(matrix_to_quaternion(r0)), np.array(matrix_to_quaternion(r1))
    dot = float(q0 @ q1)
    if dot < 0.0:  # q and -q are the same rotation; take the short way
        q1, dot = -q1, -dot
    f = np.asarray(fractions, dtype=float)[:, None]
    angle = math.acos(min(dot, 1.0))
    if angle < 1e-9:
        q = np.broadcast_to(q0, (len(f), 4))
    else:
        q = (np.sin((1.0 - f) * angle) * q0 + np.sin(f * angle) * q1) / math.sin(angle)
    w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
    ], -2)


def forward(q: np.ndarray, params: ArmParams = UR5) -> np.ndarray:
    """Flange pose(s) (..., 4, 4) in the base frame for joint vector(s) q (..., 6)."""
    q = np.asarray(q, dtype=float)
    pose = np.broadcast_to(np.eye(4), q.shape[:-1] + (4, 4)).copy()
    for i, (d, a, alpha) in enumerate(zip(params.d, params.a, params.alpha, strict=True)):
        ct, st = np.cos(q[..., i]), np.sin(q[..., i])
        ca, sa = math.cos(alpha), math.sin(alpha)
        link = np.zeros(q.shape[:-1] + (4, 4))
        link[..., 0, :] = np.stack([ct, -st * ca, st * sa, a * ct], -1)
        link[..., 1, :] = np.stack([st, ct * ca, -ct * sa, a * st], -1)
        link[..., 2, 1:] = (sa, ca, d)
        link[..., 3, 3] = 1.0
        pose = pose @ link
    return pose


def tcp_from_flange(flange: np.ndarray, params: ArmParams = UR5) -> np.ndarray:
    """TCP pose(s) of flange pose(s) (..., 4, 4)."""
    tcp = np.array(flange, dtype=float)
    tcp[..., :3, 3] += params.tool_length * tcp[..., :3, 2]
    return tcp


def flange_from_tcp(tcp: np.ndarray, params: ArmParams = UR5) -> np.ndarray:
    """Flange pose(s) of TCP pose(s) (..., 4, 4)."""
    flange = np.array(tcp, dtype=float)
    flange[..., :3, 3] -= params.tool_length * flange[..., :3, 2]
    return flange


def forward_tcp(q: np.ndarray, params: ArmParams = UR5) -> np.ndarray:
    """TCP pose(s) (..., 4, 4) in the base frame for joint vector(s) q (..., 6)."""
    return tcp_from_flange(forward(q, params), params)


def _wrap(angle: np.ndarray) -> np.ndarray:
    return (angle + math.pi) % TWO_PI - math.pi


def inverse_all(flange: np.ndarray, params: ArmParams = UR5) -> tuple[np.ndarray, np.ndarray]:
    """All 8 closed-form solutions for flange pose(s) (..., 4, 4).

    Returns (q, valid): q of shape (..., 8, 6) with angles in [-pi, pi) and valid (..., 8), False where
    the branch has no solution (out of reach) or sits on a wrist singularity. Branch b uses
    shoulder = b // 4, wrist = (b // 2) % 2, elbow = b % 2 (each 0 or 1), so a branch index picks the
    same arm configuration along a continuous path.
    """
    flange = np.asarray(flange, dtype=float)
    batch = flange.shape[:-2]
    rot, pos = flange[..., :3, :3], flange[..., :3, 3]
    p05 = pos - params.d6 * rot[..., :, 2]
    radius = np.hypot(p05[..., 0], p05[..., 1])
    with np.errstate(invalid='ignore', divide='ignore'):
        shoulder_ok = radius > abs(params.d4) + 1e-9
        psi = np.arccos(np.clip(params.d4 / np.where(shoulder_ok, radius, 1.0), -1.0, 1.0))
        phi = np.arctan2(p05[..., 1], p05[..., 0])
        q = np.zeros(batch + (8, 6))
        valid = np.ones(batch + (8,), dtype=bool)
        for b in range(8):
            shoulder, wrist, elbow = b // 4, (b // 2) % 2, b % 2
            q1 = phi + math.pi / 2 + (psi if shoulder == 0 else -psi)
            s1, c1 = np.sin(q1), np.cos(q1)
            cos5 = (pos[..., 0] * s1 - pos[..., 1] * c1 - params.d4) / params.d6
            wrist_ok = np.abs(cos5) <= 1.0 + 1e-9
            q5 = np.arccos(np.clip(cos5, -1.0, 1.0)) * (1.0 if wrist == 0 else -1.0)
            s5 = np.sin(q5)
            not_singular = np.abs(s5) > 1e-6
            safe_s5 = np.where(not_singular, s5, 1.0)
            # M = R01^T R06 = Rz(q2 + q3 + q4) Ry(-q5) Rz(q6), a ZYZ Euler decomposition.
            r01 = _rz_rx(q1, math.pi / 2)
            m = np.swapaxes(r01, -1, -2) @ rot
            q6 = np.arctan2(-m[..., 2, 1] / safe_s5, m[..., 2, 0] / safe_s5)
            q234 = np.arctan2(-m[..., 1, 2] / safe_s5, -m[..., 0, 2] / safe_s5)
            # The wrist-1 origin (DH frame 3) in frame 1: the end of the planar two-link shoulder-elbow arm.
            z4_in_1 = np.stack([np.sin(q234), -np.cos(q234), np.zeros_like(q234)], -1)
            p04 = p05 - params.d5 * (r01 @ z4_in_1[..., None])[..., 0]
            p14 = (np.swapaxes(r01, -1, -2) @ (p04 - np.array([0.0, 0.0, params.d1]))[..., None])[..., 0]
            x, y = p14[..., 0], p14[..., 1]
            cos3 = (x * x + y * y - params.a2 ** 2 - params.a3 ** 2) / (2.0 * params.a2 * params.a3)
            elbow_ok = np.abs(cos3) <= 1.0 + 1e-9
            q3 = np.arccos(np.clip(cos3, -1.0, 1.0)) * (1.0 if elbow == 0 else -1.0)
            q2 = np.arctan2(y, x) - np.arctan2(params.a3 * np.sin(q3), params.a2 + params.a3 * np.cos(q3))
            q4 = q234 - q2 - q3
            q[..., b, :] = _wrap(np.stack([q1, q2, q3, q4, q5, q6], -1))
            valid[..., b] = shoulder_ok & wrist_ok & not_singular & elbow_ok
    return q, valid


def _rz_rx(theta: np.ndarray, alpha: float) -> np.ndarray:
    """Rz(theta) Rx(alpha) for a batch of theta."""
    ct, st = np.cos(theta), np.sin(theta)
    ca, sa = math.cos(alpha), math.sin(alpha)
    zero = np.zeros_like(theta)
    return np.stack([np.stack([ct, -st * ca, st * sa], -1),
                     np.stack([st, ct * ca, -ct * sa], -1),
                     np.stack([zero, zero + sa, zero + ca], -1)], -2)


def nearest_equivalent(q: np.ndarray, reference: np.ndarray, params: ArmParams = UR5) -> np.ndarray:
    """Joints q shifted by multiples of 2 pi per joint to lie closest to `reference` within the joint limits.

    Joints that cannot be brought within their limits come back out of range (check `within_limits`).
    """
    q = np.asarray(q, dtype=float)
    limits = np.asarray(params.joint_limits)
    shifted = q + TWO_PI * np.round((reference - q) / TWO_PI)
    # The nearest copy may pass a limit while the next one inwards does not.
    shifted = np.where(shifted > limits, shifted - TWO_PI, shifted)
    shifted = np.where(shifted < -limits, shifted + TWO_PI, shifted)
    return shifted


def within_limits(q: np.ndarray, params: ArmParams = UR5) -> np.ndarray:
    """Whether every joint of q (..., 6) is within its limit."""
    return np.all(np.abs(q) <= np.asarray(params.joint_limits) + 1e-9, axis=-1)


def branch_of(q: np.ndarray, params: ArmParams = UR5) -> int:
    """The inverse kinematics branch (0..7) that reproduces joint vector q."""
    solutions, valid = inverse_all(forward(q, params), params)
    error = np.abs(_wrap(solutions - np.asarray(q))).max(axis=-1)
    error[~valid] = np.inf
    return int(np.argmin(error))


def inverse(tcp: np.ndarray, current: np.ndarray, params: ArmParams = UR5) -> np.ndarray:
    """Joint vector reaching TCP pose `tcp` (4x4) closest to joint vector `current` (max joint change).

    Raises Unreachable with the reason when no branch reaches the pose within the joint limits.
    """
    flange = flange_from_tcp(tcp, params)
    solutions, valid = inverse_all(flange, params)
    if not valid.any():
        raise Unreachable(unreachable_reason(flange, params))
    current = np.asarray(current, dtype=float)
    candidates = nearest_equivalent(solutions, current, params)
    ok = valid & within_limits(candidates, params)
    if not ok.any():
        raise Unreachable('every inverse kinematics solution is outside the joint limits')
    cost = np.abs(candidates - current).max(axis=-1)
    cost[~ok] = np.inf
    return candidates[int(np.argmin(cost))]


def inverse_down(position: np.ndarray, yaw: float, current: np.ndarray, params: ArmParams = UR5) -> np.ndarray:
    """Joints putting the TCP at `position` pointing straight down with jaw yaw `yaw` (mod pi).

    Of the two equivalent yaws (yaw, yaw + pi) and all arm configurations, returns the joint vector
    closest to `current`. Raises Unreachable with the reason.
    """
    best, best_cost, reason = None, math.inf, ''
    for candidate_yaw in (yaw, yaw + math.pi):
        try:
            q = inverse(pose_matrix(position, down_rotation(candidate_yaw)), current, params)
        except Unreachable as error:
            reason = str(error)
            continue
        cost = float(np.abs(q - current).max())
        if cost < best_cost:
            best, best_cost = q, cost
    if best is None:
        raise Unreachable(reason)
    return best


def unreachable_reason(flange: np.ndarray, params: ArmParams = UR5) -> str:
    """Why no inverse kinematics branch reaches flange pose `flange` (4x4)."""
    pos, z = flange[:3, 3], flange[:3, 2]
    wrist = pos - params.d6 * z
    radius = math.hypot(wrist[0], wrist[1])
    if radius <= abs(params.d4):
        return (f'the wrist centre ({wrist[0]:.3f}, {wrist[1]:.3f}) m is within {params.d4:.3f} m of the '
                'shoulder axis')
    reach = abs(params.a2) + abs(params.a3) + params.d5
    distance = float(np.linalg.norm(wrist - np.array([0.0, 0.0, params.d1])))
    if distance > reach:
        return (f'out of reach: the wrist centre is {distance:.3f} m from the shoulder, more than the arm\'s '
                f'{reach:.3f} m')
    return f'no arm configuration reaches the wrist centre ({wrist[0]:.3f}, {wrist[1]:.3f}, {wrist[2]:.3f}) m'

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Camera-to-robot calibration run against the simulated work cell, checked against the simulator's truth.

    figures = calibrate_sim(seed=0, out='calibration.yaml')
    figures['position_error_mm'], figures['rotation_error_deg']

The simulated UR5 carries a magenta calibration ball on its palm (geom and site `calibration_marker` in
assets/ur5.xml, in geom group 4, which the normal camera renders never show). `calibrate_sim` runs the
robot-agnostic procedure of pushgrasp_perception.calibration (`collect_and_solve`) in an empty scene: the
arm moves by inverse kinematics and its joint servos through a grid of TCP poses, a camera that also
renders group 4 grabs a colour frame at each, and the solved camera pose is compared with the pose of the
simulator's camera. The camera can be knocked off its nominal mount first (pushgrasp_sim.randomization),
so that calibration is seen to recover a pose it was not told. Deterministic for a seed. Plain Python.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import mujoco
import numpy as np

from pushgrasp_perception.calibration import (
    CalibrationGrid, collect_and_solve, pose_difference, save_calibration)
from pushgrasp_sim.camera import CameraOptions, RGBDCamera
from pushgrasp_sim.env import PushGraspEnv, SimConfig
from pushgrasp_sim.physics import TCP_SITE, Physics
from pushgrasp_sim.randomization import RandomizationOptions

MARKER_NAME = 'calibration_marker'
"""Name of the marker's site (its centre) and geom in assets/ur5.xml."""
CALIBRATION_YAW = 0.0
"""Jaw yaw of the calibration poses: the palm end carrying the marker then faces the camera (base +x)."""


def marker_in_tcp(model: mujoco.MjModel) -> np.ndarray:
    """The marker's centre in the TCP frame, metres, read from the model's `calibration_marker` site.

    Raises ValueError when the two sites are not on the same body (the offset would not be fixed).
    """
    tcp, marker = model.site(TCP_SITE), model.site(MARKER_NAME)
    if tcp.bodyid[0] != marker.bodyid[0]:
        raise ValueError(f'sites {TCP_SITE!r} and {MARKER_NAME!r} must be on the same body')
    tcp_rotation = np.empty(9)
    mujoco.mju_quat2Mat(tcp_rotation, tcp.quat)
    return tcp_rotation.reshape(3, 3).T @ (marker.pos - tcp.pos)


def marker_camera(physics: Physics, options: CameraOptions | None = None) -> RGBDCamera:
    """A camera like the cell's that also renders the marker's geom group; close it after use."""
    options = options if options is not None else CameraOptions()
    group = int(physics.model.geom(MARKER_NAME).group[0])
    groups = tuple(sorted(set(options.geom_groups) | {group}))
    return RGBDCamera(physics.model, options=replace(options, geom_groups=groups, exact_depth=False))


def calibrate_sim(seed: int = 0, grid: tuple[int, int, int] | CalibrationGrid = (4, 4, 3), out: str | None = None,
                  *, camera_position_mm: float = 0.0, camera_angle_deg: float = 0.0,
                  speed: float = 0.25, accel: float = 1.2) -> dict[str, Any]:
    """Calibrate the simulated camera with the arm and its marker, and compare with the true camera pose.

    Args:
        seed: seed of the scene and of the camera perturbation.
        grid: TCP grid points along (x, y, z) over the default box (x 0.32..0.68 m, y -0.18..0.18 m, TCP
            0.05..0.20 m above the table), or a whole CalibrationGrid.
        out: path of the calibration YAML to write (None: write nothing).
        camera_position_mm: move the camera by up to this much along each axis before calibrating.
        camera_angle_deg: turn the camera by up to this angle before calibrating.
        speed: TCP speed of the moves, m/s.
        accel: TCP acceleration of the moves, m/s^2.

    Returns:
        position_error_mm and rotation_error_deg (against the simulator's camera), rms_reprojection_px,
        residual_mm, num_points (pairs solved from), num_poses, num_skipped (poses unreachable or without a
        clean marker), rejected_outliers, calibration_file (None without `out`), camera_pose and
        true_camera_pose (4x4 nested lists).

    Raises:
        ValueError: too few usable poses to solve.
    """
    layout = grid if isinstance(grid, CalibrationGrid) else CalibrationGrid(shape=tuple(int(n) for n in grid))
    perturbed = camera_position_mm > 0 or camera_angle_deg > 0
    randomization = (RandomizationOptions(camera_position_mm=camera_position_mm, camera_angle_deg=camera_angle_deg)
                     if perturbed else None)
    with PushGraspEnv(SimConfig(randomization=randomization)) as env:
        env.reset(seed, 0)
        physics, robot = env.physics, env.robot
        with marker_camera(physics, replace(env.config.camera, seed=seed)) as camera:
            true_pose = camera.camera_pose(physics.data)

            def grab_frame() -> tuple[np.ndarray, np.ndarray]:
                color, _ = camera.render_rgbd(physics.data)
                return color, camera.intrinsics

            result = collect_and_solve(robot, grab_frame, marker_in_tcp(physics.model), layout.points(),
                                       CALIBRATION_YAW, speed=speed, accel=accel, tcp_pose=physics.tcp_pose)
    position_error, rotation_error = pose_difference(result.camera_pose, true_pose)
    skipped = result.metadata['unreachable'] + result.metadata['not_found']
    calibration_file = None
    if out is not None:
        metadata = {'source': 'pushgrasp_sim.calibration.calibrate_sim', 'seed': int(seed),
                    'grid': list(layout.shape), 'camera_position_mm': float(camera_position_mm),
                    'camera_angle_deg': float(camera_angle_deg),
                    'simulator_position_error_mm': round(position_error, 4),
                    'simulator_rotation_error_deg': round(rotation_error, 5)}
        calibration_file = os.fspath(save_calibration(out, result, metadata))
    return {'position_error_mm': position_error, 'rotation_error_deg': rotation_error,
            'rms_reprojection_px': result.rms_reprojection_px, 'residual_mm': result.residual_mm,
            'num_points': result.num_points, 'num_poses': result.metadata['poses'], 'num_skipped': skipped,
            'rejected_outliers': result.metadata['rejected_outliers'], 'calibration_file': calibration_file,
            'camera_pose': result.camera_pose.tolist(), 'true_camera_pose': true_pose.tolist()}

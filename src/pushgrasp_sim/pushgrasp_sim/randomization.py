# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Per-episode domain randomisation of a compiled work-cell model, for sim-to-real transfer.

Each effect is one field of `RandomizationOptions` holding its range; every effect is off by default.
`DomainRandomizer` remembers the model's nominal values when it is created, and every `apply` starts from
them, so effects never accumulate over episodes; `restore` puts the nominal model back.

Changes to the camera pose and to the lights act through MuJoCo's kinematics: call mujoco.mj_forward (or
step) after `apply` before rendering. Masses are scaled in place without mj_setConst, so constraint
scaling computed at compile time (dof_invweight0) keeps its nominal value, which is fine for modest scales.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import mujoco
import numpy as np

from pushgrasp_sim.camera import CAMERA_NAME
from pushgrasp_sim.scene import scene_objects


@dataclass
class RandomizationOptions:
    """The randomised quantities and their ranges; zero or None switches an effect off."""

    camera_position_mm: float = 0.0
    """Camera position offset: uniform in [-v, v] mm along each base axis."""
    camera_angle_deg: float = 0.0
    """Camera orientation: a rotation about a random axis by an angle uniform in [0, v] degrees."""
    light_intensity_scale: tuple[float, float] | None = None
    """Every light's ambient, diffuse and specular colour scaled by one factor uniform in this range."""
    light_direction_deg: float = 0.0
    """Each light's direction tilted about a random axis by an angle uniform in [0, v] degrees."""
    object_color_jitter: float = 0.0
    """Each object's RGB (0..1) moved by uniform [-v, v] per channel from its nominal (palette) colour."""
    friction: tuple[float, float] | None = None
    """Each object's sliding friction coefficient, uniform in this range."""
    mass_scale: tuple[float, float] | None = None
    """Each object's mass and inertia scaled by a factor uniform in this range."""
    camera: str = CAMERA_NAME
    """The camera whose pose is jittered."""


def _random_rotation(rng: np.random.Generator, max_angle_rad: float) -> np.ndarray:
    """A 3x3 rotation about a uniformly random axis by an angle uniform in [0, max_angle_rad]."""
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    angle = rng.uniform(0.0, max_angle_rad)
    k = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]])
    return np.eye(3) + math.sin(angle) * k + (1.0 - math.cos(angle)) * (k @ k)


@dataclass
class _Nominal:
    cam_pos: np.ndarray
    cam_quat: np.ndarray
    light_ambient: np.ndarray
    light_diffuse: np.ndarray
    light_specular: np.ndarray
    light_dir: np.ndarray
    geom_rgba: np.ndarray
    geom_friction: np.ndarray
    body_mass: np.ndarray
    body_inertia: np.ndarray
    object_geoms: list[np.ndarray] = field(default_factory=list)
    object_bodies: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))


class DomainRandomizer:
    """Applies RandomizationOptions to a compiled model, always starting from its nominal values."""

    def __init__(self, model: mujoco.MjModel, options: RandomizationOptions | None = None) -> None:
        """Remember the nominal values of `model` (call before any other change to it)."""
        self.options = options if options is not None else RandomizationOptions()
        self.camera_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, self.options.camera)
        bodies, geoms = [], []
        for obj in scene_objects(model):
            body = model.body(obj.body_name)
            bodies.append(body.id)
            geoms.append(np.arange(body.geomadr[0], body.geomadr[0] + body.geomnum[0]))
        self._nominal = _Nominal(
            cam_pos=model.cam_pos.copy(), cam_quat=model.cam_quat.copy(), light_ambient=model.light_ambient.copy(),
            light_diffuse=model.light_diffuse.copy(), light_specular=model.light_specular.copy(),
            light_dir=model.light_dir.copy(), geom_rgba=model.geom_rgba.copy(),
            geom_friction=model.geom_friction.copy(), body_mass=model.body_mass.copy(),
            body_inertia=model.body_inertia.copy(), object_geoms=geoms, object_bodies=np.asarray(bodies, dtype=int))

    def restore(self, model: mujoco.MjModel) -> None:
        """Put the nominal values back."""
        n = self._nominal
        model.cam_pos[:] = n.cam_pos
        model.cam_quat[:] = n.cam_quat
        model.light_ambient[:] = n.light_ambient
        model.light_diffuse[:] = n.light_diffuse
        model.light_specular[:] = n.light_specular
        model.light_dir[:] = n.light_dir
        model.geom_rgba[:] = n.geom_rgba
        model.geom_friction[:] = n.geom_friction
        model.body_mass[:] = n.body_mass
        model.body_inertia[:] = n.body_inertia

    def apply(self, model: mujoco.MjModel, rng: np.random.Generator) -> dict[str, Any]:
        """Restore the nominal model, then randomise every enabled effect; returns what was drawn."""
        self.restore(model)
        o, n = self.options, self._nominal
        drawn: dict[str, Any] = {}
        if self.camera_id >= 0 and (o.camera_position_mm > 0 or o.camera_angle_deg > 0):
            offset = rng.uniform(-o.camera_position_mm, o.camera_position_mm, size=3) / 1000.0
            rotation = _random_rotation(rng, math.radians(o.camera_angle_deg))
            model.cam_pos[self.camera_id] = n.cam_pos[self.camera_id] + offset
            nominal = np.empty(9)
            mujoco.mju_quat2Mat(nominal, n.cam_quat[self.camera_id])
            quat = np.empty(4)
            mujoco.mju_mat2Quat(quat, (rotation @ nominal.reshape(3, 3)).ravel())
            model.cam_quat[self.camera_id] = quat
            drawn['camera_offset'] = offset
            drawn['camera_rotation'] = rotation
        if o.light_intensity_scale is not None and model.nlight > 0:
            scale = rng.uniform(*o.light_intensity_scale)
            model.light_ambient[:] = np.clip(n.light_ambient * scale, 0.0, 1.0)
            model.light_diffuse[:] = np.clip(n.light_diffuse * scale, 0.0, 1.0)
            model.light_specular[:] = np.clip(n.light_specular * scale, 0.0, 1.0)
            drawn['light_intensity_scale'] = scale
        if o.light_direction_deg > 0 and model.nlight > 0:
            for light in range(model.nlight):
                direction = _random_rotation(rng, math.radians(o.light_direction_deg)) @ n.light_dir[light]
                model.light_dir[light] = direction / np.linalg.norm(direction)
            drawn['light_dir'] = model.light_dir.copy()
        count = len(n.object_geoms)
        if o.object_color_jitter > 0 and count:
            offsets = rng.uniform(-o.object_color_jitter, o.object_color_jitter, size=(count, 3))
            for geoms, offset in zip(n.object_geoms, offsets, strict=True):
                model.geom_rgba[geoms, :3] = np.clip(n.geom_rgba[geoms, :3] + offset, 0.0, 1.0)
            drawn['object_color_offsets'] = offsets
        if o.friction is not None and count:
            frictions = rng.uniform(*o.friction, size=count)
            for geoms, friction in zip(n.object_geoms, frictions, strict=True):
                model.geom_friction[geoms, 0] = friction
            drawn['object_friction'] = frictions
        if o.mass_scale is not None and count:
            scales = rng.uniform(*o.mass_scale, size=count)
            model.body_mass[n.object_bodies] = n.body_mass[n.object_bodies] * scales
            model.body_inertia[n.object_bodies] = n.body_inertia[n.object_bodies] * scales[:, None]
            drawn['object_mass_scale'] = scales
        return drawn

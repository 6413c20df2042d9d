# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""What `pushgrasp scene` and `pushgrasp bench sim` do: scene pictures and reports, speed and soak figures."""

from __future__ import annotations

import gc
import resource
import time
from pathlib import Path
from typing import Any

import cv2
import mujoco
import numpy as np

from pushgrasp_control.primitives import PrimitiveType, primitive_from_pixel
from pushgrasp_perception.projection import heightmap_from_rgbd
from pushgrasp_perception.workspace import Workspace
from pushgrasp_sim.env import Observation, PushGraspEnv


def peak_rss_mb() -> float:
    """Peak resident memory of this process, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb() -> float:
    """Resident memory of this process now, MB (Linux)."""
    with open('/proc/self/statm') as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def top_view(observation: Observation, workspace: Workspace) -> np.ndarray:
    """The colour heightmap of a frame: an orthographic top view of the workspace (rows along +y)."""
    color, _ = heightmap_from_rgbd(observation.color, observation.depth, observation.intrinsics,
                                   observation.camera_pose, workspace)
    return color


def scene_picture(observation: Observation, workspace: Workspace) -> np.ndarray:
    """The camera image beside the top view, as one RGB picture."""
    top = top_view(observation, workspace)
    height = observation.color.shape[0]
    top = cv2.resize(top, (height, height), interpolation=cv2.INTER_NEAREST)
    gap = np.full((height, 8, 3), 255, np.uint8)
    return np.concatenate([observation.color, gap, top], axis=1)


def scene_report(seed: int, scene: int | str, png: str | None = None) -> dict[str, Any]:
    """Build a scene (N random objects or a test-case file), let it settle, describe it, optionally draw it."""
    with PushGraspEnv() as env:
        observation = env.reset(seed, scene)
        states = env.object_states()
        report = {
            'seed': seed,
            'scene': scene if isinstance(scene, int) else str(scene),
            'objects': [{'shape': s.shape, 'color': [round(float(c), 4) for c in s.color_rgb01],
                         'position': [round(float(p), 5) for p in s.position],
                         'quaternion_wxyz': [round(float(q), 6) for q in s.quaternion],
                         'inside_workspace': bool(s.inside_workspace)} for s in states],
            'skipped_lines': [getattr(line, 'line_number', None) for line in env.scene.report.skipped_lines],
            'redrops': env.scene.report.redrops,
        }
        if png:
            Path(png).parent.mkdir(parents=True, exist_ok=True)
            picture = scene_picture(observation, env.config.workspace)
            cv2.imwrite(png, cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    return report


def random_primitive(observation: Observation, env: PushGraspEnv, rng: np.random.Generator):
    """A random push or grasp on an occupied pixel (on the table when the workspace is empty)."""
    workspace = env.config.workspace
    _, height = heightmap_from_rgbd(observation.color, observation.depth, observation.intrinsics,
                                    observation.camera_pose, workspace)
    occupied = np.argwhere(height > 0.01)
    if len(occupied):
        row, col = occupied[rng.integers(len(occupied))]
    else:
        row, col = rng.integers(0, height.shape[0]), rng.integers(0, height.shape[1])
    kind = PrimitiveType.GRASP if rng.random() < 0.5 else PrimitiveType.PUSH
    return primitive_from_pixel(kind, int(rng.integers(16)), int(row), int(col), height, workspace)


def run_sim_benchmark(seed: int = 0, primitives: int = 30, frames: int = 60, num_objects: int = 10) -> dict[str, Any]:
    """Primitives per second (each with one RGB-D frame), physics steps per second, RGB-D fps, peak memory."""
    rng = np.random.default_rng(seed)
    with PushGraspEnv() as env:
        observation = env.reset(seed, num_objects)
        # RGB-D frames per second at 640x480.
        started = time.perf_counter()
        for _ in range(frames):
            env.render()
        rgbd_fps = frames / (time.perf_counter() - started)
        # Primitives per second, one frame rendered per primitive (inside step), resetting empty scenes.
        busy, done = 0.0, 0
        while done < primitives:
            primitive = random_primitive(observation, env, rng)
            started = time.perf_counter()
            observation, info = env.step(primitive)
            busy += time.perf_counter() - started
            done += 1
            if info.objects_remaining == 0:
                observation = env.reset(int(rng.integers(1 << 30)), num_objects)
        primitives_per_s = primitives / busy
        # Raw physics steps per second of the settled scene with the arm holding still.
        model, data = env.physics.model, env.physics.data
        started = time.perf_counter()
        mujoco.mj_step(model, data, nstep=2000)
        physics_steps_per_s = 2000 / (time.perf_counter() - started)
    return {'primitives_per_s': primitives_per_s, 'physics_steps_per_s': physics_steps_per_s,
            'rgbd_fps': rgbd_fps, 'peak_rss_mb': peak_rss_mb(), 'num_objects': num_objects,
            'primitives': primitives, 'frames': frames, 'resolution': '640x480', 'seed': seed}


def run_soak(seed: int = 0, scenes: int = 500, primitives_per_scene: int = 1, num_objects: int = 10,
             warmup: int | None = None) -> dict[str, Any]:
    """Consecutive random scenes with random primitives: crashes, explosions and memory growth.

    Memory growth compares the resident memory after `warmup` scenes (default a quarter of them: the
    allocators, GL and MuJoCo pools fill up during the first few dozen scenes and then stay flat) with the
    end; a leak shows as steady growth over hundreds of scenes.
    """
    warmup = max(1, scenes // 4) if warmup is None else warmup
    rng = np.random.default_rng(seed)
    unstable, resimulated, failures, baseline = [], [], [], None
    with PushGraspEnv() as env:
        for index in range(scenes):
            if index == warmup:
                gc.collect()
                baseline = current_rss_mb()
            try:
                observation = env.reset(int(rng.integers(1 << 30)), num_objects)
                for _ in range(primitives_per_scene):
                    observation, info = env.step(random_primitive(observation, env, rng))
                    if info.unstable:
                        unstable.append({'scene': index, 'error': info.error})
                    elif info.resimulated > 1:
                        resimulated.append({'scene': index, 'timestep_divisor': info.resimulated})
            except Exception as error:  # a soak run reports every failure instead of stopping at the first
                failures.append({'scene': index, 'error': repr(error)})
        gc.collect()
        final = current_rss_mb()
    baseline = baseline if baseline is not None else final
    return {'scenes': scenes, 'primitives_per_scene': primitives_per_scene, 'num_objects': num_objects,
            'failures': failures, 'unstable': unstable, 'resimulated': resimulated,
            'rss_start_mb': baseline, 'rss_end_mb': final,
            'memory_growth_percent': 100.0 * (final - baseline) / baseline, 'seed': seed}

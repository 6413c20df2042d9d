# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""`pushgrasp bench perception`: milliseconds per 640x480 RGB-D frame for heightmaps, fusion and point clouds.

The frames are synthetic (`synthetic_rgbd.random_block_views`): a seeded scene of benchmark blocks seen
obliquely by two cameras from opposite sides, depth as uint16 millimetres like a RealSense camera sends it.
Every figure is the median over `repeats` calls (a fifth of that for the slow point cloud and reference),
spread over five rounds through all the steps, after at least 0.3 s of warm-up calls of each (which also
fill the cache of per-camera ray coefficients, as it is filled in a running node, and grow the heap).
The compute figures are taken with every thread of the process pinned to ONE core and open3d limited to
one thread (numpy's element-wise work is single-threaded anyway; the pinning also keeps idle BLAS threads
on that core). `reference_ms` times `reference_heightmap`, the straightforward sort-based version of the reference
system, on the same frame; reference_ratio = reference_ms / heightmap_ms.

`node_latency_ms` (when ROS 2 is importable) is the median time from publishing a colour image to receiving
its Heightmap through a PerceptionNode over DDS (`ros/latency.py`); it is taken with the usual affinity.
"""

from __future__ import annotations

import itertools
import os
import platform
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from pushgrasp_perception.fusion import fuse_heightmaps
from pushgrasp_perception.pointcloud import open3d_threads, workspace_point_cloud
from pushgrasp_perception.projection import DEFAULT_TABLE_TOLERANCE, project_rgbd
from pushgrasp_perception.synthetic_rgbd import random_block_views
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE, Workspace


def reference_heightmap(color: np.ndarray, depth: np.ndarray, intrinsics: np.ndarray, camera_pose: np.ndarray,
                        workspace: Workspace, depth_scale: float | None = None,
                        table_tolerance: float = DEFAULT_TABLE_TOLERANCE) -> tuple[np.ndarray, np.ndarray]:
    """The straightforward sort-based heightmap of the reference system: (color_heightmap, height_heightmap).

    Back-project every pixel in float64, sort all points by z, drop those outside the box, then assign
    them to their cells in that order, so that the highest point of a cell is written last and wins.
    Same conventions and result as `project_rgbd` (the stable sort lets the largest pixel index win exact
    ties there too); kept as the yardstick of the benchmark, not for use.
    """
    if depth_scale is None:
        depth_scale = 1.0 if np.issubdtype(depth.dtype, np.floating) else 0.001
    height, width = depth.shape
    pixel_x, pixel_y = np.meshgrid(np.arange(width), np.arange(height))
    z = depth.astype(np.float64).ravel() * depth_scale
    x = (pixel_x.ravel() - intrinsics[0, 2]) * z / intrinsics[0, 0]
    y = (pixel_y.ravel() - intrinsics[1, 2]) * z / intrinsics[1, 1]
    colors = color.reshape(-1, 3)
    usable = np.isfinite(z) & (z > 0)
    x, y, z, colors = x[usable], y[usable], z[usable], colors[usable]
    # The rigid transform written out (the reference uses a BLAS product, whose idle threads spin on the core).
    rotation, translation = camera_pose[:3, :3], camera_pose[:3, 3]
    points = np.stack([rotation[i, 0] * x + rotation[i, 1] * y + rotation[i, 2] * z + translation[i]
                       for i in range(3)], axis=1)

    order = np.argsort(points[:, 2], kind='stable')
    points, colors = points[order], colors[order]
    inside = ((points[:, 0] >= workspace.x_min) & (points[:, 0] < workspace.x_max)
              & (points[:, 1] >= workspace.y_min) & (points[:, 1] < workspace.y_max)
              & (points[:, 2] >= workspace.z_min - table_tolerance) & (points[:, 2] <= workspace.z_max))
    points, colors = points[inside], colors[inside]
    rows, cols = workspace.shape
    pixel_col = np.floor((points[:, 0] - workspace.x_min) / workspace.resolution).astype(int)
    pixel_row = np.floor((points[:, 1] - workspace.y_min) / workspace.resolution).astype(int)
    keep = (pixel_col < cols) & (pixel_row < rows)  # x_max itself rounds into the next cell
    pixel_col, pixel_row, points, colors = pixel_col[keep], pixel_row[keep], points[keep], colors[keep]
    color_heightmap = np.zeros((rows, cols, 3), dtype=np.uint8)
    for channel in range(3):
        color_heightmap[pixel_row, pixel_col, channel] = colors[:, channel]
    height_heightmap = np.zeros((rows, cols), dtype=np.float64)
    height_heightmap[pixel_row, pixel_col] = points[:, 2]
    height_heightmap = height_heightmap - workspace.z_min
    height_heightmap[height_heightmap < 0] = 0
    return color_heightmap, height_heightmap.astype(np.float32)


def time_ms(steps: dict[str, tuple[Callable[[], Any], int]], rounds: int = 5, warmup: int = 3,
            warmup_s: float = 0.3) -> dict[str, float]:
    """Median wall time in milliseconds of each step, by name; a step is (function, number of timed calls).

    Each function first runs at least `warmup` times and for at least `warmup_s` seconds: the first calls in
    a process also pay for growing its heap (and, in a virtual machine, for the host mapping fresh pages).
    The timed calls are then spread over `rounds` rounds that go through all the steps in turn, so that a
    passing disturbance (another process on the core) hits all steps a little rather than one a lot.
    """
    for function, _ in steps.values():
        start = time.perf_counter()
        for call in itertools.count():
            if call >= warmup and time.perf_counter() - start >= warmup_s:
                break
            function()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for round_index in range(rounds):
        for name, (function, calls) in steps.items():
            # This round's share of the calls (the shares add up to max(calls, rounds)).
            for _ in range(max(1, (calls * (round_index + 1)) // rounds - (calls * round_index) // rounds)):
                start = time.perf_counter()
                function()
                times[name].append(time.perf_counter() - start)
    return {name: float(np.median(values) * 1e3) for name, values in times.items()}


def _threads() -> list[int]:
    try:
        return [int(name) for name in os.listdir('/proc/self/task')]
    except OSError:
        return [0]  # the calling thread


def _idle_ticks() -> dict[int, int]:
    ticks = {}
    with open('/proc/stat', encoding='ascii') as stream:
        for line in stream:
            name, *values = line.split()
            if name.startswith('cpu') and name != 'cpu':
                ticks[int(name[3:])] = int(values[3]) + int(values[4])  # idle + iowait
    return ticks


def idlest_cpu(allowed: set[int], window_s: float = 0.1) -> int:
    """The CPU of `allowed` that was idle longest during the next `window_s` seconds (the lowest on ties)."""
    try:
        before = _idle_ticks()
        time.sleep(window_s)
        after = _idle_ticks()
    except (OSError, ValueError, IndexError):
        return min(allowed)
    return max(sorted(allowed), key=lambda cpu: after.get(cpu, 0) - before.get(cpu, 0))


@contextmanager
def one_core() -> Iterator[int | None]:
    """Pin every thread of this process to one CPU for the duration (Linux); yields it, or None when unsupported.

    The CPU is the one that was idlest just before. Threads started inside inherit the pinning (open3d's thread
    pool included); the old affinities are restored.
    """
    if not hasattr(os, 'sched_setaffinity'):
        yield None
        return
    cpu = idlest_cpu(os.sched_getaffinity(0))
    saved = {}
    for thread in _threads():
        try:
            saved[thread] = os.sched_getaffinity(thread)
            os.sched_setaffinity(thread, {cpu})
        except OSError:  # the thread ended meanwhile
            saved.pop(thread, None)
    try:
        yield cpu
    finally:
        for thread, cpus in saved.items():
            try:
                os.sched_setaffinity(thread, cpus)
            except OSError:
                pass


def measure_node_latency(frames: int = 30, seed: int = 0, timeout_s: float = 2.0) -> float:
    """Median milliseconds from publishing an RGB-D frame to receiving its Heightmap from a PerceptionNode.

    Runs the node in-process over DDS; see `pushgrasp_perception.ros.latency.node_latency_samples` (this
    wrapper keeps ROS out of the imports of this module).
    """
    from pushgrasp_perception.ros.latency import node_latency_samples
    return node_latency_samples(frames=frames, seed=seed, timeout_s=timeout_s).median_ms


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux, else what `platform` knows)."""
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as stream:
            for line in stream:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_perception_benchmark(seed: int = 0, repeats: int = 50, node_latency: bool = True,
                             workspace: Workspace = DEFAULT_WORKSPACE, warmup_s: float = 0.3,
                             latency_frames: int = 30) -> dict[str, Any]:
    """Measure the perception steps on synthetic 640x480 frames (see the module docstring); the figures by name.

    Keys: heightmap_ms (one uint16-millimetre frame), heightmap_float32_ms (the same frame in float32
    metres), fusion2_ms (two cameras), fusion2_median3_ms (with the 3x3 hole filling), pointcloud_ms
    (crop, 4 mm voxels, outlier removal), reference_ms and reference_ratio, node_latency_ms and
    node_latency_frames (over `latency_frames` frames; absent when `node_latency` is False or ROS 2 cannot be
    imported; node_latency_error instead when the nodes could not discover each other), and the set-up:
    frame, points_in_workspace, repeats, seed, cores, cpu, machine, numpy. `warmup_s`: see `time_ms`.
    """
    views = random_block_views(seed, width=640, height=480)
    view = views[0]
    metres = view.depth.astype(np.float32) * np.float32(0.001)
    figures: dict[str, Any] = {'frame': '640x480', 'repeats': repeats, 'seed': seed}
    frames = [view.color, view.depth, view.intrinsics, view.camera_pose]
    steps: dict[str, tuple[Callable[[], Any], int]] = {
        'heightmap_ms': (lambda: project_rgbd(*frames, workspace), repeats),
        'heightmap_float32_ms': (lambda: project_rgbd(view.color, metres, *frames[2:], workspace), repeats),
        'fusion2_ms': (lambda: fuse_heightmaps(views, workspace), repeats),
        'fusion2_median3_ms': (lambda: fuse_heightmaps(views, workspace, median_filter=3), repeats),
        'pointcloud_ms': (lambda: workspace_point_cloud(*frames, workspace), max(1, repeats // 5)),
        'reference_ms': (lambda: reference_heightmap(*frames, workspace), max(1, repeats // 5)),
    }
    with one_core() as cpu, open3d_threads(1):
        figures.update(time_ms(steps, warmup_s=warmup_s))
    figures['reference_ratio'] = figures['reference_ms'] / figures['heightmap_ms']
    figures['points_in_workspace'] = project_rgbd(*frames, workspace).num_points
    figures['cores'] = 1 if cpu is not None else os.cpu_count()
    figures['cpu'] = cpu_model()
    figures['machine'] = f'{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs'
    figures['numpy'] = np.__version__
    if node_latency:
        try:
            from pushgrasp_perception.ros.latency import node_latency_samples
        except ImportError:
            return figures
        try:
            samples = node_latency_samples(frames=latency_frames, seed=seed)
        except RuntimeError as error:  # no DDS discovery: the other figures still stand
            figures['node_latency_error'] = str(error)
            return figures
        figures['node_latency_ms'] = samples.median_ms
        figures['node_latency_frames'] = len(samples.latencies_ms)
    return figures

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The perception benchmark: its sort-based reference agrees with the fast heightmap, its figures, node latency.

Timing targets are checked by `pushgrasp bench perception`, not here: these tests only check that the
benchmark measures the right things.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import pushgrasp_perception
from pushgrasp_perception.bench import measure_node_latency, reference_heightmap, run_perception_benchmark
from pushgrasp_perception.projection import project_rgbd, ray_coefficients
from pushgrasp_perception.ros.latency import node_latency_samples
from pushgrasp_perception.synthetic_rgbd import random_block_views
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE


@pytest.mark.parametrize('seed', [0, 1])
def test_reference_agrees_with_the_fast_heightmap(seed):
    for view in random_block_views(seed):
        color, height = reference_heightmap(view.color, view.depth, view.intrinsics, view.camera_pose,
                                            DEFAULT_WORKSPACE)
        fast = project_rgbd(view.color, view.depth, view.intrinsics, view.camera_pose, DEFAULT_WORKSPACE)
        assert fast.valid.mean() > 0.6 and height.max() > 0.04
        # float64 against float32: only points within float rounding of a cell border may land differently.
        close = np.abs(fast.height - height) <= 1e-5
        assert close.mean() > 0.999
        assert (fast.color == color).all(axis=-1).mean() > 0.999


def test_public_api_and_cached_rays(box_scene):
    color, height = pushgrasp_perception.heightmap_from_rgbd(box_scene.color, box_scene.depth, box_scene.intrinsics,
                                                             box_scene.camera_pose, DEFAULT_WORKSPACE)
    assert color.shape == (224, 224, 3) and abs(float(height.max()) - 0.06) <= 0.001
    first = ray_coefficients(box_scene.intrinsics, box_scene.camera_pose, (480, 640), DEFAULT_WORKSPACE)
    again = ray_coefficients(box_scene.intrinsics.copy(), box_scene.camera_pose.copy(), (480, 640), DEFAULT_WORKSPACE)
    assert first[0] is again[0] and not first[0].flags.writeable
    moved = box_scene.camera_pose.copy()
    moved[0, 3] += 0.01
    other = ray_coefficients(box_scene.intrinsics, moved, (480, 640), DEFAULT_WORKSPACE)
    # Moving the camera 1 cm along x moves every point 5 cells along the columns.
    np.testing.assert_allclose(other[1][0] - first[1][0], 5.0, atol=1e-4)
    np.testing.assert_array_equal(other[0], first[0])


def test_benchmark_figures():
    figures = run_perception_benchmark(seed=0, repeats=2, node_latency=False, warmup_s=0.0)
    timed = ('heightmap_ms', 'heightmap_float32_ms', 'fusion2_ms', 'fusion2_median3_ms', 'pointcloud_ms',
             'reference_ms')
    for key in timed:
        assert math.isfinite(figures[key]) and 0 < figures[key] < 10_000, key
    assert figures['reference_ratio'] == pytest.approx(figures['reference_ms'] / figures['heightmap_ms'])
    assert figures['frame'] == '640x480' and figures['points_in_workspace'] > 100_000
    assert 'node_latency_ms' not in figures


def test_node_latency_round_trip():
    samples = node_latency_samples(frames=5, warmup=1)
    # Every frame came back as a Heightmap carrying the input stamp, once, in order.
    assert len(samples.sent_stamps) == 5 and samples.lost == 0
    assert samples.received_stamps == samples.sent_stamps
    assert len(samples.latencies_ms) == 5 and all(0 < latency < 2000 for latency in samples.latencies_ms)
    assert samples.median_ms == pytest.approx(float(np.median(samples.latencies_ms)))
    assert 0 < measure_node_latency(frames=2) < 2000

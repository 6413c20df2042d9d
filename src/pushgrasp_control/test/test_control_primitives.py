# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Rotation bookkeeping and the pixel -> base-frame mapping of primitives."""

import math

import numpy as np
import pytest

from pushgrasp_control.primitives import PrimitiveType, primitive_from_pixel, rotation_angle
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE, Workspace


def test_rotation_index_to_angle():
    assert rotation_angle(0, 16) == 0.0
    assert rotation_angle(4, 16) == pytest.approx(math.pi / 2)
    assert rotation_angle(8, 16) == pytest.approx(math.pi)
    assert rotation_angle(15, 16) == pytest.approx(15 * 2 * math.pi / 16)
    assert rotation_angle(1, 4) == pytest.approx(math.pi / 2)
    for bad in (-1, 16):
        with pytest.raises(ValueError):
            rotation_angle(bad, 16)


@pytest.mark.parametrize('index, direction', [(0, (1, 0)), (4, (0, 1)), (8, (-1, 0)), (12, (0, -1)),
                                              (2, (math.sqrt(0.5), math.sqrt(0.5)))])
def test_push_direction_and_yaw_follow_rotation(index, direction):
    height = np.zeros(DEFAULT_WORKSPACE.shape, np.float32)
    push = primitive_from_pixel(PrimitiveType.PUSH, index, 100, 120, height, DEFAULT_WORKSPACE)
    assert push.yaw == pytest.approx(index * 2 * math.pi / 16)
    assert push.rotation_angle == pytest.approx(push.yaw)
    np.testing.assert_allclose(push.push_direction, [*direction, 0.0], atol=1e-12)
    assert push.push_length == pytest.approx(0.1)
    np.testing.assert_allclose(push.push_end, push.position + 0.1 * np.array([*direction, 0.0]), atol=1e-12)


def test_grasp_has_no_push_stroke():
    height = np.zeros(DEFAULT_WORKSPACE.shape, np.float32)
    grasp = primitive_from_pixel(PrimitiveType.GRASP, 5, 10, 20, height, DEFAULT_WORKSPACE)
    assert grasp.type == PrimitiveType.GRASP
    np.testing.assert_array_equal(grasp.push_direction, np.zeros(3))
    assert grasp.push_length == 0.0
    assert grasp.yaw == pytest.approx(5 * 2 * math.pi / 16)


def test_pixel_to_base_position():
    workspace = Workspace(x_min=0.3, x_max=0.5, y_min=-0.1, y_max=0.1, z_min=0.02, z_max=0.3, resolution=0.002)
    rows, cols = workspace.shape
    assert (rows, cols) == (100, 100)
    height = np.zeros((rows, cols), np.float32)
    height[10, 70] = 0.04
    grasp = primitive_from_pixel(PrimitiveType.GRASP, 0, 10, 70, height, workspace)
    # Columns run along +x, rows along +y, z is the surface height above the table.
    np.testing.assert_allclose(grasp.position, [0.3 + 70.5 * 0.002, -0.1 + 10.5 * 0.002, 0.02 + 0.04], atol=1e-7)
    assert workspace.base_to_pixel(grasp.position[0], grasp.position[1]) == (10, 70)
    corner = primitive_from_pixel(PrimitiveType.PUSH, 0, 0, 0, height, workspace)
    np.testing.assert_allclose(corner.position, [0.301, -0.099, 0.02], atol=1e-9)
    with pytest.raises(ValueError):
        primitive_from_pixel(PrimitiveType.PUSH, 0, 100, 0, height, workspace)

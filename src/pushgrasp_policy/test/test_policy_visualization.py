# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Pictures of Q-maps and primitives: projection into the camera, overlays and drawings land where they should."""

import numpy as np
import pytest

from pushgrasp_control.primitives import PrimitiveType, primitive_from_pixel
from pushgrasp_perception import DEFAULT_WORKSPACE
from pushgrasp_policy.visualization import draw_on_camera, project, qmap_overlay

K = np.array([[600.0, 0.0, 320.0], [0.0, 600.0, 240.0], [0.0, 0.0, 1.0]])
# A camera 1 m above (0.5, 0, 0) looking straight down: camera x = base -y, camera y = base -x.
TOP_DOWN = np.array([[0.0, -1.0, 0.0, 0.5], [-1.0, 0.0, 0.0, 0.0], [0.0, 0.0, -1.0, 1.0], [0.0, 0.0, 0.0, 1.0]])


def test_project_puts_points_where_the_pinhole_model_says():
    pixels = project(np.array([[0.5, 0.0, 0.0], [0.4, -0.1, 0.0]]), TOP_DOWN, K)
    np.testing.assert_allclose(pixels[0], [320.0, 240.0])
    np.testing.assert_allclose(pixels[1], [320.0 + 60.0, 240.0 + 60.0])


def test_drawing_a_grasp_marks_the_image_around_its_pixel():
    height = np.zeros(DEFAULT_WORKSPACE.shape, np.float32)
    row, col = DEFAULT_WORKSPACE.base_to_pixel(0.5, 0.0)
    grasp = primitive_from_pixel(PrimitiveType.GRASP, 0, row, col, height, DEFAULT_WORKSPACE)
    image = np.zeros((480, 640, 3), np.uint8)
    drawn = draw_on_camera(image, grasp, TOP_DOWN, K, 'grasp')
    assert image.max() == 0, 'the input image is not modified'
    assert drawn[235:246, 290:351].max() == 255, 'the jaw axis is drawn through the grasp point'
    assert drawn[400:, :].max() == 0


def test_overlay_refuses_a_q_map_of_another_size():
    with pytest.raises(ValueError, match='does not match'):
        qmap_overlay(np.zeros((10, 10, 3), np.uint8), np.zeros((5, 5), np.float32))

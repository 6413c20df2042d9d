# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Pictures of Q-maps and primitives: projection into the camera, overlays and drawings land where they should."""

import numpy as np
import pytest

from pushgrasp_control.primitives import PrimitiveType, primitive_from_pixel
from pushgrasp_perception import DEFAULT_WORKSPACE
from pushgrasp_policy.decision import Decision
from pushgrasp_policy.visualization import (GRIPPER_OPENING_M, chosen_primitive_overlay, draw_on_camera,
                                            masked_qmap_overlay, primitive_geometry, project, qmap_overlay)

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


@pytest.mark.parametrize('rotation', [0, 3, 6, 11])
def test_grasp_geometry_has_two_fingers_85_mm_apart_along_the_jaw_axis(rotation):
    height = np.zeros(DEFAULT_WORKSPACE.shape, np.float32)
    height[80:100, 80:100] = 0.04
    grasp = primitive_from_pixel(PrimitiveType.GRASP, rotation, 90, 90, height, DEFAULT_WORKSPACE)
    geometry = primitive_geometry(grasp)
    assert geometry.arrow.shape == (0, 3) and geometry.gripper_lines.shape == (6, 3)
    np.testing.assert_allclose(geometry.point, grasp.position)
    (tip_a, top_a), (tip_b, top_b), (bar_a, bar_b) = geometry.gripper_lines.reshape(3, 2, 3)
    axis = np.array([np.cos(grasp.yaw), np.sin(grasp.yaw), 0.0])
    np.testing.assert_allclose(tip_b - tip_a, GRIPPER_OPENING_M * axis, atol=1e-12)  # 85 mm along the jaw axis
    np.testing.assert_allclose((tip_a + tip_b) / 2, grasp.position, atol=1e-12)
    assert tip_a[2] == pytest.approx(0.04)  # the fingers end on the surface ...
    for tip, top in ((tip_a, top_a), (tip_b, top_b)):  # ... and stand vertical
        np.testing.assert_allclose(top[:2], tip[:2])
        assert top[2] > tip[2]
    np.testing.assert_allclose([bar_a, bar_b], [top_a, top_b])  # the bar joins the finger tops
    assert geometry.label[2] > top_a[2]


@pytest.mark.parametrize('rotation', [0, 5, 13])
def test_push_geometry_is_an_arrow_of_the_push_length_along_the_push(rotation):
    height = np.full(DEFAULT_WORKSPACE.shape, 0.02, np.float32)
    push = primitive_from_pixel(PrimitiveType.PUSH, rotation, 40, 150, height, DEFAULT_WORKSPACE, push_length=0.12)
    geometry = primitive_geometry(push)
    assert geometry.gripper_lines.shape == (0, 3)
    start, end = geometry.arrow
    np.testing.assert_allclose(start, push.position + [0.0, 0.0, 0.01])  # 1 cm above the surface
    np.testing.assert_allclose(end - start, 0.12 * push.push_direction, atol=1e-12)
    assert np.linalg.norm(end - start) == pytest.approx(0.12)
    np.testing.assert_allclose(end, push.push_end + [0.0, 0.0, 0.01])


def test_masked_overlay_leaves_non_finite_cells_uncoloured():
    color = np.full((6, 8, 3), 40, np.uint8)
    q = np.linspace(0.0, 1.0, 48, dtype=np.float32).reshape(6, 8)
    q[0, 0], q[1, 1] = -np.inf, np.nan
    overlay = masked_qmap_overlay(color, q)
    assert (overlay[0, 0] == 40).all() and (overlay[1, 1] == 40).all() and (overlay[5, 7] != 40).any()
    np.testing.assert_array_equal(masked_qmap_overlay(color, np.full((6, 8), -np.inf, np.float32)), color)


def test_chosen_overlay_draws_the_primitive_on_its_q_map_at_its_rotation():
    height = np.zeros(DEFAULT_WORKSPACE.shape, np.float32)
    rows, cols = DEFAULT_WORKSPACE.shape
    grasp_q = np.zeros((16, rows, cols), np.float32)
    grasp_q[4, :, cols // 2:] = 1.0  # only rotation 4 has a right half worth grasping
    push_q = np.full_like(grasp_q, -np.inf)
    grasp = primitive_from_pixel(PrimitiveType.GRASP, 4, 10, 10, height, DEFAULT_WORKSPACE)
    color = np.zeros((rows, cols, 3), np.uint8)
    picture = chosen_primitive_overlay(color, Decision(grasp, push_q, grasp_q), DEFAULT_WORKSPACE.resolution)
    assert (picture[10, 10] == 255).all()  # the grasp point is drawn
    assert not (picture[rows - 5, cols - 5] == picture[rows - 5, 5]).all()  # rotation 4's map is shown

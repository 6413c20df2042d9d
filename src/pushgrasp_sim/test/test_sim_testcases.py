# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Reading the reference test-case format: frame mapping, rotations, skipped lines and malformed files."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pushgrasp_perception.workspace import DEFAULT_WORKSPACE
from pushgrasp_sim.testcases import (REFERENCE_WORKSPACE, TestCaseError, euler_to_matrix, example_testcases,
                                     load_testcase, matrix_to_quaternion, parse_testcase, quaternion_to_matrix,
                                     reference_offset)

GOOD = """\
# a comment, then a blank line

4.obj 0.305882 0.474510 0.654902 -0.5 0.1 0.025 0 0 0
   # an indented comment
3.obj 1 0 0 -0.3 -0.2 0.0125 0 0 1.5707963
2.obj 0 1 0 -0.5 0.0 -0.5 0 0 0
6.obj 0 0 1 -0.7 0.2 0.025 0 1.5707963 0
"""


def test_parse_maps_reference_workspace_onto_ours():
    case = parse_testcase(GOOD, 'good.txt')
    assert [p.shape for p in case.placements] == ['4.obj', '3.obj', '6.obj']
    assert [p.line_number for p in case.placements] == [3, 5, 7]
    assert [p.object_line for p in case.placements] == [0, 1, 3]
    np.testing.assert_allclose(case.placements[0].position, (0.5, 0.1, 0.025))
    np.testing.assert_allclose(case.placements[1].position, (0.7, -0.2, 0.0125))
    assert case.placements[0].color_rgb01 == pytest.approx((0.305882, 0.474510, 0.654902))
    # The mapping is a translation taking the reference workspace box onto ours.
    offset = reference_offset(DEFAULT_WORKSPACE)
    np.testing.assert_allclose(offset, (1.0, 0.0, 0.0))
    for ref, ours in (((REFERENCE_WORKSPACE.x_min, REFERENCE_WORKSPACE.y_min), (0.276, -0.224)),
                      ((REFERENCE_WORKSPACE.x_max, REFERENCE_WORKSPACE.y_max), (0.724, 0.224))):
        np.testing.assert_allclose(np.add(ref, offset[:2]), ours)


def test_lines_outside_the_workspace_are_skipped_and_reported():
    case = parse_testcase(GOOD, 'good.txt')
    assert len(case.skipped) == 1
    skipped = case.skipped[0]
    assert (skipped.line_number, skipped.object_line, skipped.shape) == (6, 2, '2.obj')
    assert skipped.reference_position == (-0.5, 0.0, -0.5)
    # Just outside in x or y, too.
    assert not parse_testcase('4.obj 0 0 0 -0.2 0 0.025 0 0 0\n4.obj 0 0 0 -0.5 0.3 0.025 0 0 0').placements


def test_rotations_follow_xyz_euler_convention():
    case = parse_testcase(GOOD, 'good.txt')
    # 90 deg about z: the plank's long x axis now points along base y.
    np.testing.assert_allclose(case.placements[1].rotation_matrix @ [1, 0, 0], [0, 1, 0], atol=1e-6)
    # 90 deg about y: the pillar's long z axis now points along base x (lying down).
    np.testing.assert_allclose(case.placements[2].rotation_matrix @ [0, 0, 1], [1, 0, 0], atol=1e-6)
    # R = Rx(a) Ry(b) Rz(c), in that order (the order matters for combined angles).
    a, b, c = 0.3, -0.7, 1.1
    rx = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    ry = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    rz = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    np.testing.assert_allclose(euler_to_matrix(a, b, c), rx @ ry @ rz, atol=1e-12)
    assert not np.allclose(euler_to_matrix(a, b, c), rz @ ry @ rx)
    quaternion = matrix_to_quaternion(rx @ ry @ rz)
    np.testing.assert_allclose(quaternion_to_matrix(quaternion), rx @ ry @ rz, atol=1e-12)
    placement = parse_testcase(f'0.obj 0 0 0 -0.5 0 0.1 {a} {b} {c}').placements[0]
    np.testing.assert_allclose(placement.rotation_matrix, rx @ ry @ rz, atol=1e-9)
    for angles in ((math.pi, 0, 0), (0, math.pi, 0), (0, 0, math.pi), (3.0, 0.1, -2.9)):
        rotation = euler_to_matrix(*angles)
        np.testing.assert_allclose(quaternion_to_matrix(matrix_to_quaternion(rotation)), rotation, atol=1e-9)


@pytest.mark.parametrize('line, problem', [
    ('4.obj 0.1 0.2 0.3 -0.5 0.0 0.025 0 0', 'expected 10 fields'),
    ('4.obj 0.1 0.2 0.3 -0.5 0.0 0.025 0 0 0 0', 'expected 10 fields'),
    ('4.obj 0.1 0.2 0.3 -0.5 zero 0.025 0 0 0', "field 6 'zero' is not a number"),
    ('4.obj 0.1 0.2 0.3 -0.5 0.0 nan 0 0 0', 'not a finite number'),
    ('5.obj 0.1 0.2 0.3 -0.5 0.0 0.025 0 0 0', "unknown shape '5.obj'"),
    ('cube 0.1 0.2 0.3 -0.5 0.0 0.025 0 0 0', "unknown shape 'cube'"),
    ('4.obj 78 121 167 -0.5 0.0 0.025 0 0 0', 'not in 0..1'),
])
def test_malformed_lines_are_rejected_with_file_and_line_number(tmp_path, line, problem):
    path = tmp_path / 'broken.txt'
    path.write_text('# header\n4.obj 0.1 0.2 0.3 -0.5 0.1 0.025 0 0 0\n\n' + line + '\n')
    with pytest.raises(TestCaseError, match=problem) as error:
        load_testcase(path)
    assert str(error.value).startswith(f'{path}:4: ')
    assert isinstance(error.value, ValueError)


def test_goal_line_refers_to_object_lines():
    case = parse_testcase(GOOD, 'good.txt', goal_line=3)
    assert case.goal_line == 3 and case.goal_index == 2
    assert case.placements[case.goal_index].shape == '6.obj'
    assert parse_testcase(GOOD).goal_index is None
    with pytest.raises(TestCaseError, match='goal line 2'):
        parse_testcase(GOOD, 'good.txt', goal_line=2)  # the line parked below the table


def test_example_files_parse():
    files = {path.name: path for path in example_testcases()}
    assert {'cluster_4_plus_1.txt', 'side_by_side.txt', 'parked_outside.txt'} <= set(files)
    cluster = load_testcase(files['cluster_4_plus_1.txt'])
    assert len(cluster.placements) == 5 and not cluster.skipped
    parked = load_testcase('parked_outside.txt')  # names are looked up among the examples too
    assert len(parked.placements) == 4
    assert [s.line_number for s in parked.skipped] == [7]
    for path in files.values():
        for placement in load_testcase(path).placements:
            assert DEFAULT_WORKSPACE.contains(*placement.position)

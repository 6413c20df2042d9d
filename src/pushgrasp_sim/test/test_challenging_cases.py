# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The challenging-arrangement test cases (testcases/challenging/) and the random packs for training.

Every case is built once in one shared PushGraspEnv; the checks then look at the settled scene: all the
file's objects are there, inside the workspace, where the file put them and at rest, nothing exploded,
and the arrangement is what a challenging case must be: a group of at least three blocks touching each
other, plus one isolated block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from pushgrasp_sim.blocks import SHAPES_BY_NAME
from pushgrasp_sim.env import PushGraspEnv
from pushgrasp_sim.geometry import quaternion_to_matrix
from pushgrasp_sim.packs import PACK_KINDS, matrix_to_euler_xyz, random_pack_testcase
from pushgrasp_sim.scene import ObjectState, SceneReport, find_explosions
from pushgrasp_sim.testcases import TESTCASE_DIR, TestCase, euler_to_matrix, load_testcase, parse_testcase

CASE_DIR = TESTCASE_DIR / 'challenging'
CASES = sorted(CASE_DIR.glob('*.txt'))
MIN_CASES = 10
TOUCHING_GAP = 0.005
"""Two blocks whose footprints are at most this far apart (metres) touch."""
MIN_GROUP = 3
ISOLATION = 0.12
"""The isolated block's centre is at least this far (metres) from every other block's centre."""
MAX_DRIFT = 0.01
"""Settling may move a block at most this far (metres) from its pose in the file."""


@dataclass
class Built:
    """A case and the settled scene it gave."""

    case: TestCase
    states: list[ObjectState]
    report: SceneReport
    problems: list[str]


@pytest.fixture(scope='module')
def built() -> dict[str, Built]:
    """Reset one shared environment with every case in turn and keep what each settled into."""
    env = PushGraspEnv()
    results = {}
    try:
        for path in CASES:
            env.reset(seed=0, scene=str(path))
            problems = find_explosions(env.physics.model, env.physics.data)
            results[path.name] = Built(load_testcase(path), env.object_states(), env.scene.report, problems)
    finally:
        env.close()
    return results


def footprint(state: ObjectState) -> np.ndarray:
    """Return the convex hull (counter-clockwise, (n, 2)) of a block's bounding box seen from above."""
    half = np.asarray(SHAPES_BY_NAME[state.shape].half_extents)
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
    corners = (signs * half) @ quaternion_to_matrix(state.quaternion).T + state.position
    return convex_hull(corners[:, :2])


def convex_hull(points: np.ndarray) -> np.ndarray:
    """Return the convex hull of 2-D points, counter-clockwise (Andrew's monotone chain)."""
    ordered = sorted({(round(float(x), 9), round(float(y), 9)) for x, y in points})

    def half_hull(sequence):
        hull = []
        for p in sequence:
            while len(hull) >= 2 and ((hull[-1][0] - hull[-2][0]) * (p[1] - hull[-2][1])
                                      - (hull[-1][1] - hull[-2][1]) * (p[0] - hull[-2][0])) <= 0:
                hull.pop()
            hull.append(p)
        return hull

    lower, upper = half_hull(ordered), half_hull(reversed(ordered))
    return np.array(lower[:-1] + upper[:-1])


def _point_segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    ab = b - a
    t = float(np.clip(np.dot(p - a, ab) / np.dot(ab, ab), 0.0, 1.0))
    return float(np.linalg.norm(p - (a + t * ab)))


def polygon_gap(p: np.ndarray, q: np.ndarray) -> float:
    """Return the distance between two convex polygons (0 when they overlap)."""
    # Separating-axis test: convex polygons overlapping along every edge normal of both intersect.
    normals = [np.stack([-e[:, 1], e[:, 0]], axis=1) for e in (np.roll(p, -1, axis=0) - p, np.roll(q, -1, axis=0) - q)]
    if not any((p @ n).max() < (q @ n).min() or (q @ n).max() < (p @ n).min() for n in np.vstack(normals)):
        return 0.0
    return min(min(_point_segment_distance(v, poly[i], poly[(i + 1) % len(poly)])
                   for v in other for i in range(len(poly)))
               for poly, other in ((p, q), (q, p)))


def touching_groups(states: list[ObjectState]) -> list[set[int]]:
    """Return the groups of blocks connected by footprints at most TOUCHING_GAP apart, largest first."""
    shapes = [footprint(s) for s in states]
    neighbours = {i: set() for i in range(len(states))}
    for i in range(len(states)):
        for j in range(i + 1, len(states)):
            if polygon_gap(shapes[i], shapes[j]) <= TOUCHING_GAP:
                neighbours[i].add(j)
                neighbours[j].add(i)
    groups, seen = [], set()
    for start in range(len(states)):
        if start in seen:
            continue
        group, todo = set(), [start]
        while todo:
            k = todo.pop()
            if k not in group:
                group.add(k)
                todo.extend(neighbours[k] - group)
        seen |= group
        groups.append(group)
    return sorted(groups, key=len, reverse=True)


def nearest_neighbour_distances(states: list[ObjectState]) -> np.ndarray:
    """Return each block's (x, y) centre distance to the nearest other block."""
    xy = np.array([s.position[:2] for s in states])
    distances = np.linalg.norm(xy[:, None, :] - xy[None, :, :], axis=2)
    np.fill_diagonal(distances, np.inf)
    return distances.min(axis=1)


def test_there_are_enough_cases():
    """Check that the directory holds at least MIN_CASES challenging cases."""
    assert len(CASES) >= MIN_CASES, f'only {len(CASES)} cases in {CASE_DIR}'


def test_the_geometry_helpers():
    """Check the footprint gap and grouping helpers on hand-made poses."""
    square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    assert polygon_gap(square, square + [2.0, 0.0]) == pytest.approx(1.0)
    assert polygon_gap(square, square + [2.0, 2.0]) == pytest.approx(np.sqrt(2.0))
    assert polygon_gap(square, square + [0.5, 0.5]) == 0.0
    identity = np.array([1.0, 0.0, 0.0, 0.0])

    def cube(x, y):
        return ObjectState(index=0, body_name='', shape='4.obj', color_rgb01=(0.0, 0.0, 0.0),
                           position=np.array([x, y, 0.025]), quaternion=identity, inside_workspace=True)

    states = [cube(0.0, 0.0), cube(0.051, 0.0), cube(0.102, 0.0), cube(0.3, 0.0), cube(0.5, 0.0)]
    assert touching_groups(states) == [{0, 1, 2}, {3}, {4}]
    assert nearest_neighbour_distances(states) == pytest.approx([0.051, 0.051, 0.051, 0.198, 0.2])


@pytest.mark.parametrize('path', CASES, ids=[p.stem for p in CASES])
def test_case_builds_in_place_and_at_rest(built, path):
    """Check that every object of the file is in the scene, inside the workspace, where the file put it."""
    result = built[path.name]
    case, states = result.case, result.states
    assert not case.skipped, f'{path.name}: lines outside the workspace: {case.skipped}'
    assert [s.shape for s in states] == [p.shape for p in case.placements]
    assert result.problems == [], f'{path.name}: {result.problems}'
    assert result.report.settled, f'{path.name} did not come to rest'
    outside = [s.body_name for s in states if not s.inside_workspace]
    assert not outside, f'{path.name}: outside the workspace after settling: {outside}'
    for state, placement in zip(states, case.placements, strict=True):
        drift = np.linalg.norm(state.position - np.asarray(placement.position))
        assert drift <= MAX_DRIFT, (f'{path.name}:{placement.line_number}: the {placement.shape} moved '
                                    f'{drift * 1000:.1f} mm while settling (overlapping or unstable?)')


@pytest.mark.parametrize('path', CASES, ids=[p.stem for p in CASES])
def test_case_has_a_packed_group_and_an_isolated_block(built, path):
    """Check for a group of at least MIN_GROUP touching blocks and a block ISOLATION away from the rest."""
    states = built[path.name].states
    groups = touching_groups(states)
    assert len(groups[0]) >= MIN_GROUP, f'{path.name}: largest touching group {groups}'
    nearest = nearest_neighbour_distances(states)
    isolated = np.flatnonzero(nearest >= ISOLATION)
    assert isolated.size > 0, f'{path.name}: no isolated block (nearest-neighbour distances {np.round(nearest, 3)})'
    assert not set(isolated.tolist()) & groups[0], f'{path.name}: the isolated block is in the group'


# --- random packs (pushgrasp_sim.packs), the training scenes with packed groups ------------------------------
@pytest.fixture(scope='module')
def packs(tmp_path_factory) -> dict[str, Built]:
    """Build one random pack of every kind (seeded) in one shared environment."""
    folder = tmp_path_factory.mktemp('packs')
    env = PushGraspEnv()
    results = {}
    try:
        for seed, kind in enumerate(sorted(PACK_KINDS)):
            path = folder / f'{kind}.txt'
            path.write_text(random_pack_testcase(np.random.default_rng(seed), kind=kind))
            env.reset(seed=0, scene=str(path))
            problems = find_explosions(env.physics.model, env.physics.data)
            results[kind] = Built(load_testcase(path), env.object_states(), env.scene.report, problems)
    finally:
        env.close()
    return results


def test_test_case_euler_angles_round_trip():
    """Check that matrix_to_euler_xyz inverts the test-case convention, including at gimbal lock."""
    rng = np.random.default_rng(0)
    for angles in [*rng.uniform(-np.pi, np.pi, (20, 3)), (-np.pi / 2, 1.141593, np.pi), (0.3, np.pi / 2, 0.0)]:
        rotation = euler_to_matrix(*angles)
        np.testing.assert_allclose(euler_to_matrix(*matrix_to_euler_xyz(rotation)), rotation, atol=1e-9)


def test_random_packs_are_seeded():
    """Check that a seed gives the same pack text, and different seeds different packs."""
    first = random_pack_testcase(np.random.default_rng(7))
    assert first == random_pack_testcase(np.random.default_rng(7))
    assert first != random_pack_testcase(np.random.default_rng(8))
    with pytest.raises(ValueError, match='unknown pack kind'):
        random_pack_testcase(np.random.default_rng(0), kind='pyramid')
    parse_testcase(first)  # valid reference-format text


@pytest.mark.parametrize('kind', sorted(PACK_KINDS))
def test_random_pack_builds_a_packed_group_at_rest(packs, kind):
    """Check that a pack settles where the file puts it, with a touching group and a block alone."""
    result = packs[kind]
    states = result.states
    assert not result.case.skipped and result.problems == [] and result.report.settled
    assert all(s.inside_workspace for s in states), kind
    for state, placement in zip(states, result.case.placements, strict=True):
        assert np.linalg.norm(state.position - np.asarray(placement.position)) <= MAX_DRIFT, kind
    groups = touching_groups(states)
    assert len(groups[0]) >= 2, f'{kind}: largest touching group {groups}'
    alone = np.flatnonzero(nearest_neighbour_distances(states) >= ISOLATION)
    assert alone.size >= 1 and not set(alone.tolist()) & groups[0], kind

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The challenging goal arrangements (testcases/goal_challenging/) and their goals file.

Every case is built once in one shared PushGraspEnv; the checks then look at the settled scene: all the
file's objects are there, inside the workspace, where the file put them and at rest, nothing exploded; the
goal named by goals.txt has a colour no other object of the scene has, and the camera sees enough of it;
and the arrangement is what the directory's README says it is:

- every case: a grasp across the goal along either of its two horizontal axes would have to take a
  neighbour too, or the goal alone is longer than the gripper opens (no "open" grasp axis), and the goal
  touches at least two other blocks;
- boxed-in cases: neighbours beside at least three of the goal's four sides;
- under-neighbour cases: another block touches the goal at the goal's top (rests or leans on it), in
  MuJoCo's contacts.

The footprint geometry is the goal-agnostic challenging cases' (test_challenging_cases.py), loaded from
that file: test modules cannot import each other under pytest's importlib import mode.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from pushgrasp_perception.workspace import DEFAULT_WORKSPACE as WORKSPACE
from pushgrasp_sim.blocks import SHAPES_BY_NAME
from pushgrasp_sim.env import PushGraspEnv
from pushgrasp_sim.geometry import quaternion_to_matrix
from pushgrasp_sim.scene import ObjectState, SceneReport, find_explosions
from pushgrasp_sim.testcases import TESTCASE_DIR, TestCase, load_testcase


def _load_sibling(stem: str):
    """Import a test module of this directory by path (registered under a private name)."""
    name = f'_pushgrasp_sim_test_{stem}'
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f'{stem}.py'))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the file runs
        spec.loader.exec_module(module)
    return sys.modules[name]


challenging = _load_sibling('test_challenging_cases')

CASE_DIR = TESTCASE_DIR / 'goal_challenging'
CASES = sorted(CASE_DIR.glob('goal_*.txt'))
GOALS_FILE = CASE_DIR / 'goals.txt'
README = CASE_DIR / 'README.md'
MIN_CASES = 12
MIN_OBJECTS, MAX_OBJECTS = 6, 10
EDGE_MARGIN = 0.04
"""Every block's footprint is at least this far (metres) inside the workspace edges."""
MIN_VISIBLE_CELLS = 150
"""The goal covers at least this many heightmap cells (2 mm square) in the first frame: a quarter of a cube's top."""
GRIPPER_OPENING = 0.085
FACE_DEPTH = 0.01
"""A neighbour whose footprint reaches into this strip (metres) outside a goal side blocks that side."""
FACE_INSET = 0.003
"""The strip is this much (metres) shorter than the side at both ends: a block touching a corner only does not count."""
ON_TOP = 0.005
"""A block whose lowest point, or a contact with the goal, is at most this far (m) below the goal's top is on it."""

BOXED, UNDER = 'boxed in', 'under a neighbour'
ARRANGEMENTS = {
    'goal_01_cube_plus': {BOXED},
    'goal_02_cube_u_of_pillars': {BOXED},
    'goal_03_cylinder_bundle': {BOXED},
    'goal_04_cube_grid_2x4': {BOXED},
    'goal_05_plank_raft_under_cube': {UNDER},
    'goal_06_cube_under_plank_bridge': {BOXED, UNDER},
    'goal_07_plank_leaning_on_cube': {BOXED, UNDER},
    'goal_08_lying_pillar_under_cube': {UNDER},
    'goal_09_half_cylinder_slot': {BOXED},
    'goal_10_corner_pack': {BOXED},
    'goal_11_planks_on_edge': set(),
    'goal_12_pillar_grid': {BOXED},
    'goal_13_roof_between_arches': {BOXED},
    'goal_14_mixed_pack_3x3': {BOXED},
}
"""What each case claims beyond every case's 'too wide to grasp with a neighbour' (see the README)."""


def read_goals() -> dict[str, int]:
    """Return goals.txt as {case file name: goal line}."""
    goals = {}
    for line in GOALS_FILE.read_text().splitlines():
        if line.strip() and not line.startswith('#'):
            name, index = line.split()
            goals[name] = int(index)
    return goals


@dataclass
class Built:
    """A goal case and the settled scene it gave."""

    case: TestCase
    states: list[ObjectState]
    report: SceneReport
    problems: list[str]
    goal_cells: int
    """Heightmap cells of the goal in the first frame."""
    top_contacts: list[int]
    """Objects touching the goal within ON_TOP of its top."""


def top_height(state: ObjectState) -> float:
    """Return the height of a block's bounding box top."""
    rotation = quaternion_to_matrix(state.quaternion)
    return float(state.position[2] + np.abs(rotation[2]) @ np.asarray(SHAPES_BY_NAME[state.shape].half_extents))


def bottom_height(state: ObjectState) -> float:
    """Return the height of a block's bounding box bottom."""
    rotation = quaternion_to_matrix(state.quaternion)
    return float(state.position[2] - np.abs(rotation[2]) @ np.asarray(SHAPES_BY_NAME[state.shape].half_extents))


def contacts_at_top(env: PushGraspEnv, goal: ObjectState) -> list[int]:
    """Return the objects in contact with `goal` at a point within ON_TOP of the goal's top."""
    model, data = env.physics.model, env.physics.data
    goal_body = model.body(goal.body_name).id
    objects = {model.body(obj.body_name).id: obj.index for obj in env.scene.objects}
    top = top_height(goal)
    found = set()
    for contact in data.contact[:data.ncon]:
        bodies = {int(model.geom_bodyid[contact.geom1]), int(model.geom_bodyid[contact.geom2])}
        if goal_body in bodies and len(bodies) == 2:
            (other,) = bodies - {goal_body}
            if other in objects and contact.pos[2] >= top - ON_TOP:
                found.add(objects[other])
    return sorted(found)


def blocked_sides(goal: ObjectState, others: list[ObjectState]) -> list[tuple[float, list[int]]]:
    """Return, for each of the goal's four sides, the goal's length across that side and the blocks beside it.

    The sides are those of the goal's bounding box along its two most horizontal axes. A block beside a
    side has a footprint reaching into a FACE_DEPTH strip outside it; blocks resting on top of the goal
    (lowest point above its top less ON_TOP) are not beside it.
    """
    rotation = quaternion_to_matrix(goal.quaternion)
    half = np.asarray(SHAPES_BY_NAME[goal.shape].half_extents)
    axes = sorted(range(3), key=lambda i: abs(rotation[2, i]))[:2]
    top = top_height(goal)
    beside = [s for s in others if bottom_height(s) < top - ON_TOP]
    prints = [challenging.footprint(s) for s in beside]
    sides = []
    for k, i in enumerate(axes):
        j = axes[1 - k]
        u = rotation[:2, i] / np.linalg.norm(rotation[:2, i])
        v = rotation[:2, j] / np.linalg.norm(rotation[:2, j])
        for sign in (1.0, -1.0):
            middle = goal.position[:2] + sign * u * (half[i] + FACE_DEPTH / 2)
            strip = challenging.convex_hull(np.array([middle + a * u * FACE_DEPTH / 2 + b * v * (half[j] - FACE_INSET)
                                                      for a in (-1, 1) for b in (-1, 1)]))
            blocking = [s.index for s, p in zip(beside, prints, strict=True) if challenging.polygon_gap(strip, p) == 0]
            sides.append((2.0 * float(half[i]), blocking))
    return sides


def open_axes(sides: list[tuple[float, list[int]]]) -> list[int]:
    """Return the goal axes (0, 1) a grasp could close along without a neighbour: short enough, both sides free."""
    return [axis for axis in (0, 1)
            if sides[2 * axis][0] <= GRIPPER_OPENING and not sides[2 * axis][1] and not sides[2 * axis + 1][1]]


@pytest.fixture(scope='module')
def built() -> dict[str, Built]:
    """Reset one shared environment with every case (and its goal line) in turn and keep what each settled into."""
    goals = read_goals()
    env = PushGraspEnv()
    results = {}
    try:
        for path in CASES:
            env.reset(seed=0, scene=str(path))
            case = load_testcase(path, goal_line=goals.get(path.name))
            problems = find_explosions(env.physics.model, env.physics.data)
            states = env.object_states()
            cells, touching = 0, []
            if case.goal_index is not None:
                cells = int(env.object_mask(case.goal_index).sum())
                touching = contacts_at_top(env, states[case.goal_index])
            results[path.name] = Built(case, states, env.scene.report, problems, cells, touching)
    finally:
        env.close()
    return results


def test_there_are_enough_cases_and_each_has_a_goal():
    """Check the case count, and that goals.txt names every case once and no other file."""
    assert len(CASES) >= MIN_CASES, f'only {len(CASES)} cases in {CASE_DIR}'
    assert set(ARRANGEMENTS) == {p.stem for p in CASES}, 'ARRANGEMENTS must describe every case'
    lines = [line for line in GOALS_FILE.read_text().splitlines() if line.strip() and not line.startswith('#')]
    assert sorted(line.split()[0] for line in lines) == [p.name for p in CASES], 'goals.txt must list every case once'


def test_goals_file_is_read_by_the_goal_evaluation():
    """Check that pushgrasp_policy.goal_evaluation reads goals.txt: one goal case a file, found here."""
    from pushgrasp_policy.goal_evaluation import load_goals_file
    cases = load_goals_file(GOALS_FILE)
    goals = read_goals()
    assert [name for name, _ in cases] == [f'{Path(n).stem}:{i}' for n, i in goals.items()]
    for (_, goal_case), (name, index) in zip(cases, goals.items(), strict=True):
        assert Path(goal_case.scene) == CASE_DIR / name and goal_case.goal_line == index


def test_geometry_helpers_on_a_boxed_cube():
    """Check blocked_sides / open_axes / top_height on hand-made poses (they must be able to fail)."""
    identity = np.array([1.0, 0.0, 0.0, 0.0])

    def block(index, shape, x, y, z):
        return ObjectState(index=index, body_name='', shape=shape, color_rgb01=(0.0, 0.0, 0.0),
                           position=np.array([x, y, z]), quaternion=identity, inside_workspace=True)

    goal = block(0, '4.obj', 0.0, 0.0, 0.025)
    right, front, far = block(1, '4.obj', 0.051, 0.0, 0.025), block(2, '4.obj', 0.0, -0.051, 0.025), \
        block(3, '4.obj', 0.3, 0.3, 0.025)
    diagonal, on_top = block(4, '4.obj', -0.051, 0.051, 0.025), block(5, '3.obj', 0.0, 0.0, 0.0625)
    assert top_height(goal) == pytest.approx(0.05) and bottom_height(on_top) == pytest.approx(0.05)
    sides = blocked_sides(goal, [right, far, diagonal, on_top])
    assert [s[1] for s in sides] == [[1], [], [], []]
    assert open_axes(sides) == [1]
    sides = blocked_sides(goal, [right, front, far])
    assert [s[1] for s in sides] == [[1], [], [], [2]] and open_axes(sides) == []
    plank = block(0, '3.obj', 0.0, 0.0, 0.0125)  # 100 mm long: too long to grasp along x even when free
    assert open_axes(blocked_sides(plank, [far])) == [1]


@pytest.mark.parametrize('path', CASES, ids=[p.stem for p in CASES])
def test_case_builds_in_place_and_at_rest(built, path):
    """Check that every object of the file is in the scene, inside the workspace, where the file put it."""
    result = built[path.name]
    case, states = result.case, result.states
    assert not case.skipped, f'{path.name}: lines outside the workspace: {case.skipped}'
    assert MIN_OBJECTS <= len(states) <= MAX_OBJECTS, f'{path.name}: {len(states)} objects'
    assert [s.shape for s in states] == [p.shape for p in case.placements]
    assert result.problems == [], f'{path.name}: {result.problems}'
    assert result.report.settled, f'{path.name} did not come to rest'
    outside = [s.body_name for s in states if not s.inside_workspace]
    assert not outside, f'{path.name}: outside the workspace after settling: {outside}'
    for state in states:
        corners = challenging.footprint(state)
        margin = min(corners[:, 0].min() - WORKSPACE.x_min, WORKSPACE.x_max - corners[:, 0].max(),
                     corners[:, 1].min() - WORKSPACE.y_min, WORKSPACE.y_max - corners[:, 1].max())
        assert margin >= EDGE_MARGIN, f'{path.name}: object {state.index} is {margin * 1000:.0f} mm from the edge'
    for state, placement in zip(states, case.placements, strict=True):
        drift = np.linalg.norm(state.position - np.asarray(placement.position))
        assert drift <= challenging.MAX_DRIFT, (f'{path.name}:{placement.line_number}: the {placement.shape} moved '
                                                f'{drift * 1000:.1f} mm while settling (overlapping or unstable?)')


@pytest.mark.parametrize('path', CASES, ids=[p.stem for p in CASES])
def test_goal_is_unique_in_colour_and_visible(built, path):
    """Check the goal line, the goal's colour (unique; the one the comment and README name), visibility."""
    result = built[path.name]
    goal = result.case.goal_index
    assert goal is not None, f'{path.name}: goals.txt gives no goal line'
    colour = result.states[goal].color_name
    colours = [s.color_name for s in result.states]
    assert colour is not None and colours.count(colour) == 1, f'{path.name}: goal colour {colour} among {colours}'
    comment = re.search(r'^# Goal: object line (\d+), the (\w+) ', path.read_text(), re.MULTILINE)
    assert comment and (int(comment[1]), comment[2]) == (result.case.goal_line, colour), \
        f'{path.name}: the "# Goal: object line N, the <colour> ..." comment disagrees with goals.txt'
    row = re.search(rf'^\| `{re.escape(path.name)}` \|.*\| (\w+) \|$', README.read_text(), re.MULTILINE)
    assert row and row[1] == colour, f'README.md: no table row for {path.name} ending in its goal colour {colour}'
    assert result.goal_cells >= MIN_VISIBLE_CELLS, f'{path.name}: the camera sees {result.goal_cells} goal cells'


@pytest.mark.parametrize('path', CASES, ids=[p.stem for p in CASES])
def test_goal_arrangement_is_what_the_readme_says(built, path):
    """Check: no open grasp axis, the goal touches two blocks, a block lies apart, the boxed/under claims."""
    result = built[path.name]
    states = result.states
    goal = states[result.case.goal_index]
    others = [s for s in states if s.index != goal.index]
    sides = blocked_sides(goal, others)
    assert open_axes(sides) == [], f'{path.name}: the goal can be grasped alone across its axis {open_axes(sides)}'
    groups = challenging.touching_groups(states)
    group = next(g for g in groups if goal.index in g)
    prints = {s.index: challenging.footprint(s) for s in states}
    touching = [s.index for s in others
                if challenging.polygon_gap(prints[goal.index], prints[s.index]) <= challenging.TOUCHING_GAP]
    assert len(touching) >= 2 and len(group) >= 3, f'{path.name}: the goal touches {touching}'
    alone = [s.index for s, d in zip(states, challenging.nearest_neighbour_distances(states), strict=True)
             if d >= challenging.ISOLATION]
    assert alone and not set(alone) & group, f'{path.name}: no block lies apart from the goal\'s group'
    claims = ARRANGEMENTS[path.stem]
    blocked = sum(bool(s[1]) for s in sides)
    if BOXED in claims:
        assert blocked >= 3, f'{path.name}: boxed in, yet blocks beside only {blocked} sides: {sides}'
    if UNDER in claims:
        assert result.top_contacts, f'{path.name}: no block touches the goal at its top'

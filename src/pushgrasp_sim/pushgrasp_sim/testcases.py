# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Read the reference benchmark's test-case files (fixed object arrangements) into our frame.

Format, one object a line, whitespace separated::

    <name>.obj R G B x y z rx ry rz

R G B in 0..1; x y z in metres in the reference simulator's frame; rx ry rz are Euler angles in radians
with R = Rx(rx) Ry(ry) Rz(rz) (V-REP/CoppeliaSim's alpha, beta, gamma). Blank lines and lines starting
with '#' are ignored. A line whose position lies outside the reference workspace names an object that is
not in the scene (some files park unused objects far below the table): it is skipped and reported.

Frame mapping: the reference workspace x in [-0.724, -0.276], y in [-0.224, 0.224] (table surface z = 0)
and ours (pushgrasp_perception.workspace.DEFAULT_WORKSPACE: x in [0.276, 0.724], same y, table z = 0) are
the same 0.448 m square, so the mapping is the pure translation that moves the reference workspace
centre onto ours: (x, y, z) -> (x + 1.0, y, z) for the default workspace. Being a translation, it keeps
every arrangement and orientation as it was: rotations (and so rx, ry, rz) are used unchanged.
An object's position is the centre of its bounding box (the block frame of pushgrasp_sim.blocks).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pushgrasp_perception.workspace import DEFAULT_WORKSPACE, Workspace
from pushgrasp_sim.geometry import matrix_to_quaternion, quaternion_to_matrix
from pushgrasp_sim.blocks import SHAPE_NAMES, SHAPES_BY_NAME

REFERENCE_WORKSPACE = Workspace(x_min=-0.724, x_max=-0.276, y_min=-0.224, y_max=0.224, z_min=-0.0001, z_max=0.4)
"""The reference simulator's workspace box; lines outside it are not in the scene."""

TESTCASE_DIR = Path(__file__).resolve().parent / 'testcases'
"""The example test cases shipped with the package."""

NUM_FIELDS = 10


class TestCaseError(ValueError):
    """A malformed test-case file; the message names the file and the line number."""

    __test__ = False  # not a pytest test class despite its name


@dataclass(frozen=True)
class ObjectPlacement:
    """One object of a test case, in our frame."""

    shape: str
    """Block shape name, e.g. '4.obj' (see pushgrasp_sim.blocks)."""
    color_rgb01: tuple[float, float, float]
    position: tuple[float, float, float]
    """Centre of the block's bounding box in our base frame (metres)."""
    quaternion: tuple[float, float, float, float]
    """Orientation (w, x, y, z), MuJoCo's order, of the block frame in the base frame."""
    line_number: int
    """1-based line of the file."""
    object_line: int
    """0-based index among the file's object lines (the numbering a goal index refers to)."""

    @property
    def rotation_matrix(self) -> np.ndarray:
        """The orientation as a 3x3 rotation matrix."""
        return quaternion_to_matrix(self.quaternion)


@dataclass(frozen=True)
class SkippedLine:
    """An object line whose position is outside the reference workspace (not in the scene)."""

    line_number: int
    object_line: int
    shape: str
    reference_position: tuple[float, float, float]


@dataclass
class TestCase:
    """A parsed test case: the objects in the scene, the lines skipped, and an optional goal object."""

    __test__ = False  # not a pytest test class despite its name

    source: str
    placements: list[ObjectPlacement] = field(default_factory=list)
    skipped: list[SkippedLine] = field(default_factory=list)
    goal_line: int | None = None
    """0-based index of the goal object among the object lines (goal-oriented cases), or None."""

    @property
    def name(self) -> str:
        """The file name without its directory and suffix."""
        return Path(self.source).stem

    @property
    def goal_index(self) -> int | None:
        """Index into `placements` (and so into the scene's objects) of the goal object, or None."""
        if self.goal_line is None:
            return None
        for index, placement in enumerate(self.placements):
            if placement.object_line == self.goal_line:
                return index
        return None


def euler_to_matrix(alpha: float, beta: float, gamma: float) -> np.ndarray:
    """The rotation R = Rx(alpha) Ry(beta) Rz(gamma) (V-REP's Euler convention), 3x3."""
    ca, sa = math.cos(alpha), math.sin(alpha)
    cb, sb = math.cos(beta), math.sin(beta)
    cg, sg = math.cos(gamma), math.sin(gamma)
    rx = np.array([[1.0, 0.0, 0.0], [0.0, ca, -sa], [0.0, sa, ca]])
    ry = np.array([[cb, 0.0, sb], [0.0, 1.0, 0.0], [-sb, 0.0, cb]])
    rz = np.array([[cg, -sg, 0.0], [sg, cg, 0.0], [0.0, 0.0, 1.0]])
    return rx @ ry @ rz


def reference_offset(workspace: Workspace = DEFAULT_WORKSPACE) -> np.ndarray:
    """The translation (x, y, z) taking reference-frame positions into `workspace`'s frame.

    It moves the reference workspace centre (x, y) onto the centre of `workspace`; z is unchanged (both
    frames have the table surface at z = 0 when workspace.z_min is 0; otherwise z shifts by z_min).
    """
    ref = REFERENCE_WORKSPACE
    return np.array([
        (workspace.x_min + workspace.x_max) / 2 - (ref.x_min + ref.x_max) / 2,
        (workspace.y_min + workspace.y_max) / 2 - (ref.y_min + ref.y_max) / 2,
        workspace.z_min,
    ])


def _numbers(fields: list[str], source: str, line_number: int) -> list[float]:
    values = []
    for column, text in enumerate(fields, start=2):
        try:
            value = float(text)
        except ValueError:
            raise TestCaseError(f'{source}:{line_number}: field {column} {text!r} is not a number') from None
        if not math.isfinite(value):
            raise TestCaseError(f'{source}:{line_number}: field {column} {text!r} is not a finite number')
        values.append(value)
    return values


def parse_testcase(text: str, source: str = '<string>', workspace: Workspace = DEFAULT_WORKSPACE,
                   goal_line: int | None = None) -> TestCase:
    """Parse test-case text into a TestCase in `workspace`'s frame.

    Args:
        text: the file contents.
        source: the file name, used in error messages.
        workspace: our workspace; the reference workspace is translated onto it (see the module docstring).
        goal_line: for goal-oriented cases, the 0-based object line of the goal object.

    Raises:
        TestCaseError: a line with the wrong number of fields, a field that is not a number, an unknown
            shape name or a colour outside 0..1 (the message says '<source>:<line number>: ...'), or a goal
            line that does not name an object in the scene.
    """
    offset = reference_offset(workspace)
    case = TestCase(source=source, goal_line=goal_line)
    object_line = 0
    for line_number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        fields = line.split()
        if len(fields) != NUM_FIELDS:
            raise TestCaseError(f'{source}:{line_number}: expected {NUM_FIELDS} fields '
                                f'"<name>.obj R G B x y z rx ry rz", got {len(fields)}')
        shape = fields[0]
        if shape not in SHAPES_BY_NAME:
            raise TestCaseError(f'{source}:{line_number}: unknown shape {shape!r}; known: {", ".join(SHAPE_NAMES)}')
        values = _numbers(fields[1:], source, line_number)
        color, position, euler = values[0:3], values[3:6], values[6:9]
        if not all(0.0 <= c <= 1.0 for c in color):
            raise TestCaseError(f'{source}:{line_number}: colour {color} is not in 0..1')
        if REFERENCE_WORKSPACE.contains(*position):
            ours = np.asarray(position) + offset
            quaternion = matrix_to_quaternion(euler_to_matrix(*euler))
            case.placements.append(ObjectPlacement(
                shape=shape, color_rgb01=(color[0], color[1], color[2]),
                position=(float(ours[0]), float(ours[1]), float(ours[2])), quaternion=quaternion,
                line_number=line_number, object_line=object_line))
        else:
            case.skipped.append(SkippedLine(line_number=line_number, object_line=object_line, shape=shape,
                                            reference_position=(position[0], position[1], position[2])))
        object_line += 1
    if goal_line is not None and case.goal_index is None:
        raise TestCaseError(f'{source}: goal line {goal_line} does not name an object in the scene '
                            f'({object_line} object lines, {len(case.skipped)} outside the workspace)')
    return case


def load_testcase(path: str | os.PathLike, workspace: Workspace = DEFAULT_WORKSPACE,
                  goal_line: int | None = None) -> TestCase:
    """Read and parse a test-case file; see `parse_testcase`. Relative names are also looked up in TESTCASE_DIR."""
    path = Path(path)
    if not path.exists() and not path.is_absolute() and (TESTCASE_DIR / path).exists():
        path = TESTCASE_DIR / path
    return parse_testcase(path.read_text(), source=str(path), workspace=workspace, goal_line=goal_line)


def example_testcases() -> list[Path]:
    """The example test-case files shipped in pushgrasp_sim/testcases/, sorted by name."""
    return sorted(TESTCASE_DIR.glob('*.txt'))

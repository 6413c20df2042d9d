# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Scenes of toy blocks in the work cell: random piles dropped onto the table, or test-case arrangements.

A scene adds one free body per object to an `mujoco.MjSpec` that includes assets/objects.xml (normally
cell.xml, which also holds the arm and the camera). Naming, relied on by the rest of the project:

- body ``object_<i>`` (i = 0, 1, ... in scene order) with the free joint ``object_<i>_joint``;
- its geoms ``object_<i>_<kind>_<k>`` (kind from pushgrasp_sim.blocks, e.g. ``object_3_cube_0``), so the
  object table can be recovered from a compiled model alone (`scene_objects`);
- colours: the palette in order for random scenes, the file's colours for test cases.

Random scenes follow the reference system: objects are released one by one from a random pose above the
workspace (random shape, uniformly random orientation, position inside the workspace with a margin), the
pile settles, and any object that ended up outside the workspace (or caught on the robot above it) is
dropped again. Objects waiting for their turn are parked far below the table. Everything random comes from
np.random.default_rng(seed).

The drop margin: the reference code releases each object 0.1 m or more inside every workspace edge, and
`pushgrasp eval` and the trainer's periodic evaluation build their random scenes that way
(`pushgrasp_policy.evaluation.REFERENCE_DROP_MARGIN`). `SceneSpec`'s default, 0.06 m, spreads piles wider;
training scenes and the simulator behind the ROS graph (sim bridge, demo) use it (the shipped weights were
trained on such scenes).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import mujoco
import numpy as np

from pushgrasp_perception.workspace import DEFAULT_WORKSPACE, Workspace
from pushgrasp_sim.physics import load_cell_spec
from pushgrasp_sim.blocks import SHAPE_NAMES, SHAPES_BY_KIND, BlockShape, block_shape, color_name, palette_color
from pushgrasp_sim.testcases import ObjectPlacement, SkippedLine, TestCase, load_testcase

OBJECT_PREFIX = 'object_'
BLOCK_ROOT_CLASS = 'block'

# Waiting objects are parked on a grid this far below the table (well clear of it and of each other).
_PARK_Z = -1.0
_PARK_SPACING = 0.2
_PARK_COLUMNS = 6
# An object whose centre is this far below the table surface fell off the table (the table is 5 cm thick).
_FALLEN_Z = -0.06


class SceneError(RuntimeError):
    """A scene that could not be built, or whose physics blew up."""


def object_body_name(index: int) -> str:
    """Body name of the `index`-th object of a scene."""
    return f'{OBJECT_PREFIX}{index}'


def object_joint_name(index: int) -> str:
    """Free-joint name of the `index`-th object of a scene."""
    return f'{OBJECT_PREFIX}{index}_joint'


@dataclass(frozen=True)
class SceneObject:
    """An entry of a scene's object table."""

    index: int
    body_name: str
    shape: str
    """Block shape name, e.g. '4.obj'."""
    kind: str
    """Readable shape kind, e.g. 'cube'."""
    color_rgb01: tuple[float, float, float]

    @property
    def color_name(self) -> str | None:
        """The palette name of the object's colour ('red', ...), None when it is not a palette colour."""
        return color_name(self.color_rgb01)


@dataclass(frozen=True)
class ObjectState:
    """Where an object is now."""

    index: int
    body_name: str
    shape: str
    color_rgb01: tuple[float, float, float]
    """The colour the object is drawn with now (after any colour randomisation)."""
    position: np.ndarray
    """Centre of the block frame in the base frame (metres), shape (3,)."""
    quaternion: np.ndarray
    """Orientation (w, x, y, z), shape (4,)."""
    inside_workspace: bool

    @property
    def color_name(self) -> str | None:
        """The palette name of the colour drawn now ('red', ...), None when it is not a palette colour."""
        return color_name(self.color_rgb01)


@dataclass
class SceneSpec:
    """What scene to build: `num_objects` random objects from `seed`, or the test case at `testcase`."""

    num_objects: int = 10
    """Number of objects of a random scene (ignored for test cases)."""
    seed: int = 0
    """Seed of everything random (shapes, drop poses)."""
    testcase: str | os.PathLike | None = None
    """Path of a test-case file; None means a random scene."""
    goal_line: int | None = None
    """Goal-oriented test cases: the 0-based object line of the goal object."""
    workspace: Workspace = DEFAULT_WORKSPACE
    shapes: tuple[str, ...] = SHAPE_NAMES
    """Shapes random scenes draw from (uniformly)."""
    drop_margin: float = 0.06
    """Objects are released with their centre at least this far (m) inside the workspace edges (`pushgrasp eval`
    uses the reference code's 0.1 m; see the module)."""
    drop_clearance: float = 0.01
    """Gap (m) between a released object's bounding sphere and the table or the objects below it."""
    drop_interval_steps: int = 50
    """Physics steps between two releases (0.1 s at the cell's 2 ms timestep)."""
    max_settle_steps: int = 3000
    """Step budget of each settling phase."""
    max_redrop_rounds: int = 5
    """Rounds of re-dropping objects that ended up outside the workspace."""


@dataclass
class SettleResult:
    """The outcome of `settle`."""

    steps: int
    settled: bool
    max_linear_speed: float
    """Largest object speed (m/s) at the end."""
    max_angular_speed: float
    """Largest object angular speed (rad/s) at the end."""
    fallen: int = 0
    """Objects that fell off the table (ignored by the speed criterion)."""


@dataclass
class SceneReport:
    """Bookkeeping of building a scene."""

    steps: int = 0
    """Physics steps taken."""
    redrops: int = 0
    """Objects dropped again because they ended up outside the workspace."""
    outside: list[int] = field(default_factory=list)
    """Objects still outside the workspace after the last re-drop round."""
    skipped_lines: list[SkippedLine] = field(default_factory=list)
    """Test-case lines outside the reference workspace."""
    settled: bool = False
    wall_time: float = 0.0
    """Seconds spent placing and settling."""


@dataclass
class Scene:
    """A built scene: the compiled model, its data at rest, the object table and the bookkeeping."""

    model: mujoco.MjModel
    data: mujoco.MjData
    objects: list[SceneObject]
    report: SceneReport
    testcase: TestCase | None = None


def _existing_objects(spec: mujoco.MjSpec) -> int:
    count = 0
    while spec.body(object_body_name(count)) is not None:
        count += 1
    return count


def _park_position(index: int) -> np.ndarray:
    row, col = divmod(index, _PARK_COLUMNS)
    return np.array([0.5 + _PARK_SPACING * (col - (_PARK_COLUMNS - 1) / 2), _PARK_SPACING * row - 0.5, _PARK_Z])


def add_objects(spec: mujoco.MjSpec, shapes: Sequence[str],
                colors: Sequence[tuple[float, float, float]] | None = None) -> list[SceneObject]:
    """Add one free body per entry of `shapes` to `spec` (which must include assets/objects.xml).

    Bodies are named object_<i> continuing after any already in the spec, start parked below the table,
    and get the palette colours in order unless `colors` (0..1 RGB, one per shape) is given.
    Returns the object table of the added objects; compile the spec afterwards.
    """
    if spec.find_default(BLOCK_ROOT_CLASS) is None:
        raise ValueError(f'the spec has no default class {BLOCK_ROOT_CLASS!r}: it must include objects.xml')
    if colors is not None and len(colors) != len(shapes):
        raise ValueError(f'got {len(colors)} colours for {len(shapes)} objects')
    start = _existing_objects(spec)
    objects = []
    for offset, name in enumerate(shapes):
        index = start + offset
        shape = block_shape(name)
        rgb = colors[offset] if colors is not None else palette_color(index).rgb
        color = (float(rgb[0]), float(rgb[1]), float(rgb[2]))
        body = spec.worldbody.add_body(name=object_body_name(index), pos=_park_position(index).tolist())
        body.add_freejoint(name=object_joint_name(index))
        for k, class_name in enumerate(shape.geom_classes):
            default = spec.find_default(class_name)
            if default is None:
                raise ValueError(f'objects.xml has no default class {class_name!r} (shape {shape.name})')
            body.add_geom(default, name=f'{object_body_name(index)}_{shape.kind}_{k}', rgba=[*color, 1.0])
        objects.append(SceneObject(index=index, body_name=object_body_name(index), shape=shape.name,
                                   kind=shape.kind, color_rgb01=color))
    return objects


def build_model(spec: mujoco.MjSpec, scene: SceneSpec,
                rng: np.random.Generator | None = None) -> tuple[mujoco.MjModel, list[SceneObject], TestCase | None]:
    """Add the objects of `scene` to `spec` and compile it (objects parked; see drop_objects, place_objects).

    A random scene draws its shapes from `rng` (default np.random.default_rng(scene.seed)); a test case
    takes shapes and colours from the file. Returns the model, the object table and the parsed test case.
    """
    testcase = None
    if scene.testcase is not None:
        testcase = load_testcase(scene.testcase, scene.workspace, goal_line=scene.goal_line)
        shapes = [p.shape for p in testcase.placements]
        colors = [p.color_rgb01 for p in testcase.placements]
    else:
        rng = rng if rng is not None else np.random.default_rng(scene.seed)
        shapes = [str(s) for s in rng.choice(np.asarray(scene.shapes), size=scene.num_objects)]
        colors = None
    objects = add_objects(spec, shapes, colors)
    return spec.compile(), objects, testcase


@dataclass(frozen=True)
class _Handles:
    """Index arrays of the objects' bodies, qpos and qvel addresses (in object order)."""

    body: np.ndarray
    qpos: np.ndarray
    dof: np.ndarray
    shapes: tuple[BlockShape, ...]


def _handles(model: mujoco.MjModel, objects: Sequence[SceneObject] | None = None) -> _Handles:
    objects = list(objects) if objects is not None else scene_objects(model)
    bodies, qpos, dofs = [], [], []
    for obj in objects:
        body = model.body(obj.body_name)
        if body.jntnum[0] != 1 or model.jnt_type[body.jntadr[0]] != mujoco.mjtJoint.mjJNT_FREE:
            raise ValueError(f'body {obj.body_name!r} has no free joint')
        bodies.append(body.id)
        qpos.append(model.jnt_qposadr[body.jntadr[0]])
        dofs.append(model.jnt_dofadr[body.jntadr[0]])
    return _Handles(np.asarray(bodies, dtype=int), np.asarray(qpos, dtype=int), np.asarray(dofs, dtype=int),
                    tuple(block_shape(obj.shape) for obj in objects))


def scene_objects(model: mujoco.MjModel) -> list[SceneObject]:
    """The object table of a compiled model, recovered from the body and geom names (see the module docstring)."""
    objects = []
    index = 0
    while (body_id := mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, object_body_name(index))) >= 0:
        geom = model.body_geomadr[body_id]
        name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_GEOM, geom) or ''
        kind = name[len(object_body_name(index)) + 1:].rpartition('_')[0]
        if kind not in SHAPES_BY_KIND:
            raise ValueError(f'cannot tell the shape of {object_body_name(index)} from its geom name {name!r}')
        rgb = model.geom_rgba[geom, :3]
        objects.append(SceneObject(index=index, body_name=object_body_name(index), shape=SHAPES_BY_KIND[kind].name,
                                   kind=kind, color_rgb01=(float(rgb[0]), float(rgb[1]), float(rgb[2]))))
        index += 1
    return objects


def _speeds(data: mujoco.MjData, handles: _Handles) -> tuple[np.ndarray, np.ndarray]:
    """Linear and angular speed of each object (free-joint qvel: 3 linear then 3 angular)."""
    qvel = data.qvel[handles.dof[:, None] + np.arange(6)]
    return np.linalg.norm(qvel[:, :3], axis=1), np.linalg.norm(qvel[:, 3:], axis=1)


def settle(model: mujoco.MjModel, data: mujoco.MjData, max_steps: int = 3000, *,
           linear_tol: float = 0.005, angular_tol: float = 0.05, check_every: int = 25,
           objects: Sequence[SceneObject] | None = None) -> SettleResult:
    """Step the physics until every object is nearly at rest, or `max_steps` steps were taken.

    At rest means every object's speed is below `linear_tol` (m/s) and its angular speed below
    `angular_tol` (rad/s) on two checks in a row; speeds are checked every `check_every` steps. Objects
    that fell off the table are left out. `objects` defaults to all the scene objects of the model.
    """
    handles = _handles(model, objects)
    steps = calm_checks = 0
    linear, angular = _speeds(data, handles)
    while steps < max_steps:
        n = min(check_every, max_steps - steps)
        mujoco.mj_step(model, data, nstep=n)
        steps += n
        linear, angular = _speeds(data, handles)
        # Objects that fell off the table never come to rest; they do not hold up the others.
        on_table = data.qpos[handles.qpos + 2] > _FALLEN_Z
        if np.all((linear < linear_tol) & (angular < angular_tol) | ~on_table):
            calm_checks += 1
            if calm_checks >= 2:  # at rest on two checks in a row, not just at the top of a bounce
                break
        else:
            calm_checks = 0
    on_table = data.qpos[handles.qpos + 2] > _FALLEN_Z
    linear, angular = linear[on_table], angular[on_table]
    settled = bool(np.all(linear < linear_tol) and np.all(angular < angular_tol))
    return SettleResult(steps=steps, settled=settled,
                        max_linear_speed=float(linear.max(initial=0.0)),
                        max_angular_speed=float(angular.max(initial=0.0)),
                        fallen=int(np.count_nonzero(~on_table)))


def find_explosions(model: mujoco.MjModel, data: mujoco.MjData, *, max_linear_speed: float = 2.0,
                    max_angular_speed: float = 60.0, min_height: float = -0.01,
                    objects: Sequence[SceneObject] | None = None, peak_speed: float | None = None,
                    max_peak_speed: float = 3.0, peak_horizontal_speed: float | None = None,
                    max_peak_horizontal_speed: float = 1.0) -> list[str]:
    """What looks physically broken in the scene, one message per problem (empty when all is well).

    Problems: non-finite state or a MuJoCo instability warning, an object whose centre is more than
    `-min_height` below the table surface, or one moving faster than the given speeds; and, when the
    caller tracked it over the primitive that led here (`Physics.peak_free_body_speed`), an object that moved
    faster than `max_peak_speed` at any step although everything may be at rest now, or
    (`peak_horizontal_speed`) faster than `max_peak_horizontal_speed` across the table.
    """
    problems = []
    if not (np.all(np.isfinite(data.qpos)) and np.all(np.isfinite(data.qvel))):
        problems.append('the state contains NaN or infinite values')
    if data.warning[mujoco.mjtWarning.mjWARN_BADQACC].number > 0:
        problems.append('MuJoCo reported bad accelerations (simulation unstable)')
    objects = list(objects) if objects is not None else scene_objects(model)
    handles = _handles(model, objects)
    linear, angular = _speeds(data, handles)
    heights = data.xpos[handles.body, 2]
    for obj, z, v, w in zip(objects, heights, linear, angular, strict=True):
        if not z >= min_height:
            problems.append(f'{obj.body_name} ({obj.kind}) is below the table: z = {z:.3f} m')
        if not v <= max_linear_speed:
            problems.append(f'{obj.body_name} ({obj.kind}) moves at {v:.2f} m/s')
        if not w <= max_angular_speed:
            problems.append(f'{obj.body_name} ({obj.kind}) spins at {w:.1f} rad/s')
    if peak_speed is not None and not peak_speed <= max_peak_speed:
        problems.append(f'an object moved at {peak_speed:.1f} m/s during the primitive (more than '
                        f'{max_peak_speed:.1f} m/s: flung)')
    if peak_horizontal_speed is not None and not peak_horizontal_speed <= max_peak_horizontal_speed:
        problems.append(f'an object slid at {peak_horizontal_speed:.1f} m/s across the table during the primitive '
                        f'(more than {max_peak_horizontal_speed:.1f} m/s: flung)')
    return problems


def check_not_exploded(model: mujoco.MjModel, data: mujoco.MjData,
                       objects: Sequence[SceneObject] | None = None, **limits: float) -> None:
    """Raise SceneError listing the problems `find_explosions` found (keyword arguments are its limits)."""
    problems = find_explosions(model, data, objects=objects, **limits)
    if problems:
        raise SceneError('the simulation exploded: ' + '; '.join(problems))


def object_states(model: mujoco.MjModel, data: mujoco.MjData,
                  workspace: Workspace = DEFAULT_WORKSPACE) -> list[ObjectState]:
    """Pose and workspace membership of every scene object (positions from the last forward pass).

    An object is inside the workspace when its centre's (x, y) is and its centre is above the table
    (z between workspace.z_min - 0.01 and workspace.z_max).
    """
    states = []
    for obj in scene_objects(model):
        body = model.body(obj.body_name).id
        position = data.xpos[body].copy()
        inside = bool(_inside_workspace(position, workspace)[0])
        states.append(ObjectState(index=obj.index, body_name=obj.body_name, shape=obj.shape,
                                  color_rgb01=obj.color_rgb01, position=position, quaternion=data.xquat[body].copy(),
                                  inside_workspace=inside))
    return states


def _inside_workspace(centres: np.ndarray, workspace: Workspace) -> np.ndarray:
    """Whether each object centre (rows of `centres`, metres) counts as inside the workspace.

    Its (x, y) must lie in the workspace and its z between 1 cm under the table and workspace.z_max: an object
    caught on the robot above the table is not in the scene.
    """
    xyz = np.atleast_2d(centres)
    return ((xyz[:, 0] >= workspace.x_min) & (xyz[:, 0] <= workspace.x_max)
            & (xyz[:, 1] >= workspace.y_min) & (xyz[:, 1] <= workspace.y_max)
            & (xyz[:, 2] >= workspace.z_min - 0.01) & (xyz[:, 2] <= workspace.z_max))


def _inside(data: mujoco.MjData, handles: _Handles, workspace: Workspace) -> np.ndarray:
    return _inside_workspace(data.qpos[handles.qpos[:, None] + np.arange(3)], workspace)


def _set_pose(data: mujoco.MjData, handles: _Handles, k: int, position: np.ndarray, quaternion: np.ndarray) -> None:
    adr, dof = handles.qpos[k], handles.dof[k]
    data.qpos[adr:adr + 3] = position
    data.qpos[adr + 3:adr + 7] = quaternion
    data.qvel[dof:dof + 6] = 0.0


def _random_quaternion(rng: np.random.Generator) -> np.ndarray:
    q = rng.normal(size=4)
    return q / np.linalg.norm(q)


def _release_pose(data: mujoco.MjData, handles: _Handles, k: int, released: np.ndarray, scene: SceneSpec,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random pose above the workspace whose bounding sphere clears the table and the objects below."""
    ws = scene.workspace
    margin = min(scene.drop_margin, (ws.x_max - ws.x_min) / 2, (ws.y_max - ws.y_min) / 2)
    x = rng.uniform(ws.x_min + margin, ws.x_max - margin)
    y = rng.uniform(ws.y_min + margin, ws.y_max - margin)
    quaternion = _random_quaternion(rng)
    radius = handles.shapes[k].bounding_radius
    z = ws.z_min + radius + scene.drop_clearance
    for j in np.flatnonzero(released):
        if j == k:
            continue
        other = data.qpos[handles.qpos[j]:handles.qpos[j] + 3]
        reach = radius + handles.shapes[j].bounding_radius + scene.drop_clearance
        if np.hypot(other[0] - x, other[1] - y) < reach:
            z = max(z, other[2] + reach)
    return np.array([x, y, z]), quaternion


def _park(data: mujoco.MjData, handles: _Handles, waiting: np.ndarray) -> None:
    for k in np.flatnonzero(waiting):
        _set_pose(data, handles, k, _park_position(int(k)), np.array([1.0, 0.0, 0.0, 0.0]))


def drop_objects(model: mujoco.MjModel, data: mujoco.MjData, objects: Sequence[SceneObject], scene: SceneSpec,
                 rng: np.random.Generator) -> SceneReport:
    """Drop `objects` one by one onto the workspace, settle, and re-drop those that ended up outside.

    Deterministic for a given `rng` state. Raises SceneError when the physics blows up.
    """
    start = time.perf_counter()
    handles = _handles(model, objects)
    report = SceneReport()
    count = len(handles.body)
    waiting = np.ones(count, dtype=bool)
    _park(data, handles, waiting)
    to_drop = list(range(count))
    for round_index in range(scene.max_redrop_rounds + 1):
        for k in to_drop:
            position, quaternion = _release_pose(data, handles, k, ~waiting, scene, rng)
            waiting[k] = False
            _set_pose(data, handles, k, position, quaternion)
            mujoco.mj_step(model, data, nstep=scene.drop_interval_steps)
            report.steps += scene.drop_interval_steps
            _park(data, handles, waiting)  # the parked objects fell a little during those steps
        result = settle(model, data, scene.max_settle_steps, objects=objects)
        report.steps += result.steps
        report.settled = result.settled
        to_drop = [int(k) for k in np.flatnonzero(~_inside(data, handles, scene.workspace))]
        if not to_drop or round_index == scene.max_redrop_rounds:
            break
        report.redrops += len(to_drop)
    report.outside = to_drop
    mujoco.mj_forward(model, data)
    check_not_exploded(model, data, objects)
    report.wall_time = time.perf_counter() - start
    return report


def place_objects(model: mujoco.MjModel, data: mujoco.MjData, objects: Sequence[SceneObject],
                  placements: Sequence[ObjectPlacement], max_settle_steps: int = 3000,
                  max_penetration: float = 0.0005, workspace: Workspace = DEFAULT_WORKSPACE) -> SceneReport:
    """Put each object at its test-case pose, separate any interpenetration, and let the scene settle.

    Objects whose geometry overlaps the table or an earlier object by more than `max_penetration` are
    moved out along the contact normal first (the later object of a pair moves), so small differences
    between our block meshes and the reference ones cannot make the physics explode.
    """
    if len(objects) != len(placements):
        raise ValueError(f'{len(objects)} objects for {len(placements)} placements')
    start = time.perf_counter()
    handles = _handles(model, objects)
    for k, placement in enumerate(placements):
        _set_pose(data, handles, k, np.asarray(placement.position), np.asarray(placement.quaternion))
    _separate(model, data, handles, max_penetration)
    result = settle(model, data, max_settle_steps, objects=objects)
    mujoco.mj_forward(model, data)
    check_not_exploded(model, data, objects)
    outside = [int(k) for k in np.flatnonzero(~_inside(data, handles, workspace))]
    return SceneReport(steps=result.steps, settled=result.settled, outside=outside,
                       wall_time=time.perf_counter() - start)


def _separate(model: mujoco.MjModel, data: mujoco.MjData, handles: _Handles, max_penetration: float,
              max_iterations: int = 50) -> None:
    """Move objects out of penetrations along the contact normals (a few passes of mj_forward)."""
    object_of_body = {int(b): k for k, b in enumerate(handles.body)}
    for _ in range(max_iterations):
        mujoco.mj_forward(model, data)
        moves = np.zeros((len(handles.body), 3))
        for contact in data.contact[:data.ncon]:
            if contact.dist >= -max_penetration:
                continue
            k1 = object_of_body.get(int(model.geom_bodyid[contact.geom1]))
            k2 = object_of_body.get(int(model.geom_bodyid[contact.geom2]))
            normal = np.asarray(contact.frame[:3])  # points from geom1 to geom2
            depth = -contact.dist + max_penetration / 2
            if k2 is not None and (k1 is None or k2 > k1):
                moves[k2] += normal * depth
            elif k1 is not None:
                moves[k1] -= normal * depth
        if not moves.any():
            return
        for k in np.flatnonzero(np.any(moves != 0.0, axis=1)):
            data.qpos[handles.qpos[k]:handles.qpos[k] + 3] += moves[k]


def build_scene(scene: SceneSpec, spec: mujoco.MjSpec | None = None) -> Scene:
    """Build, place and settle a scene in `spec` (default: a fresh cell.xml spec).

    Random scenes draw shapes and drop poses from np.random.default_rng(scene.seed); test cases place the
    file's objects. Raises SceneError when the physics blows up, TestCaseError for a malformed file.
    """
    spec = spec if spec is not None else load_cell_spec()
    rng = np.random.default_rng(scene.seed)
    model, objects, testcase = build_model(spec, scene, rng)
    data = mujoco.MjData(model)
    if model.nkey > 0:
        mujoco.mj_resetDataKeyframe(model, data, 0)
    mujoco.mj_forward(model, data)
    if testcase is not None:
        report = place_objects(model, data, objects, testcase.placements, scene.max_settle_steps,
                               workspace=scene.workspace)
        report.skipped_lines = list(testcase.skipped)
    else:
        report = drop_objects(model, data, objects, scene, rng)
    return Scene(model=model, data=data, objects=objects, report=report, testcase=testcase)

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The push-grasp environment: the simulated work cell behind a `reset(seed, scene)` / `step(primitive)` API.

    env = PushGraspEnv()
    observation = env.reset(seed=0, scene=10)                 # 10 random blocks
    observation, info = env.step(primitive)                   # a pushgrasp_control Primitive
    mask = env.object_mask(3)                                 # object 3's heightmap cells (goal masks)
    env.close()

Primitives run through the same plan and safety checks as on the robot (pushgrasp_control.motion) on a
simulated UR5 that moves by inverse kinematics and joint servos; a grasp succeeds only if an object is
still between the fingers after lifting, and the picked object then leaves the scene. Deterministic for
a seed on one machine. Plain Python: no ROS.

Object identity in the images: with `SimConfig.segmentation` (or `render(segmentation=True)`) a frame
also says which object every camera pixel sees, and `object_labels` / `object_mask` project that through
the heightmap projection, cell by cell consistent with the colour heightmap (the goal masks of goal-oriented
tasks).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import mujoco
import numpy as np

from pushgrasp_control.motion import (
    MotionLimits, PrimitiveRefused, RobotError, execute_plan, plan_primitive, validate_plan)
from pushgrasp_control.primitives import Primitive, PrimitiveType
from pushgrasp_perception.goal_mask import label_heightmap
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE, Workspace
from pushgrasp_sim.blocks import SHAPES_BY_NAME
from pushgrasp_sim.camera import CameraOptions, RGBDCamera
from pushgrasp_sim.kinematics import JOINT_NAMES
from pushgrasp_sim.physics import Physics
from pushgrasp_sim.randomization import DomainRandomizer, RandomizationOptions
from pushgrasp_sim.robot import SimRobot, SimRobotConfig
from pushgrasp_sim.scene import ObjectState, Scene, SceneSpec, build_scene, find_explosions, object_states

# The MJCF geom group of the arm and gripper (ur5.xml's default class), hidden from training renders.
ROBOT_GEOM_GROUP = 1
# Where picked objects go: far from the cell, floating (gravity compensated) and without contacts.
REMOVED_POSITION = np.array([3.0, 0.0, -2.0])


@dataclass
class SimConfig:
    """Settings of the simulated work cell."""

    workspace: Workspace = DEFAULT_WORKSPACE
    camera: CameraOptions = field(default_factory=CameraOptions)
    randomization: RandomizationOptions | None = None
    """Per-episode domain randomisation (None: off)."""
    limits: MotionLimits = field(default_factory=MotionLimits)
    robot: SimRobotConfig = field(default_factory=SimRobotConfig)
    default_num_objects: int = 10
    arm_in_view: bool = False
    """False (training): the camera does not render the arm and `step` leaves the arm where the primitive
    ended, as if it had been parked out of view; this saves the trip home, about a quarter of a primitive's
    simulated time. True: `step` drives the arm home after every primitive and the camera renders it."""
    change_threshold: float = 0.005
    """An object that moved farther than this (metres) changed the scene."""
    segmentation: bool = False
    """Every frame (`reset`, `step`, `render`) also carries `Observation.segmentation`."""
    resimulation_factors: tuple[int, ...] = (2, 4, 8)
    """When the physics blew up during a primitive (`StepInfo.unstable`), `step` runs the primitive again from
    the state before it with the physics timestep divided by each of these factors in turn (the control
    ticks stay 10 ms) until a run stays stable. In dense piles a finger pressing a block into its neighbours
    occasionally makes contacts stiffer than the 2 ms step resolves; the finer step resolves them, at a cost
    paid only then (in 30-object piles dropped as the reference does, 3 grasps in 40 trials needed 0.25 ms).
    Empty: report the blow-up at once."""
    settle_after_pick: float = 0.3
    """Seconds of physics after a grasp took objects out of the scene, the arm holding still: what leant on them
    falls before the next frame (a real arm is away at the bin meanwhile). 0: off."""
    max_object_speed: float = 3.0
    """m/s: an object moving faster than this at any physics step of a primitive means the physics blew up, even
    when everything is at rest again by its end. Nothing in this cell moves a block that fast: the arm moves at
    0.25 m/s, and a block falling 0.45 m reaches 3 m/s."""
    max_object_horizontal_speed: float = 1.0
    """m/s: the same across the table. The arm pushes at 0.25 m/s; over 230 primitives of 6 trials of 30 objects
    no block moved faster than 0.68 m/s across the table. A dense pile whose contacts the 2 ms step resolves
    badly can shoot blocks 40 cm across it at 1.75 m/s when a grasp squeezes it (trial 3170208554, step 12);
    at 1 ms nothing moves faster than 0.55 m/s there."""


@dataclass
class Observation:
    """One RGB-D frame of the static camera, with what is needed to turn it into a heightmap."""

    color: np.ndarray
    """(480, 640, 3) uint8 RGB."""
    depth: np.ndarray
    """(480, 640) float32 depth along the optical axis, metres; 0 where missing."""
    intrinsics: np.ndarray
    """3x3 camera matrix K."""
    camera_pose: np.ndarray
    """4x4 camera-to-base transform, OpenCV optical frame (x right, y down, z forward)."""
    time: float = 0.0
    """Simulated time of the frame, seconds."""
    segmentation: np.ndarray | None = None
    """(480, 640) int32 index of the scene object seen at each pixel, -1 where none is (table, arm);
    None unless segmentation was asked for."""


@dataclass(frozen=True)
class SimSnapshot:
    """A copy of the simulation state (`PushGraspEnv.snapshot`); `PushGraspEnv.restore` goes back to it."""

    data: mujoco.MjData
    removed: frozenset[int]
    scene: Scene


@dataclass
class StepInfo:
    """What happened when a primitive ran."""

    primitive: str
    """'push' or 'grasp'."""
    executed: bool = False
    """The motion ran to the end (not refused, not stopped by a collision or a blocked arm)."""
    grasp_success: bool = False
    grasped_object: int | None = None
    """Index of the object picked by a successful grasp."""
    picked_objects: list[int] = field(default_factory=list)
    """Every object a grasp took out of the scene: the grasped one, any other lifted with it (a double
    pick), or one the jaws lifted although the gripper's width said the grasp failed."""
    scene_changed: bool = False
    objects_remaining: int = 0
    """Objects still inside the workspace."""
    objects_left_workspace: list[int] = field(default_factory=list)
    """Objects that were inside the workspace before the primitive and are outside after it."""
    collision: bool = False
    """The arm or gripper touched the table (the motion stopped there)."""
    error: str = ''
    """Why the primitive was refused or stopped; empty when it ran."""
    unstable: list[str] = field(default_factory=list)
    """What looked physically broken after the primitive (objects flung or below the table); empty when all
    is well. A failure of the simulator, not of the primitive: the scene should be reset."""
    resimulated: int = 1
    """The timestep divisor of the run reported: 1 normally, a `SimConfig.resimulation_factors` entry when the
    primitive was run again after a blow-up (`unstable` then says whether that run was stable)."""
    physics_steps: int = 0
    """Physics steps the primitive took, re-runs included."""


def as_scene_spec(seed: int, scene: SceneSpec | int | str | os.PathLike | None, default_objects: int) -> SceneSpec:
    """A SceneSpec from a spec, a number of random objects, a test-case path, or None (the default count)."""
    if isinstance(scene, SceneSpec):
        return replace(scene, seed=seed)
    if scene is None:
        return SceneSpec(num_objects=default_objects, seed=seed)
    if isinstance(scene, (int, np.integer)):
        return SceneSpec(num_objects=int(scene), seed=seed)
    return SceneSpec(testcase=scene, seed=seed)


class PushGraspEnv:
    """The simulated work cell: reset to a scene, step with primitives, observe RGB-D frames."""

    def __init__(self, config: SimConfig | None = None) -> None:
        """Create the environment; the first `reset` builds a scene."""
        self.config = config or SimConfig()
        self.scene: Scene | None = None
        self.physics: Physics | None = None
        self.robot: SimRobot | None = None
        self.camera: RGBDCamera | None = None
        self._removed: set[int] = set()
        self._held: int | None = None
        self._object_of_geom: np.ndarray | None = None
        self._collision_at_reset: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._saved_data: mujoco.MjData | None = None
        self._saved_removed: frozenset[int] = frozenset()

    # --- episode ------------------------------------------------------------------------------------
    def reset(self, seed: int, scene: SceneSpec | int | str | os.PathLike | None = None) -> Observation:
        """Build a new scene (random objects from `seed`, or a test case) and return the first frame.

        Raises ValueError (TestCaseError) for a malformed test case, OSError for a missing file, SceneError
        when the scene could not be settled.
        """
        spec = as_scene_spec(seed, scene, self.config.default_num_objects)
        built = build_scene(replace(spec, workspace=self.config.workspace))
        self._close_camera()
        self.scene = built
        self.physics = Physics(built.model, built.data)
        self.robot = SimRobot(self.physics, self.config.robot)
        rng = np.random.default_rng(seed)
        if self.config.randomization is not None:
            DomainRandomizer(built.model, self.config.randomization).apply(built.model, rng)
            mujoco.mj_forward(built.model, built.data)
        camera = replace(self.config.camera, seed=seed)
        if not self.config.arm_in_view:
            camera = replace(camera, geom_groups=tuple(g for g in camera.geom_groups if g != ROBOT_GEOM_GROUP))
        self.camera = RGBDCamera(built.model, options=camera)
        # Model geom id -> object index; the last entry answers for geom id -1 (no geom).
        self._object_of_geom = np.full(built.model.ngeom + 1, -1, dtype=np.int32)
        for obj in built.objects:
            body = built.model.body(obj.body_name)
            self._object_of_geom[body.geomadr[0]:body.geomadr[0] + body.geomnum[0]] = obj.index
        self._removed = set()
        self._held = None
        model = built.model
        # What `_restore_state` needs: the contact and gravity settings `_remove` changes, and one state buffer
        # (a MjData holds the model's whole arena, so it is allocated per scene, not per primitive).
        self._collision_at_reset = (model.geom_contype.copy(), model.geom_conaffinity.copy(),
                                    model.body_gravcomp.copy())
        self._saved_data = mujoco.MjData(model)
        self._saved_removed = frozenset()
        return self.render()

    def render(self, segmentation: bool | None = None) -> Observation:
        """The camera's current RGB-D frame, with the object seen at each pixel when `segmentation`.

        `segmentation` None follows `SimConfig.segmentation`.
        """
        self._require_scene()
        if segmentation is None:
            segmentation = self.config.segmentation
        frame = self.camera.render(self.physics.data, segmentation=segmentation)
        objects = self._object_of_geom[frame.segmentation] if frame.segmentation is not None else None
        return Observation(color=frame.color, depth=frame.depth, intrinsics=frame.intrinsics,
                           camera_pose=frame.camera_pose, time=float(self.physics.data.time), segmentation=objects)

    def object_labels(self, observation: Observation | None = None) -> np.ndarray:
        """(rows, cols) int32 heightmap of the object index seen in each workspace cell, -1 where none is.

        Projected from `observation`'s segmentation exactly as its colour is projected into the colour
        heightmap (pushgrasp_perception.goal_mask.label_heightmap); without an observation, or one without
        segmentation, from a new frame of the current scene.
        """
        if observation is None or observation.segmentation is None:
            observation = self.render(segmentation=True)
        return label_heightmap(observation.segmentation, observation.depth, observation.intrinsics,
                               observation.camera_pose, self.config.workspace)

    def object_mask(self, index: int, observation: Observation | None = None) -> np.ndarray:
        """(rows, cols) bool heightmap of the cells where object `index` is seen (see `object_labels`).

        Empty when the object is hidden, picked or outside the workspace; ValueError for an index that is
        not an object of the scene.
        """
        self._require_scene()
        if not 0 <= index < len(self.scene.objects):
            raise ValueError(f'object {index} is not in the scene (objects 0..{len(self.scene.objects) - 1})')
        return self.object_labels(observation) == index

    def step(self, primitive: Primitive) -> tuple[Observation, StepInfo]:
        """Execute `primitive` in physics, then return to home and observe.

        A refused primitive (outside the workspace, too low, out of reach) does not move the arm. A primitive
        during which the physics blew up is run again with finer physics steps (`SimConfig.resimulation_factors`).
        """
        self._require_scene()
        steps_before = self.physics.steps_taken
        self._save_state()
        info = self._execute(primitive)
        for factor in self.config.resimulation_factors:
            if not info.unstable:
                break
            self._restore_state()
            with self._finer_physics(factor):
                info = self._execute(primitive)
            info.resimulated = factor
        info.physics_steps = self.physics.steps_taken - steps_before
        return self.render(), info

    def _execute(self, primitive: Primitive) -> StepInfo:
        """Run `primitive` (and go home when the arm is in view); what happened, without observing."""
        info = StepInfo(primitive=primitive.type.name.lower())
        self.physics.peak_free_body_speed = self.physics.peak_free_body_horizontal_speed = 0.0
        before = self._positions()
        inside_before = {s.index for s in self.object_states() if s.inside_workspace}
        try:
            plan = plan_primitive(primitive, self.config.limits)
            validate_plan(plan, self.config.limits)
        except PrimitiveRefused as error:
            info.error = f'refused: {error}'
        else:
            self.open_gripper()  # release anything still held before a new primitive
            outcome = execute_plan(self.robot, plan)
            info.executed = not outcome.error
            info.error = outcome.error
            info.collision = self.robot.last_collision is not None and 'collision' in outcome.error
            if primitive.type == PrimitiveType.GRASP:
                held = self.held_object()
                if held is not None and outcome.success:
                    info.grasp_success, info.grasped_object = True, held
                # Whatever the gripper lifted goes to the bin: a second object lifted with the first, one held
                # although the executor judged the grasp failed (jaws closed almost fully on a thin edge), one
                # riding on what the jaws hold. It left the scene like a picked object, and is counted as one
                # (not as a grasp success). Found before anything leaves: a rider touches the held object only
                # until that is gone.
                carried = self.carried_objects()
                while held is not None:
                    self._remove(held)
                    info.picked_objects.append(held)
                    held = self.held_object()
                for index in carried:
                    if index not in self._removed:
                        self._remove(index)
                        info.picked_objects.append(index)
                if info.picked_objects and self.config.settle_after_pick > 0:
                    # What leant on the picked objects falls now, so the next frame shows a scene at rest.
                    self.physics.step(max(1, round(self.config.settle_after_pick / self.physics.timestep)))
            if self.config.arm_in_view:
                self._home()
        after = self._positions()
        moved = [i for i in before if i not in self._removed and
                 np.linalg.norm(after[i] - before[i]) > self.config.change_threshold]
        info.scene_changed = bool(moved) or bool(info.picked_objects)
        states = self.object_states()
        info.objects_left_workspace = sorted(s.index for s in states
                                             if s.index in inside_before and not s.inside_workspace)
        info.objects_remaining = sum(s.inside_workspace for s in states)
        present = [o for o in self.scene.objects if o.index not in self._removed]
        exploded = find_explosions(self.physics.model, self.physics.data, objects=present,
                                   peak_speed=self.physics.peak_free_body_speed,
                                   max_peak_speed=self.config.max_object_speed,
                                   peak_horizontal_speed=self.physics.peak_free_body_horizontal_speed,
                                   max_peak_horizontal_speed=self.config.max_object_horizontal_speed)
        if exploded:
            info.unstable = exploded
            info.error = (info.error + '; ' if info.error else '') + 'simulation unstable: ' + '; '.join(exploded)
        return info

    # --- snapshots ------------------------------------------------------------------------------------
    def snapshot(self) -> SimSnapshot:
        """The simulation state now (physics and which objects were picked), for `restore`.

        For counterfactual questions ("would this grasp have worked?"): try, then restore. The camera's noise
        generator is not part of it, so with depth noise on the frames after a restore differ from the frames
        of a run without the detour (the default camera has no noise).
        """
        self._require_scene()
        data = mujoco.MjData(self.physics.model)
        mujoco.mj_copyData(data, self.physics.model, self.physics.data)
        return SimSnapshot(data=data, removed=frozenset(self._removed), scene=self.scene)

    def restore(self, snapshot: SimSnapshot) -> Observation:
        """Go back to `snapshot` (taken in this scene since its reset); the frame there."""
        if snapshot.scene is not self.scene:
            raise ValueError('the snapshot was taken in another scene (reset since)')
        self._restore(snapshot.data, snapshot.removed)  # the servo targets (data.ctrl) included
        return self.render()

    # --- robot-side helpers (also used by the sim bridge node) --------------------------------------
    def held_object(self) -> int | None:
        """Index of the object between both fingers and off the table, or None."""
        self._require_scene()
        for obj in self.scene.objects:
            if obj.index in self._removed:
                continue
            left, right = self.physics.finger_contacts(obj.body_name)
            if left and right and self.physics.body_position(obj.body_name)[2] > self._resting_height(obj.index):
                return obj.index
        return None

    def carried_objects(self) -> list[int]:
        """Indices of the objects the arm has lifted off the table, sorted.

        Those connected to the arm by contacts through objects that are all above their resting height and touch
        neither the table nor anything else. Besides the object held between the jaws, a block riding on it or
        wedged on a finger. Such a block goes wherever the arm goes (to the bin), and one left behind would hang in
        the air where the lift ended until the next primitive shook it loose.
        """
        self._require_scene()
        model, data = self.physics.model, self.physics.data
        robot = np.zeros(model.ngeom, dtype=bool)
        robot[self.physics.robot_geoms] = True
        owner = self._object_of_geom[:-1]
        lifted = {o.index for o in self.scene.objects if o.index not in self._removed and
                  self.physics.body_position(o.body_name)[2] > self._resting_height(o.index)}
        touches: dict[int, set[int]] = {i: set() for i in lifted}  # object -> objects (or -1: the arm) it touches
        grounded = set()  # touches the table or an object that is not lifted
        for g1, g2 in data.contact.geom[:data.ncon]:
            for a, b in ((g1, g2), (g2, g1)):
                obj = int(owner[a])
                if obj not in lifted:
                    continue
                other = int(owner[b])
                if robot[b]:
                    touches[obj].add(-1)
                elif other in lifted:
                    touches[obj].add(other)
                else:  # the table, the floor, or an object resting on the table
                    grounded.add(obj)
        carried = {i for i in lifted if -1 in touches[i] and i not in grounded}
        while True:  # grow through contacts among lifted, ungrounded objects
            more = {i for i in lifted if i not in carried and i not in grounded and touches[i] & carried}
            if not more:
                return sorted(carried)
            carried |= more

    def close_gripper(self) -> float:
        """Close the jaws; remember what they hold. The opening afterwards, metres."""
        width = self.robot.close_gripper()
        return width

    def open_gripper(self) -> float:
        """Open the jaws; an object that was lifted off the table is taken out of the scene (into a bin)."""
        held = self.held_object()
        self.robot.open_gripper()
        if held is not None:
            self._remove(held)
        return self.robot.gripper_width()

    def object_states(self) -> list[ObjectState]:
        """Pose and workspace membership of every object still in the scene."""
        self._require_scene()
        return [s for s in object_states(self.physics.model, self.physics.data, self.config.workspace)
                if s.index not in self._removed]

    def joint_state(self) -> tuple[list[str], np.ndarray]:
        """Names and positions (radians) of the arm joints."""
        self._require_scene()
        return list(JOINT_NAMES), self.physics.arm_qpos.copy()

    def close(self) -> None:
        """Release the renderer (call once; the environment can be reset again afterwards)."""
        self._close_camera()

    def __enter__(self) -> PushGraspEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals ----------------------------------------------------------------------------------
    def _require_scene(self) -> None:
        if self.scene is None:
            raise RuntimeError('call reset(seed, scene) before using the environment')

    def _close_camera(self) -> None:
        if self.camera is not None:
            self.camera.close()
            self.camera = None

    def _positions(self) -> dict[int, np.ndarray]:
        return {o.index: self.physics.body_position(o.body_name).copy() for o in self.scene.objects}

    def _resting_height(self, index: int) -> float:
        # An object counts as lifted when its centre is clearly above where it could rest on the table.
        return float(SHAPES_BY_NAME[self.scene.objects[index].shape].bounding_radius) + 0.02

    def _save_state(self) -> None:
        """Remember the physics state (warning counters included) and the removed objects, for `_restore_state`."""
        mujoco.mj_copyData(self._saved_data, self.physics.model, self.physics.data)
        self._saved_removed = frozenset(self._removed)

    def _restore_state(self) -> None:
        """Go back to the last `_save_state`."""
        self._restore(self._saved_data, self._saved_removed)

    def _restore(self, data: mujoco.MjData, removed: frozenset[int]) -> None:
        """Put back the physics state `data` and the set of objects `removed` then (objects removed since return)."""
        model = self.physics.model
        for index in self._removed - removed:
            body, geoms = self._object_parts(index)
            model.geom_contype[geoms] = self._collision_at_reset[0][geoms]
            model.geom_conaffinity[geoms] = self._collision_at_reset[1][geoms]
            model.body_gravcomp[body.id] = self._collision_at_reset[2][body.id]
        self._removed = set(removed)
        mujoco.mj_copyData(self.physics.data, model, data)
        mujoco.mj_forward(model, self.physics.data)

    def _object_parts(self, index: int) -> tuple[Any, slice]:
        """The body of object `index` (a MuJoCo model view) and the slice of its geoms."""
        body = self.physics.model.body(self.scene.objects[index].body_name)
        return body, slice(body.geomadr[0], body.geomadr[0] + body.geomnum[0])

    @contextmanager
    def _finer_physics(self, factor: int) -> Iterator[None]:
        """Physics steps `factor` times shorter, as many more per control tick, while in the block."""
        model, robot = self.physics.model, self.robot
        timestep, robot_config = model.opt.timestep, robot.config
        model.opt.timestep = timestep / factor
        robot.config = replace(robot_config, control_decimation=robot_config.control_decimation * factor)
        try:
            yield
        finally:
            model.opt.timestep, robot.config = timestep, robot_config

    def _remove(self, index: int) -> None:
        """Take an object out of the scene: park it far away, floating, without contacts."""
        model, data = self.physics.model, self.physics.data
        body, geoms = self._object_parts(index)
        model.geom_contype[geoms] = 0
        model.geom_conaffinity[geoms] = 0
        model.body_gravcomp[body.id] = 1.0
        joint = model.joint(body.jntadr[0])
        qpos, dof = joint.qposadr[0], joint.dofadr[0]
        data.qpos[qpos:qpos + 3] = REMOVED_POSITION + np.array([0.0, 0.3 * index, 0.0])
        data.qpos[qpos + 3:qpos + 7] = (1.0, 0.0, 0.0, 0.0)
        data.qvel[dof:dof + 6] = 0.0
        mujoco.mj_forward(model, data)
        self._removed.add(index)

    def _home(self) -> None:
        try:
            self.robot.go_home()
        except RobotError:
            pass  # the next primitive plans from wherever the arm is

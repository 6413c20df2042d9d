# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Motion plans for push and grasp primitives, their safety checks, and their execution on a `Robot`.

Positions are of the tool centre point (TCP) between the fingertips, in the robot base frame, metres.
A plan is an ordered list of waypoints reached by straight-line TCP moves; a waypoint's gripper
command runs once the TCP has reached it.

Push (fingers closed): above the start (APPROACH, closing the gripper there), down to the start at
`push_height` above the surface height at the chosen pixel (APPROACH; the pixel is free table in a good
push, so the fingertips pass 1 cm above the table and meet anything taller), the stroke of
`push_length` along the push direction at that height, cut short `push_edge_margin` inside the workspace
box (CONTACT), then straight up to `approach_height` above the start surface (RETREAT). A push cut shorter than
`min_push_stroke` is refused (`pushable_map` marks those of every cell, for policies to leave them out).

Grasp: above the target (APPROACH, opening the gripper there), down to `grasp_depth` below the surface
height at the pixel but never lower than `min_tcp_height` above the table (CONTACT, closing there),
straight up by `lift_height` (RETREAT), then on up to `approach_height` above the target when that is
higher (RETREAT). The grasp holds an object when the jaws are still apart after the lift.
"""

from __future__ import annotations

import enum
import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from pushgrasp_control.primitives import NUM_ROTATIONS, PUSH_LENGTH, Primitive, PrimitiveType, rotation_angle
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE, Workspace

PUSH_EDGE_MARGIN = 0.05
"""Metres: the default `MotionLimits.push_edge_margin`."""
MIN_PUSH_STROKE = 0.02
"""Metres: the default `MotionLimits.min_push_stroke`."""


class Phase(enum.IntEnum):
    """Phase of a primitive's motion (values match pushgrasp_interfaces/ExecutePrimitive feedback)."""

    APPROACH = 0
    CONTACT = 1
    RETREAT = 2


class GripperCommand(enum.Enum):
    """What the gripper does once the TCP reaches a waypoint."""

    NONE = 'none'
    OPEN = 'open'
    CLOSE = 'close'


class PrimitiveRefused(ValueError):
    """A primitive that must not be executed; the message says why."""


class RobotError(RuntimeError):
    """A robot backend failed (lost connection, protective stop, ...); the message says why."""


@dataclass(frozen=True)
class MotionLimits:
    """Safety limits and motion settings for executing primitives (metres, seconds, radians)."""

    workspace: Workspace = DEFAULT_WORKSPACE
    """Every waypoint's (x, y) must lie in this box; its z_min is the table surface."""
    min_tcp_height: float = 0.005
    """Lowest TCP height above the table."""
    max_reach: float = 0.85
    """Largest distance of the TCP from the base frame origin (a UR5 reaches 0.85 m)."""
    approach_height: float = 0.15
    """Height of the approach and retreat points above the target surface."""
    linear_speed: float = 0.25
    """TCP speed of free moves, m/s (ur_rtde's moveL default)."""
    linear_accel: float = 1.2
    """TCP acceleration of all moves, m/s^2 (ur_rtde's moveL default)."""
    contact_speed: float = 0.1
    """TCP speed of the moves that touch objects (push stroke, grasp descent), m/s."""
    contact_clearance: float = 0.03
    """Height above the target surface down to which the arm moves fast before slowing to contact speed."""
    push_height: float = 0.01
    """Height of the fingertips above the surface at the push start."""
    push_edge_margin: float = PUSH_EDGE_MARGIN
    """The push stroke ends at least this far inside the workspace edges: what the fingers push ahead of them stays
    in the workspace (reachable, and still to be picked) instead of being swept out of it."""
    min_push_stroke: float = MIN_PUSH_STROKE
    """A push whose stroke the edge margin cuts shorter than this is refused: started near an edge and pointing out
    of the workspace, it would go down, not move, and come back up (an action that cannot change the scene)."""
    grasp_depth: float = 0.03
    """How far below the surface at the grasp pixel the fingertips go."""
    lift_height: float = 0.1
    """How far a grasp lifts straight up after closing."""
    min_grasp_width: float = 0.005
    """Jaw opening after closing above which an object is between the fingers."""
    drop_position: tuple[float, float, float] | None = None
    """Where a held object is released after a grasp (a bin beside the workspace); None: keep holding it."""
    home_position: tuple[float, float, float] | None = None
    """Where the TCP waits after every primitive (out of the camera's view); None: stay above the target."""

    def __post_init__(self) -> None:
        positive = ('max_reach', 'approach_height', 'linear_speed', 'linear_accel', 'contact_speed', 'lift_height')
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f'{name} must be positive, got {getattr(self, name)}')
        for name in ('min_tcp_height', 'push_height', 'push_edge_margin', 'min_push_stroke', 'grasp_depth',
                     'min_grasp_width'):
            if not getattr(self, name) >= 0:
                raise ValueError(f'{name} must not be negative, got {getattr(self, name)}')

    @property
    def table_height(self) -> float:
        """Height (z) of the table surface in the base frame."""
        return self.workspace.z_min


@dataclass(frozen=True)
class Waypoint:
    """One straight-line TCP move of a plan and the gripper command run on arrival."""

    phase: Phase
    position: np.ndarray
    """TCP target (x, y, z) in the base frame, metres."""
    yaw: float
    """Gripper yaw about the base z axis, radians; the jaws close along (cos yaw, sin yaw)."""
    gripper: GripperCommand
    speed: float
    accel: float
    label: str
    """What the move is, for logs and error messages."""


@dataclass
class MotionPlan:
    """The waypoints that execute one primitive."""

    primitive: Primitive
    waypoints: list[Waypoint]
    stroke_length: float = 0.0
    """Length of the push stroke after clipping to the workspace (0 for a grasp)."""
    min_grasp_width: float = 0.0
    """Jaw opening after closing above which the grasp holds an object."""
    release: list[Waypoint] = field(default_factory=list)
    """Moves that take a held object to the drop position (run only when a grasp holds an object)."""
    park: list[Waypoint] = field(default_factory=list)
    """Moves to the home position, run after every primitive."""

    @property
    def is_grasp(self) -> bool:
        """Whether this plan executes a grasp."""
        return self.primitive.type == PrimitiveType.GRASP


@dataclass
class ExecutionResult:
    """How the execution of a plan ended."""

    success: bool
    """The plan completed (for a grasp: an object is held after lifting)."""
    grasp_width: float = 0.0
    """Jaw opening after closing, metres (0 for a push)."""
    scene_changed: bool = False
    """The executor itself saw the scene change (a held object); pushes cannot tell and report False."""
    error: str = ''
    """Why the plan failed, empty on success and on cancel."""
    cancelled: bool = False
    """The plan was stopped by a cancel request."""


class Robot(Protocol):
    """The narrow robot interface primitives run on (mock, simulator, ur_rtde or MoveIt backends)."""

    def move_linear(self, position: np.ndarray, yaw: float, speed: float, accel: float,
                    should_stop: Callable[[], bool] | None = None) -> bool:
        """Move the TCP in a straight line to `position` with gripper `yaw`; False if stopped before arrival."""
        ...

    def move_joints(self, joints: Sequence[float], speed: float, accel: float,
                    should_stop: Callable[[], bool] | None = None) -> bool:
        """Move to joint positions (radians) at joint `speed` (rad/s); False if stopped before arrival."""
        ...

    def open_gripper(self) -> None:
        """Open the gripper fully."""
        ...

    def close_gripper(self) -> float:
        """Close the gripper until it stops; the jaw opening in metres when it stopped."""
        ...

    def gripper_width(self) -> float:
        """The present jaw opening in metres."""
        ...

    def stop(self) -> None:
        """Stop any motion at once (callable from any thread)."""
        ...


def checked_linear_target(position: np.ndarray, yaw: float, speed: float, accel: float) -> np.ndarray:
    """The target of a move_linear call as a float array; ValueError for a non-finite pose or speed <= 0."""
    target = np.asarray(position, dtype=float)
    if target.shape != (3,) or not np.all(np.isfinite(target)) or not math.isfinite(yaw):
        raise ValueError(f'move_linear needs a finite 3-D position and yaw, got {position}, {yaw}')
    if not speed > 0 or not accel > 0:
        raise ValueError(f'speed and accel must be positive, got {speed}, {accel}')
    return target


def wrap_yaw(yaw: float) -> float:
    """The equivalent parallel-jaw yaw in [-pi/2, pi/2) (a grasp at yaw and yaw + pi is the same)."""
    return (yaw + math.pi / 2) % math.pi - math.pi / 2


def push_stroke_length(start: np.ndarray, direction: np.ndarray, length: float, workspace: Workspace,
                       margin: float = 0.0) -> np.ndarray:
    """The longest t <= length with start + t * direction still `margin` inside the workspace box (xy); 0 if none.

    `start` and `direction` are (..., >=2) arrays of base-frame points and unit directions (only x and y are
    used); the result has their broadcast leading shape.
    """
    start, direction = np.asarray(start, dtype=float), np.asarray(direction, dtype=float)
    t = np.full(np.broadcast_shapes(start.shape[:-1], direction.shape[:-1]), float(length))
    for axis, (low, high) in enumerate(((workspace.x_min + margin, workspace.x_max - margin),
                                        (workspace.y_min + margin, workspace.y_max - margin))):
        d, p = direction[..., axis], start[..., axis]
        with np.errstate(divide='ignore', invalid='ignore'):
            t = np.where(d > 1e-12, np.minimum(t, (high - p) / d), t)
            t = np.where(d < -1e-12, np.minimum(t, (low - p) / d), t)
    return np.maximum(t, 0.0)


def shortest_push_stroke(push_length: float, min_push_stroke: float) -> float:
    """The shortest stroke a push of `push_length` may keep after the edge margin.

    That is `min_push_stroke`, or the whole push when it is shorter.
    """
    return min(min_push_stroke, push_length)


@functools.lru_cache(maxsize=8)
def push_stroke_map(workspace: Workspace = DEFAULT_WORKSPACE, num_rotations: int = NUM_ROTATIONS,
                    push_length: float = PUSH_LENGTH, margin: float = PUSH_EDGE_MARGIN) -> np.ndarray:
    """(num_rotations, rows, cols) float: the stroke `plan_primitive` gives a push from each heightmap cell.

    Entry [i, r, c] is the length, metres, of the push of rotation i from the centre of cell (r, c) once it is
    cut short `margin` inside the workspace edges. Read-only (cached).
    """
    x, y = workspace.cell_centres()
    start = np.stack(np.broadcast_arrays(x[None, :], y[:, None]), axis=-1)  # (rows, cols, 2)
    angles = np.array([rotation_angle(i, num_rotations) for i in range(num_rotations)])
    direction = np.stack([np.cos(angles), np.sin(angles)], axis=-1)[:, None, None, :]  # (rotations, 1, 1, 2)
    strokes = push_stroke_length(start[None], direction, push_length, workspace, margin)
    strokes.flags.writeable = False
    return strokes


@functools.lru_cache(maxsize=8)
def pushable_map(workspace: Workspace = DEFAULT_WORKSPACE, num_rotations: int = NUM_ROTATIONS,
                 push_length: float = PUSH_LENGTH, margin: float = PUSH_EDGE_MARGIN,
                 min_push_stroke: float = MIN_PUSH_STROKE) -> np.ndarray:
    """(num_rotations, rows, cols) bool: the pushes `plan_primitive` executes rather than refuses.

    True where the stroke left inside the edge margin is at least `shortest_push_stroke`. Read-only, cached.
    """
    pushable = push_stroke_map(workspace, num_rotations, push_length, margin) >= shortest_push_stroke(
        push_length, min_push_stroke)
    pushable.flags.writeable = False
    return pushable


def _near(point: np.ndarray, surface: float, above: float, yaw: float, limits: MotionLimits) -> list[Waypoint]:
    """A fast move down to `contact_clearance` above the surface, if that is below the approach height."""
    near = surface + limits.contact_clearance
    if not point[2] < near < above:
        return []
    return [Waypoint(Phase.APPROACH, np.array([point[0], point[1], near]), yaw, GripperCommand.NONE,
                     limits.linear_speed, limits.linear_accel, 'fast down to just above the surface')]


def _park(yaw: float, limits: MotionLimits) -> list[Waypoint]:
    """The move to the home position, if one is set."""
    if limits.home_position is None:
        return []
    return [Waypoint(Phase.RETREAT, np.asarray(limits.home_position, dtype=float), yaw, GripperCommand.NONE,
                     limits.linear_speed, limits.linear_accel, 'home')]


def plan_primitive(primitive: Primitive, limits: MotionLimits) -> MotionPlan:
    """The waypoints of `primitive` under `limits` (the rules are in the module docstring).

    Raises PrimitiveRefused for a primitive that has no sensible motion (e.g. a push without direction);
    call `validate_plan` on the result before executing it.
    """
    target = np.asarray(primitive.position, dtype=float)
    if target.shape != (3,) or not np.all(np.isfinite(target)) or not math.isfinite(primitive.yaw):
        raise PrimitiveRefused(f'primitive pose is not a finite 3-D position and yaw: {target}, {primitive.yaw}')
    yaw = wrap_yaw(primitive.yaw)
    surface = target[2]
    fast, slow, accel = limits.linear_speed, min(limits.contact_speed, limits.linear_speed), limits.linear_accel
    above = surface + limits.approach_height

    if primitive.type == PrimitiveType.PUSH:
        direction = np.array([primitive.push_direction[0], primitive.push_direction[1], 0.0], dtype=float)
        norm = float(np.linalg.norm(direction))
        if not math.isfinite(norm) or norm < 1e-6:
            raise PrimitiveRefused('push has no horizontal push direction')
        if not primitive.push_length > 0:
            raise PrimitiveRefused(f'push length must be positive, got {primitive.push_length}')
        direction /= norm
        start = np.array([target[0], target[1], surface + limits.push_height])
        stroke = float(push_stroke_length(start, direction, primitive.push_length, limits.workspace,
                                          limits.push_edge_margin))
        # A start outside the workspace is refused by validate_plan, with that reason.
        if stroke < shortest_push_stroke(primitive.push_length, limits.min_push_stroke) and \
                limits.workspace.contains(*start[:2]):
            raise PrimitiveRefused(
                f'push points out of the workspace too close to its edge: its stroke, cut to end '
                f'{limits.push_edge_margin * 100:.1f} cm inside the workspace, would be {stroke * 100:.1f} cm '
                f'(less than min_push_stroke, {limits.min_push_stroke * 100:.1f} cm), too short to move anything')
        end = start + stroke * direction
        waypoints = [
            Waypoint(Phase.APPROACH, np.array([start[0], start[1], above]), yaw, GripperCommand.CLOSE, fast, accel,
                     'above the push start'),
            *_near(start, surface, above, yaw, limits),
            Waypoint(Phase.APPROACH, start, yaw, GripperCommand.NONE, slow, accel, 'down to the push start'),
            Waypoint(Phase.CONTACT, end, yaw, GripperCommand.NONE, slow, accel, 'push stroke'),
            Waypoint(Phase.RETREAT, np.array([end[0], end[1], above]), yaw, GripperCommand.NONE, fast, accel,
                     'up after the push'),
        ]
        return MotionPlan(primitive, waypoints, stroke_length=stroke, park=_park(yaw, limits))

    if primitive.type == PrimitiveType.GRASP:
        grasp_z = max(surface - limits.grasp_depth, limits.table_height + limits.min_tcp_height)
        grasp = np.array([target[0], target[1], grasp_z])
        lift = grasp + np.array([0.0, 0.0, limits.lift_height])
        waypoints = [
            Waypoint(Phase.APPROACH, np.array([target[0], target[1], above]), yaw, GripperCommand.OPEN, fast, accel,
                     'above the grasp'),
            *_near(grasp, surface, above, yaw, limits),
            Waypoint(Phase.CONTACT, grasp, yaw, GripperCommand.CLOSE, slow, accel, 'down to the grasp'),
            # Lift slowly: a block held on sloped or curved faces slips out of a fast lift.
            Waypoint(Phase.RETREAT, lift, yaw, GripperCommand.NONE, slow, accel, 'lift'),
        ]
        if above > lift[2]:
            waypoints.append(Waypoint(Phase.RETREAT, np.array([target[0], target[1], above]), yaw,
                                      GripperCommand.NONE, fast, accel, 'retreat above the grasp'))
        release = [] if limits.drop_position is None else [
            Waypoint(Phase.RETREAT, np.asarray(limits.drop_position, dtype=float), yaw, GripperCommand.OPEN, fast,
                     accel, 'to the drop position, release')]
        return MotionPlan(primitive, waypoints, min_grasp_width=limits.min_grasp_width, release=release,
                          park=_park(yaw, limits))

    raise PrimitiveRefused(f'unknown primitive type {primitive.type!r}')


def validate_plan(plan: MotionPlan, limits: MotionLimits) -> None:
    """Raise PrimitiveRefused (naming the waypoint and the limit) unless every waypoint is safe.

    A waypoint is safe when its (x, y) lies in the workspace box, it is at least `min_tcp_height` above
    the table and within `max_reach` of the base frame origin.
    """
    if not plan.waypoints:
        raise PrimitiveRefused('the plan has no waypoints')
    ws = limits.workspace
    lowest = limits.table_height + limits.min_tcp_height
    # The drop and home positions lie outside the workspace on purpose; everything else must be inside.
    outside_allowed = len(plan.waypoints)
    for index, waypoint in enumerate(plan.waypoints + plan.release + plan.park):
        x, y, z = (float(v) for v in waypoint.position)
        where = f'waypoint {index} ({waypoint.label}) at ({x:.3f}, {y:.3f}, {z:.3f}) m'
        if not all(math.isfinite(v) for v in (x, y, z, waypoint.yaw)):
            raise PrimitiveRefused(f'{where} is not finite')
        if index < outside_allowed and not ws.contains(x, y):
            raise PrimitiveRefused(f'{where} is outside the workspace x [{ws.x_min:.3f}, {ws.x_max:.3f}], '
                                   f'y [{ws.y_min:.3f}, {ws.y_max:.3f}]')
        if z < lowest - 1e-9:
            raise PrimitiveRefused(f'{where} is below the minimum TCP height z = {lowest:.3f} m '
                                   f'(table {limits.table_height:.3f} + {limits.min_tcp_height:.3f})')
        reach = math.sqrt(x * x + y * y + z * z)
        if reach > limits.max_reach:
            raise PrimitiveRefused(f'{where} is out of reach: {reach:.3f} m from the base, '
                                   f'limit {limits.max_reach:.3f} m')


def retreat_waypoint(plan: MotionPlan, reached: Waypoint | None, target: Waypoint) -> Waypoint | None:
    """The move that takes the TCP up and clear after a move from `reached` to `target` failed part-way.

    The arm stopped somewhere on the line between the two; it goes back to above `reached` at the height of
    the plan's first (approach) waypoint, or higher when either end of the line was higher. That line runs over
    the path the arm has just cleared and only rises, so it does not drag the fingers sideways through clutter,
    as a straight move from a low stop to the next primitive's approach point would. None when the failed move
    was the first of the plan (its start is not known; the arm was up at the previous primitive's end).
    """
    if reached is None:
        return None
    position = np.asarray(reached.position, dtype=float)
    height = max(float(position[2]), float(target.position[2]), float(plan.waypoints[0].position[2]))
    slowest = min(w.speed for w in plan.waypoints)
    return Waypoint(Phase.RETREAT, np.array([position[0], position[1], height]), reached.yaw, GripperCommand.NONE,
                    slowest, reached.accel, 'back up and clear after a failed move')


def _recover(robot: Robot, plan: MotionPlan, retreat: Waypoint | None) -> None:
    """After a failed primitive, back up clear of the objects, then move home (out of the camera view).

    A robot that refuses a move stays where it is (e.g. a protective stop that needs an operator).
    """
    try:
        for waypoint in ([retreat] if retreat is not None else []) + plan.park:
            if not robot.move_linear(waypoint.position, waypoint.yaw, waypoint.speed, waypoint.accel):
                return
    except Exception:  # the original error is what counts
        pass


def execute_plan(robot: Robot, plan: MotionPlan, on_phase: Callable[[Phase, float], None] | None = None,
                 should_cancel: Callable[[], bool] | None = None) -> ExecutionResult:
    """Run `plan` on `robot`, reporting (phase, progress in 0..1) to `on_phase` before every move.

    `should_cancel` is polled before every move and during moves; when it turns true the robot is stopped
    and the result says `cancelled`. Robot errors stop the robot and are returned in `error`.
    """
    def report(phase: Phase, progress: float) -> None:
        if on_phase is not None:
            on_phase(phase, progress)

    def cancelled() -> bool:
        return should_cancel is not None and should_cancel()

    def stop() -> None:
        try:
            robot.stop()
        except Exception:  # stopping is best effort once something already went wrong
            pass

    total = len(plan.waypoints) + len(plan.release) + len(plan.park)
    grasp_width = 0.0
    reached_waypoint: Waypoint | None = None  # the last waypoint the TCP arrived at
    moving_to: Waypoint | None = None

    def run(waypoints: list[Waypoint], start: int) -> ExecutionResult | None:
        """Move through `waypoints`; a result when the plan must end early, else None."""
        nonlocal grasp_width, reached_waypoint, moving_to
        for index, waypoint in enumerate(waypoints, start):
            if cancelled():
                stop()
                return ExecutionResult(success=False, cancelled=True)
            report(waypoint.phase, index / total)
            moving_to = waypoint
            reached = robot.move_linear(waypoint.position, waypoint.yaw, waypoint.speed, waypoint.accel, cancelled)
            if not reached:
                stop()
                if cancelled():
                    return ExecutionResult(success=False, cancelled=True)
                return ExecutionResult(success=False, error=f'motion to waypoint {index} ({waypoint.label}) '
                                                            'was stopped before arrival')
            reached_waypoint = waypoint
            if waypoint.gripper == GripperCommand.OPEN:
                robot.open_gripper()
            elif waypoint.gripper == GripperCommand.CLOSE:
                width = float(robot.close_gripper())
                if plan.is_grasp:
                    grasp_width = width
        return None

    try:
        ended = run(plan.waypoints, 0)
        if ended is not None:
            if not ended.cancelled:
                _recover(robot, plan, retreat_waypoint(plan, reached_waypoint, moving_to))
            return ended
        held = plan.is_grasp and float(robot.gripper_width()) > plan.min_grasp_width
        ended = run((plan.release if held else []) + plan.park, len(plan.waypoints))
        if ended is not None:
            return ended
        report(plan.waypoints[-1].phase, 1.0)
        if not plan.is_grasp:
            return ExecutionResult(success=True)
        return ExecutionResult(success=held, grasp_width=grasp_width, scene_changed=held)
    except Exception as error:  # any backend failure ends the primitive, not the caller
        stop()
        if not cancelled():
            retreat = retreat_waypoint(plan, reached_waypoint, moving_to) if moving_to is not None else None
            _recover(robot, plan, retreat)
        return ExecutionResult(success=False, error=f'robot error: {error}')

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Motion plans of push and grasp primitives, their safety checks and their execution."""

import math

import numpy as np
import pytest

from pushgrasp_control.backends.mock import MockRobot
from pushgrasp_control.motion import (
    GripperCommand, MotionLimits, Phase, PrimitiveRefused, RobotError, execute_plan, plan_primitive, push_stroke_map,
    validate_plan, wrap_yaw)
from pushgrasp_control.primitives import PrimitiveType, primitive_from_pixel
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE, Workspace

LIMITS = MotionLimits()


def make_primitive(kind, rotation=0, row=112, col=112, surface=0.0, workspace=DEFAULT_WORKSPACE):
    height = np.zeros(workspace.shape, np.float32)
    height[row, col] = surface
    return primitive_from_pixel(kind, rotation, row, col, height, workspace)


def test_push_plan_follows_the_rules():
    push = make_primitive(PrimitiveType.PUSH, rotation=4)  # along +y
    plan = plan_primitive(push, LIMITS)
    validate_plan(plan, LIMITS)
    assert [w.phase for w in plan.waypoints] == [Phase.APPROACH, Phase.APPROACH, Phase.APPROACH, Phase.CONTACT,
                                                 Phase.RETREAT]
    assert plan.waypoints[0].gripper == GripperCommand.CLOSE
    above, near, start, end, retreat = (w.position for w in plan.waypoints)
    x, y, z = push.position
    # Fast down to just above the surface, then slow for the last centimetres.
    np.testing.assert_allclose(near, [x, y, z + LIMITS.contact_clearance])
    assert plan.waypoints[1].speed == pytest.approx(LIMITS.linear_speed)
    assert plan.waypoints[2].speed == pytest.approx(LIMITS.contact_speed)
    np.testing.assert_allclose(start, [x, y, z + LIMITS.push_height])
    np.testing.assert_allclose(above, [x, y, z + LIMITS.approach_height])
    np.testing.assert_allclose(end, start + [0.0, 0.1, 0.0], atol=1e-12)
    np.testing.assert_allclose(retreat, [end[0], end[1], z + LIMITS.approach_height])
    assert plan.stroke_length == pytest.approx(0.1)
    assert plan.waypoints[3].speed == pytest.approx(LIMITS.contact_speed)


def test_push_stroke_is_clipped_to_the_workspace():
    ws = DEFAULT_WORKSPACE
    col = ws.shape[1] - 13  # 2.5 cm from the +x edge, pushing along +x
    plan = plan_primitive(make_primitive(PrimitiveType.PUSH, rotation=0, col=col), MotionLimits(push_edge_margin=0.0))
    validate_plan(plan, LIMITS)
    end = plan.waypoints[3].position
    assert end[0] == pytest.approx(ws.x_max)
    assert plan.stroke_length == pytest.approx(ws.x_max - plan.waypoints[2].position[0])
    assert plan.stroke_length < 0.03
    with pytest.raises(PrimitiveRefused, match='too short to move anything'):  # 1.5 cm from the edge: 1.5 cm < 2 cm
        plan_primitive(make_primitive(PrimitiveType.PUSH, rotation=0, col=ws.shape[1] - 8),
                       MotionLimits(push_edge_margin=0.0))


def test_push_stroke_ends_the_edge_margin_inside_the_workspace():
    ws = DEFAULT_WORKSPACE
    margin = LIMITS.push_edge_margin
    assert margin > 0
    near_edge = plan_primitive(make_primitive(PrimitiveType.PUSH, rotation=0, col=ws.shape[1] - 50), LIMITS)
    assert near_edge.waypoints[3].position[0] == pytest.approx(ws.x_max - margin)  # cut short, 10 cm -> 5 cm
    inside = plan_primitive(make_primitive(PrimitiveType.PUSH, rotation=0, col=60), LIMITS)
    assert inside.stroke_length == pytest.approx(0.1)  # far from the edges: the full stroke
    # At the -x edge pushing -x the stroke would be 0: refused (it would go down, not move, and come back up).
    with pytest.raises(PrimitiveRefused, match=r'out of the workspace.* 0\.0 cm'):
        plan_primitive(make_primitive(PrimitiveType.PUSH, rotation=8, col=10), LIMITS)
    inward = plan_primitive(make_primitive(PrimitiveType.PUSH, rotation=0, col=10), LIMITS)  # same cell, pushing +x
    assert inward.stroke_length == pytest.approx(0.1)
    with pytest.raises(ValueError, match='push_edge_margin'):
        MotionLimits(push_edge_margin=-0.01)
    with pytest.raises(ValueError, match='min_push_stroke'):
        MotionLimits(min_push_stroke=-0.01)


@pytest.mark.parametrize('margin', [0.0, 0.05])
def test_push_stroke_map_is_the_stroke_of_every_planned_push(margin):
    """The policy's view of the strokes (one array for every cell and rotation) is what the planner executes."""
    ws = DEFAULT_WORKSPACE
    strokes = push_stroke_map(ws, 16, 0.1, margin)
    assert strokes.shape == (16, *ws.shape) and not strokes.flags.writeable
    limits = MotionLimits(push_edge_margin=margin, min_push_stroke=0.0)
    rng = np.random.default_rng(0)
    cells = [(0, 0, 0), (8, 0, 0), (4, ws.shape[0] - 1, 5), (12, 3, ws.shape[1] - 1), (2, 100, 100)]
    cells += [(int(rng.integers(16)), int(rng.integers(ws.shape[0])), int(rng.integers(ws.shape[1])))
              for _ in range(40)]
    for rotation, row, col in cells:
        plan = plan_primitive(make_primitive(PrimitiveType.PUSH, rotation=rotation, row=row, col=col), limits)
        assert plan.stroke_length == pytest.approx(strokes[rotation, row, col], abs=1e-9), (rotation, row, col)
    assert strokes[0, 112, 112] == pytest.approx(0.1) and strokes.max() == pytest.approx(0.1)
    # The -x edge column pushing -x: nothing left of the stroke but the 1 mm to the edge from the cell centre.
    assert strokes[8, :, 0].max() == pytest.approx(max(0.0, 0.001 - margin))


def test_grasp_plan_depth_clamp_and_lift():
    tall = plan_primitive(make_primitive(PrimitiveType.GRASP, rotation=2, surface=0.06), LIMITS)
    validate_plan(tall, LIMITS)
    assert [w.phase for w in tall.waypoints] == [Phase.APPROACH, Phase.APPROACH, Phase.CONTACT, Phase.RETREAT,
                                                 Phase.RETREAT]
    assert [w.gripper for w in tall.waypoints][:3] == [GripperCommand.OPEN, GripperCommand.NONE,
                                                       GripperCommand.CLOSE]
    assert tall.waypoints[1].position[2] == pytest.approx(0.06 + LIMITS.contact_clearance)
    grasp_z = tall.waypoints[2].position[2]
    assert grasp_z == pytest.approx(0.06 - LIMITS.grasp_depth)
    assert tall.waypoints[3].position[2] - grasp_z >= 0.1 - 1e-9
    assert tall.waypoints[0].yaw == pytest.approx(2 * 2 * math.pi / 16)
    # A flat object: never lower than table + min_tcp_height.
    flat = plan_primitive(make_primitive(PrimitiveType.GRASP, surface=0.02), LIMITS)
    assert flat.waypoints[2].position[2] == pytest.approx(LIMITS.table_height + LIMITS.min_tcp_height)


def test_grasp_yaw_is_wrapped_to_half_turn():
    plan = plan_primitive(make_primitive(PrimitiveType.GRASP, rotation=12, surface=0.05), LIMITS)  # 270 deg
    assert plan.waypoints[0].yaw == pytest.approx(math.pi / 2 - math.pi)
    assert wrap_yaw(math.pi) == pytest.approx(0.0)


def test_validate_refuses_out_of_workspace():
    push = make_primitive(PrimitiveType.PUSH)
    push.position = np.array([DEFAULT_WORKSPACE.x_max + 0.05, 0.0, 0.0])
    with pytest.raises(PrimitiveRefused, match='outside the workspace'):
        validate_plan(plan_primitive(push, LIMITS), LIMITS)


def test_validate_refuses_too_low():
    push = make_primitive(PrimitiveType.PUSH)
    push.position[2] = LIMITS.table_height - 0.03  # a surface below the table: the push would dig in
    with pytest.raises(PrimitiveRefused, match='below the minimum TCP height'):
        validate_plan(plan_primitive(push, LIMITS), LIMITS)


def test_validate_refuses_unreachable():
    wide = Workspace(x_min=0.2, x_max=1.2, y_min=-0.3, y_max=0.3, z_min=0.0, z_max=0.4, resolution=0.002)
    limits = MotionLimits(workspace=wide)
    near = make_primitive(PrimitiveType.GRASP, row=150, col=150, surface=0.05, workspace=wide)  # x ~ 0.5 m
    validate_plan(plan_primitive(near, limits), limits)
    far = make_primitive(PrimitiveType.GRASP, row=150, col=450, surface=0.05, workspace=wide)  # x ~ 1.1 m
    with pytest.raises(PrimitiveRefused, match='out of reach'):
        validate_plan(plan_primitive(far, limits), limits)


def test_plan_refuses_push_without_direction():
    push = make_primitive(PrimitiveType.PUSH)
    push.push_direction = np.array([0.0, 0.0, 1.0])
    with pytest.raises(PrimitiveRefused, match='direction'):
        plan_primitive(push, LIMITS)


def test_execute_push_on_mock_reports_phases_in_order():
    robot = MockRobot(time_scale=math.inf)
    plan = plan_primitive(make_primitive(PrimitiveType.PUSH, rotation=4), LIMITS)
    reports = []
    result = execute_plan(robot, plan, on_phase=lambda phase, progress: reports.append((phase, progress)))
    assert result.success and not result.cancelled and result.error == ''
    assert [phase for phase, _ in reports] == [Phase.APPROACH, Phase.APPROACH, Phase.APPROACH, Phase.CONTACT,
                                               Phase.RETREAT, Phase.RETREAT]
    progress = [p for _, p in reports]
    assert progress == sorted(progress) and progress[-1] == 1.0
    np.testing.assert_allclose(robot.tcp_position, plan.waypoints[-1].position)


class HoldingRobot(MockRobot):
    """A mock whose jaws stop on a 4 cm object."""

    def close_gripper(self):
        super().close_gripper()
        self._width = 0.04
        return 0.04


def test_grasp_success_is_jaw_width_after_closing():
    plan = plan_primitive(make_primitive(PrimitiveType.GRASP, surface=0.05), LIMITS)
    empty = execute_plan(MockRobot(time_scale=math.inf), plan)
    assert not empty.success and empty.grasp_width == 0.0 and empty.error == '' and not empty.scene_changed
    held = execute_plan(HoldingRobot(time_scale=math.inf), plan)
    assert held.success and held.grasp_width == pytest.approx(0.04) and held.scene_changed


def test_execute_cancel_stops_before_next_move():
    robot = MockRobot(time_scale=math.inf)
    plan = plan_primitive(make_primitive(PrimitiveType.PUSH), LIMITS)
    reports = []
    result = execute_plan(robot, plan, on_phase=lambda phase, progress: reports.append(phase),
                          should_cancel=lambda: len(reports) >= 2)
    assert result.cancelled and not result.success
    assert len(reports) == 2
    np.testing.assert_allclose(robot.tcp_position, plan.waypoints[0].position)


class FailingRobot(MockRobot):
    """A robot whose controller drops out on the second move."""

    moves = 0

    def move_linear(self, *args, **kwargs):
        self.moves += 1
        if self.moves == 2:
            raise RobotError('protective stop')
        return super().move_linear(*args, **kwargs)


def test_execute_returns_robot_errors():
    plan = plan_primitive(make_primitive(PrimitiveType.PUSH), LIMITS)
    result = execute_plan(FailingRobot(time_scale=math.inf), plan)
    assert not result.success and not result.cancelled
    assert 'protective stop' in result.error


class StoppedOnContactRobot(MockRobot):
    """A mock that meets an object half-way down its `stop_on`-th move and halts there (a protective stop)."""

    def __init__(self, stop_on: int, **kwargs):
        super().__init__(**kwargs)
        self.stop_on, self.moves, self.targets = stop_on, 0, []

    def move_linear(self, position, yaw, speed, accel, should_stop=None):
        self.moves += 1
        self.targets.append(np.asarray(position, dtype=float).copy())
        if self.moves == self.stop_on:
            super().move_linear((self.tcp_position + np.asarray(position)) / 2, yaw, speed, accel)
            raise RobotError('protective stop: contact force 120 N exceeds 100 N')
        return super().move_linear(position, yaw, speed, accel, should_stop)


@pytest.mark.parametrize('kind, stop_on', [(PrimitiveType.GRASP, 3), (PrimitiveType.PUSH, 4)])
def test_a_stopped_primitive_backs_up_clear_before_anything_else(kind, stop_on):
    # Stopped low among objects, the arm must not move sideways through them (to home or to the next
    # primitive): it goes back over the path it came along, up to the approach height, first.
    home = (0.3, -0.35, 0.4)
    limits = MotionLimits(home_position=home)
    plan = plan_primitive(make_primitive(kind, rotation=2, surface=0.04), limits)
    robot = StoppedOnContactRobot(stop_on, time_scale=math.inf)
    result = execute_plan(robot, plan)
    assert not result.success and 'protective stop' in result.error
    reached = plan.waypoints[stop_on - 2].position
    retreat, park = robot.targets[stop_on], robot.targets[stop_on + 1]
    np.testing.assert_allclose(retreat[:2], reached[:2])
    assert retreat[2] == pytest.approx(max(plan.waypoints[0].position[2], reached[2]))
    np.testing.assert_allclose(park, home)
    assert len(robot.targets) == stop_on + 2


def test_a_primitive_stopped_on_its_first_move_goes_home_directly():
    limits = MotionLimits(home_position=(0.3, -0.35, 0.4))
    plan = plan_primitive(make_primitive(PrimitiveType.GRASP), limits)
    robot = StoppedOnContactRobot(1, time_scale=math.inf)
    execute_plan(robot, plan)
    assert len(robot.targets) == 2
    np.testing.assert_allclose(robot.targets[1], (0.3, -0.35, 0.4))


def test_limits_reject_nonsense():
    with pytest.raises(ValueError, match='linear_speed'):
        MotionLimits(linear_speed=0.0)
    with pytest.raises(ValueError, match='min_tcp_height'):
        MotionLimits(min_tcp_height=-0.01)

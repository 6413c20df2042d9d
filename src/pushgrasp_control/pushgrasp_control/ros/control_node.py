# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The control node: executes push and grasp primitives on a robot backend through `execute_primitive`.

Action: execute_primitive (pushgrasp_interfaces/ExecutePrimitive), one goal at a time.
Backends: 'mock' (in-process mock hardware), 'sim' (the sim bridge node over ROS), 'ur_rtde' (a UR at
`robot_ip`), 'moveit' (moveit_py for `robot_model` with the gripper chosen by `gripper`; see
pushgrasp_control.ros.moveit_backend). A backend that cannot be created leaves the node up, aborting every goal
with the reason.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from pushgrasp_interfaces.action import ExecutePrimitive
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.action.server import ServerGoalHandle
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node

from pushgrasp_control.backends import BACKENDS, BackendUnavailable, make_robot
from pushgrasp_control.backends.moveit import MODELS
from pushgrasp_control.backends.robotiq import DEFAULT_PORT
from pushgrasp_control.motion import (
    ExecutionResult, MotionLimits, Phase, PrimitiveRefused, Robot, RobotError, execute_plan, plan_primitive,
    validate_plan)
from pushgrasp_control.ros.conversions import msg_to_primitive
from pushgrasp_control.ros.moveit_backend import DEFAULT_GRIPPER_ACTIONS, GRIPPERS, MoveItSettings, make_moveit_robot
from pushgrasp_control.ros.sim_backend import SimBridgeRobot
from pushgrasp_perception.ros.parameters import ParamSpec, declare_parameters
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE, Workspace
from pushgrasp_perception.ros.node_main import spin_node

_DEFAULT_LIMITS = MotionLimits()
_MOVEIT = MoveItSettings()
CANCEL_STATE_TIMEOUT = 1.0
"""Seconds to wait for the action server to mark a goal as canceling after its cancel was accepted."""


def point(values: list[float], name: str) -> tuple[float, float, float]:
    """A parameter [x, y, z] as a point; anything else is a ValueError naming the parameter."""
    if len(values) != 3:
        raise ValueError(f'{name} must be [x, y, z], got {list(values)}')
    return (float(values[0]), float(values[1]), float(values[2]))


class ControlNode(Node):
    """Plans, checks and executes one primitive at a time on the configured robot backend."""

    PARAMETERS: tuple[ParamSpec, ...] = (
        ParamSpec('backend', 'mock', f'Robot backend: {", ".join(BACKENDS)}.', read_only=True),
        ParamSpec('robot_ip', '192.168.1.10',
                  "IP address of the UR controller (ur_rtde backend; moveit backend with gripper 'robotiq_socket').",
                  read_only=True),
        ParamSpec('robot_model', _MOVEIT.robot_model,
                  f'Robot for the moveit backend: {", ".join(MODELS)} (ur5: group ur_manipulator, tip tool0, '
                  'frame base; hsr: group arm, tip hand_palm_link, frame base_footprint).', read_only=True),
        ParamSpec('moveit_tcp_offset', _MOVEIT.tcp_offset,
                  "moveit backend: distance (metres) along the tip link's z axis from the tip link to the point "
                  'between the fingertips; must be set (the default, NaN, refuses to start the backend).',
                  read_only=True),
        ParamSpec('moveit_node_name', _MOVEIT.node_name,
                  "moveit backend: name of moveit_py's own node; give it the MoveIt configuration "
                  '(MoveItConfigsBuilder(...).to_dict()) as parameters.', read_only=True),
        ParamSpec('gripper', _MOVEIT.gripper,
                  f'moveit backend gripper: {", ".join(GRIPPERS)}. robotiq_socket: a Robotiq 2F-85 through the '
                  'URCap socket at robot_ip; gripper_action: a control_msgs/action/GripperCommand action '
                  '(gripper_action); none: no gripper; auto: robotiq_socket for ur5, gripper_action for hsr.',
                  read_only=True),
        ParamSpec('gripper_action', _MOVEIT.gripper_action,
                  "GripperCommand action of gripper gripper_action; empty: the robot model's default ("
                  + ', '.join(f'{model}: {name}' for model, name in DEFAULT_GRIPPER_ACTIONS.items()) + ').',
                  read_only=True),
        ParamSpec('robotiq_port', DEFAULT_PORT, 'TCP port of the Robotiq URCap socket (gripper robotiq_socket).',
                  read_only=True),
        ParamSpec('gripper_open_position', _MOVEIT.gripper_open_position,
                  'GripperCommand position that opens the gripper (gripper_action), in the controller\'s units.',
                  read_only=True),
        ParamSpec('gripper_closed_position', _MOVEIT.gripper_closed_position,
                  'GripperCommand position that closes the gripper fully (gripper_action).', read_only=True),
        ParamSpec('gripper_open_width', _MOVEIT.gripper_open_width,
                  'Jaw opening in metres at gripper_open_position; the width is taken as linear in the reported '
                  'position, 0 at gripper_closed_position (gripper_action).', read_only=True),
        ParamSpec('gripper_max_effort', _MOVEIT.gripper_max_effort,
                  'GripperCommand max_effort of open and close (gripper_action), e.g. newtons.', read_only=True),
        ParamSpec('gripper_timeout', _MOVEIT.gripper_timeout,
                  'Seconds to wait for the gripper action server and for one finger motion (gripper_action).',
                  read_only=True),
        ParamSpec('workspace_bounds', DEFAULT_WORKSPACE.bounds(),
                  'Workspace box [x_min, x_max, y_min, y_max, z_min, z_max] in the base frame, metres; '
                  'z_min is the table surface.', read_only=True),
        ParamSpec('min_tcp_height', _DEFAULT_LIMITS.min_tcp_height, 'Lowest TCP height above the table, metres.',
                  read_only=True),
        ParamSpec('max_reach', _DEFAULT_LIMITS.max_reach,
                  'Largest TCP distance from the base frame origin, metres.', read_only=True),
        ParamSpec('approach_height', _DEFAULT_LIMITS.approach_height,
                  'Height of approach and retreat points above the target surface, metres.', read_only=True),
        ParamSpec('linear_speed', _DEFAULT_LIMITS.linear_speed, 'TCP speed of free moves, m/s.', read_only=True),
        ParamSpec('linear_accel', _DEFAULT_LIMITS.linear_accel, 'TCP acceleration, m/s^2.', read_only=True),
        ParamSpec('park', True, 'Move to home_position after every primitive.', read_only=True),
        ParamSpec('home_position', [0.15, 0.0, 0.30],
                  'TCP position [x, y, z] after every primitive, out of the camera view, metres.', read_only=True),
        ParamSpec('release', True, 'Release a grasped object over drop_position.', read_only=True),
        ParamSpec('drop_position', [0.30, -0.35, 0.15],
                  'TCP position [x, y, z] where a grasped object is released (a bin), metres.', read_only=True),
        ParamSpec('mock_time_scale', 1.0,
                  'Mock backend speed-up: a motion of duration T takes T / mock_time_scale seconds '
                  '(1 real time, 4 four times faster, 0.5 half speed, .inf instant).',
                  read_only=True),
        ParamSpec('base_frame', 'base_link',
                  "Robot base frame; primitives must be given in it (moveit backend: the model's planning frame, "
                  'base for ur5, base_footprint for hsr).', read_only=True),
    )

    def __init__(self, node_name: str = 'control', **kwargs) -> None:
        """Declare parameters, create the robot backend and start the action server."""
        super().__init__(node_name, **kwargs)
        params = declare_parameters(self, self.PARAMETERS)
        self._base_frame: str = params['base_frame']
        self.robot: Robot | None = None
        self.limits: MotionLimits | None = None
        self.setup_error = ''
        try:
            workspace = Workspace.from_list(list(params['workspace_bounds']), DEFAULT_WORKSPACE.resolution)
            self.limits = MotionLimits(
                workspace=workspace, min_tcp_height=params['min_tcp_height'], max_reach=params['max_reach'],
                approach_height=params['approach_height'], linear_speed=params['linear_speed'],
                linear_accel=params['linear_accel'],
                home_position=point(params['home_position'], 'home_position') if params['park'] else None,
                drop_position=point(params['drop_position'], 'drop_position') if params['release'] else None)
            backend = params['backend']
            if backend == 'sim':
                # The simulated robot is reached over ROS (the sim bridge node), so it needs this node.
                self.robot = SimBridgeRobot(self)
            elif backend == 'moveit':
                # Its goal messages and a gripper action client are ROS-side: built here, with this node.
                self.robot = make_moveit_robot(self, self._moveit_settings(params))
            else:
                backend_params = {'time_scale': params['mock_time_scale']} if backend == 'mock' \
                    else {'robot_ip': params['robot_ip']}
                self.robot = make_robot(backend, **backend_params)
        except (ValueError, BackendUnavailable, RobotError) as error:  # e.g. the robot is not reachable
            self.setup_error = f'control is not available: {error}'
            self.get_logger().error(f'{self.setup_error}; every goal will be aborted')

        self._lock = threading.Lock()
        self._busy = False
        self._active_goal: ServerGoalHandle | None = None
        self._cancel_requested = threading.Event()
        self._action_server = ActionServer(
            self, ExecutePrimitive, 'execute_primitive',
            execute_callback=self._execute, goal_callback=self._on_goal, cancel_callback=self._on_cancel,
            callback_group=ReentrantCallbackGroup())
        if self.robot is not None:
            self.get_logger().info(f'backend {params["backend"]!r} ready')

    @staticmethod
    def _moveit_settings(params: dict[str, Any]) -> MoveItSettings:
        return MoveItSettings(
            robot_model=params['robot_model'], base_frame=params['base_frame'],
            tcp_offset=params['moveit_tcp_offset'], node_name=params['moveit_node_name'], gripper=params['gripper'],
            robot_ip=params['robot_ip'],
            robotiq_port=params['robotiq_port'], gripper_action=params['gripper_action'],
            gripper_open_position=params['gripper_open_position'],
            gripper_closed_position=params['gripper_closed_position'],
            gripper_open_width=params['gripper_open_width'], gripper_max_effort=params['gripper_max_effort'],
            gripper_timeout=params['gripper_timeout'])

    def destroy_node(self) -> None:
        """Stop the robot, destroy the action server, then the node."""
        if self.robot is not None:
            self.robot.stop()
        self._action_server.destroy()
        super().destroy_node()

    def _on_goal(self, goal: ExecutePrimitive.Goal) -> GoalResponse:
        with self._lock:
            if self._busy:
                self.get_logger().warning('execute_primitive goal rejected: another primitive is executing')
                return GoalResponse.REJECT
            self._busy = True
        return GoalResponse.ACCEPT

    def _on_cancel(self, goal_handle: ServerGoalHandle) -> CancelResponse:
        with self._lock:
            active = goal_handle is self._active_goal
        if active:
            self._cancel_requested.set()
            if self.robot is not None:
                self.robot.stop()
        return CancelResponse.ACCEPT

    def _feedback(self, goal_handle: ServerGoalHandle, phase: Phase, progress: float) -> None:
        goal_handle.publish_feedback(
            ExecutePrimitive.Feedback(phase=int(phase), phase_name=phase.name, progress=float(progress)))

    def _abort(self, goal_handle: ServerGoalHandle, error: str) -> ExecutePrimitive.Result:
        self.get_logger().warning(f'execute_primitive aborted: {error}')
        goal_handle.abort()
        return ExecutePrimitive.Result(success=False, error=error)

    def _execute(self, goal_handle: ServerGoalHandle) -> ExecutePrimitive.Result:
        with self._lock:
            self._active_goal = goal_handle
            self._cancel_requested.clear()
        try:
            return self._run(goal_handle)
        except Exception as error:  # the node must survive any failed goal
            self.get_logger().error(f'execute_primitive failed: {error!r}')
            if self.robot is not None:
                self.robot.stop()
            if goal_handle.is_active:
                goal_handle.abort()
            return ExecutePrimitive.Result(success=False, error=f'internal error: {error}')
        finally:
            with self._lock:
                self._active_goal = None
                self._busy = False

    def _run(self, goal_handle: ServerGoalHandle) -> ExecutePrimitive.Result:
        if self.robot is None or self.limits is None:
            return self._abort(goal_handle, self.setup_error)
        msg = goal_handle.request.primitive
        try:
            primitive = msg_to_primitive(msg)
        except ValueError as error:
            return self._abort(goal_handle, f'invalid primitive: {error}')
        frame = msg.header.frame_id
        if frame and frame != self._base_frame:
            return self._abort(goal_handle, f'primitive is in frame {frame!r} but base_frame is '
                                            f'{self._base_frame!r}; no transform is done')
        try:
            plan = plan_primitive(primitive, self.limits)
            validate_plan(plan, self.limits)
        except PrimitiveRefused as error:
            return self._abort(goal_handle, f'primitive refused: {error}')

        self.get_logger().info(f'executing {primitive.describe()}')
        outcome = execute_plan(
            self.robot, plan,
            on_phase=lambda phase, progress: self._feedback(goal_handle, phase, progress),
            should_cancel=lambda: self._cancel_requested.is_set() or goal_handle.is_cancel_requested)
        if outcome.cancelled:
            return self._finish_canceled(goal_handle)
        if outcome.error:
            return self._abort(goal_handle, outcome.error)
        goal_handle.succeed()
        self.get_logger().info(f'primitive done: success={outcome.success} grasp_width={outcome.grasp_width:.4f}')
        return self._result(outcome)

    def _finish_canceled(self, goal_handle: ServerGoalHandle) -> ExecutePrimitive.Result:
        # The cancel callback runs just before the server marks the goal as canceling: wait for that mark.
        deadline = time.monotonic() + CANCEL_STATE_TIMEOUT
        waiter = threading.Event()
        while not goal_handle.is_cancel_requested and time.monotonic() < deadline:
            waiter.wait(0.005)
        result = ExecutePrimitive.Result(success=False, error='canceled: the robot was stopped')
        if goal_handle.is_cancel_requested:
            goal_handle.canceled()
            self.get_logger().info('primitive canceled; robot stopped')
        else:
            goal_handle.abort()
            self.get_logger().warning('primitive stopped on a cancel request the server did not confirm')
        return result

    @staticmethod
    def _result(outcome: ExecutionResult) -> ExecutePrimitive.Result:
        return ExecutePrimitive.Result(success=outcome.success, grasp_width=outcome.grasp_width,
                                       scene_changed=outcome.scene_changed, error=outcome.error)


def main(args: list[str] | None = None) -> None:
    """Run the control node until shut down."""
    spin_node(ControlNode, args, multithreaded=True)


if __name__ == '__main__':
    main()

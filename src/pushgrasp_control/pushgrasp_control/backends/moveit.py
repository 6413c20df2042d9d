# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""A robot driven through MoveIt 2's Python API (moveit_py) with the Pilz LIN planner for straight TCP moves.

Models: 'ur5' plans group ``ur_manipulator`` to tip ``tool0`` in frame ``base`` (the UR controller's base
frame, the one ur_rtde uses; ``base_link`` is turned by 180 degrees about z); 'hsr' plans group ``arm`` to tip
``hand_palm_link`` in frame ``base_footprint``. The tip is held pointing down with the module-wide convention
Rz(yaw) * Rx(pi) (tool x axis along (cos yaw, sin yaw), the jaw axis); for the HSR that assumes the palm
link's z axis points out of the palm and its x axis along the finger motion - check on the robot.

`tcp_offset` is the distance (metres) along the tip link's z axis from the tip link to the point between the
fingertips, and has no default on purpose: a wrong value drives the fingers into the table.

Each move_linear sets the start state to the current state, the goal to the tip pose, plans with pipeline
``pilz_industrial_motion_planner`` planner ``LIN`` (velocity and acceleration scaling = speed / max_trans_vel
and accel / max_trans_acc, the limits of the robot's pilz_cartesian_limits.yaml) and executes the trajectory in
a worker thread, polling `should_stop`; stop() asks MoveIt's trajectory execution manager to stop.

ROS messages: this module must not import ROS packages (the package's architecture rule), so the goal
``PoseStamped`` is built by an injected `pose_msg_factory(frame_id, position_xyz, quaternion_xyzw)`, which the
ROS side (pushgrasp_control.ros) provides. Gripper: UR5 with a Robotiq 2F-85 - pass a Robotiq2F85; HSR - pass
an object with open(), close() -> width, width() wrapping its ``/gripper_controller/grasp`` (and
follow_joint_trajectory) actions from the ROS side. Without a gripper, gripper commands raise RobotError.
This backend cannot be run here; tests check it against a recording stand-in for moveit_py.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pushgrasp_control.backends import BackendUnavailable
from pushgrasp_control.motion import RobotError, checked_linear_target
from pushgrasp_control.primitives import tool_down_axis

INSTALL_HINT = ("install MoveIt 2's Python bindings (moveit_py, e.g. ros-jazzy-moveit-py) and start the node "
                'with a MoveItConfigsBuilder configuration to use the moveit backend')


@dataclass(frozen=True)
class MoveItModel:
    """The MoveIt names of one robot."""

    group: str
    tip: str
    frame: str


MODELS: dict[str, MoveItModel] = {
    'ur5': MoveItModel(group='ur_manipulator', tip='tool0', frame='base'),
    'hsr': MoveItModel(group='arm', tip='hand_palm_link', frame='base_footprint'),
}


def default_moveit_factory(node_name: str) -> Any:
    """A moveit_py MoveItPy instance (BackendUnavailable when moveit_py is missing)."""
    try:
        from moveit.planning import MoveItPy
    except ImportError as error:
        raise BackendUnavailable(f'moveit_py is missing ({error}); {INSTALL_HINT}') from error
    return MoveItPy(node_name=node_name)


def default_plan_parameters(moveit: Any) -> Any:
    """An empty moveit_py PlanRequestParameters for `moveit`."""
    try:
        from moveit.planning import PlanRequestParameters
    except ImportError as error:
        raise BackendUnavailable(f'moveit_py is missing ({error}); {INSTALL_HINT}') from error
    return PlanRequestParameters(moveit)


def tool_down_quaternion(yaw: float) -> tuple[float, float, float, float]:
    """Quaternion (x, y, z, w) of Rz(yaw) * Rx(pi): a turn of pi about (cos(yaw/2), sin(yaw/2), 0)."""
    x, y, z = (float(v) for v in tool_down_axis(yaw))
    return (x, y, z, 0.0)


class MoveItRobot:
    """The Robot protocol through moveit_py and Pilz LIN (see the module docstring)."""

    def __init__(self, robot_model: str = 'ur5', *, tcp_offset: float, node_name: str = 'pushgrasp_moveit',
                 moveit_factory: Callable[[str], Any] | None = None,
                 pose_msg_factory: Callable[[str, tuple[float, float, float], tuple[float, float, float, float]],
                                            Any] | None = None,
                 plan_parameters_factory: Callable[[Any], Any] | None = None, gripper: Any = None,
                 max_trans_vel: float = 1.0, max_trans_acc: float = 2.25, planning_time: float = 2.0,
                 poll_period: float = 0.01) -> None:
        """Create the MoveIt connection for `robot_model` ('ur5' or 'hsr')."""
        if robot_model not in MODELS:
            raise ValueError(f'unknown robot_model {robot_model!r}; known: {", ".join(MODELS)}')
        if pose_msg_factory is None:
            raise BackendUnavailable('the moveit backend needs pose_msg_factory(frame_id, xyz, quaternion_xyzw) '
                                     '-> geometry_msgs/PoseStamped from the ROS side (pushgrasp_control.ros); '
                                     'this plain module may not import ROS messages')
        if not math.isfinite(tcp_offset):
            raise ValueError(f'tcp_offset must be finite, got {tcp_offset}')
        self.model = MODELS[robot_model]
        self.robot_model = robot_model
        self.tcp_offset = float(tcp_offset)
        self.max_trans_vel, self.max_trans_acc = float(max_trans_vel), float(max_trans_acc)
        self.planning_time, self.poll_period = float(planning_time), float(poll_period)
        self.gripper = gripper
        self._pose_msg = pose_msg_factory
        self._plan_parameters = plan_parameters_factory or default_plan_parameters
        self._stop = threading.Event()
        try:
            self.moveit = (moveit_factory or default_moveit_factory)(node_name)
            self.component = self.moveit.get_planning_component(self.model.group)
        except BackendUnavailable:
            raise
        except RuntimeError as error:
            raise RobotError(f'cannot start MoveIt for {robot_model}: {error}') from error

    def tip_pose(self, position: Sequence[float], yaw: float) -> tuple[tuple[float, float, float],
                                                                       tuple[float, float, float, float]]:
        """The tip link pose (xyz, quaternion xyzw) that puts the fingertip centre at `position` with `yaw`."""
        # The tool z axis points down, so the tip link sits tcp_offset above the fingertips.
        x, y, z = (float(v) for v in position)
        return (x, y, z + self.tcp_offset), tool_down_quaternion(yaw)

    def _lin_parameters(self, speed: float, accel: float) -> Any:
        params = self._plan_parameters(self.moveit)
        params.planning_pipeline = 'pilz_industrial_motion_planner'
        params.planner_id = 'LIN'
        params.planning_attempts = 1
        params.planning_time = self.planning_time
        params.max_velocity_scaling_factor = min(1.0, speed / self.max_trans_vel)
        params.max_acceleration_scaling_factor = min(1.0, accel / self.max_trans_acc)
        return params

    def _execute(self, trajectory: Any, should_stop: Callable[[], bool] | None) -> bool:
        """Execute in a worker thread, polling `should_stop`; False if stopped."""
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                outcome['result'] = self.moveit.execute(trajectory, controllers=[])
            except Exception as error:  # reported in the calling thread
                outcome['error'] = error

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        while worker.is_alive():
            if self._stop.is_set():
                worker.join()
                return False
            if should_stop is not None and should_stop():
                self.stop()
                worker.join()
                return False
            worker.join(self.poll_period)
        if 'error' in outcome:
            raise RobotError(f'MoveIt execution failed: {outcome["error"]}') from outcome['error']
        result = outcome.get('result')
        status = getattr(result, 'status', None)
        if result is False or (status is not None and str(status).upper() != 'SUCCEEDED'):
            raise RobotError(f'MoveIt execution did not succeed: {status if status is not None else result}')
        return not self._stop.is_set()

    def move_linear(self, position: np.ndarray, yaw: float, speed: float, accel: float,
                    should_stop: Callable[[], bool] | None = None) -> bool:
        """Plan a Pilz LIN move of the tip and execute it; False if stopped before arrival."""
        target = checked_linear_target(position, yaw, speed, accel)
        self._stop.clear()
        xyz, quaternion = self.tip_pose(target, yaw)
        goal = self._pose_msg(self.model.frame, xyz, quaternion)
        try:
            self.component.set_start_state_to_current_state()
            self.component.set_goal_state(pose_stamped_msg=goal, pose_link=self.model.tip)
            plan = self.component.plan(single_plan_parameters=self._lin_parameters(speed, accel))
        except RuntimeError as error:
            raise RobotError(f'MoveIt LIN planning to {np.round(target, 4).tolist()} failed: {error}') from error
        if not plan:
            raise RobotError(f'MoveIt found no LIN path for {self.model.tip} to {np.round(target, 4).tolist()} '
                             f'(yaw {yaw:.3f}) in group {self.model.group}')
        if self._stop.is_set() or (should_stop is not None and should_stop()):
            return False
        return self._execute(plan.trajectory, should_stop)

    def move_joints(self, joints: Sequence[float], speed: float, accel: float,
                    should_stop: Callable[[], bool] | None = None) -> bool:
        """Not offered: this backend moves the tool only."""
        raise RobotError('the MoveIt backend moves the tool only (move_joints is not offered)')

    def stop(self) -> None:
        """Ask MoveIt to stop the executing trajectory (callable from any thread)."""
        self._stop.set()
        # moveit_py spells the getter 'get_trajactory_execution_manager' in Jazzy; later releases may fix it.
        getter = getattr(self.moveit, 'get_trajectory_execution_manager', None) or \
            getattr(self.moveit, 'get_trajactory_execution_manager', None)
        if getter is None:
            raise RobotError('this moveit_py offers no trajectory execution manager to stop the motion')
        getter().stop_execution()

    def _need_gripper(self) -> Any:
        if self.gripper is None:
            raise RobotError(f'no gripper configured for the MoveIt {self.robot_model} backend')
        return self.gripper

    def open_gripper(self) -> None:
        """Open the gripper fully."""
        self._need_gripper().open()

    def close_gripper(self) -> float:
        """Close the gripper until it stops; the jaw opening in metres."""
        return float(self._need_gripper().close())

    def gripper_width(self) -> float:
        """The present jaw opening in metres."""
        return float(self._need_gripper().width())

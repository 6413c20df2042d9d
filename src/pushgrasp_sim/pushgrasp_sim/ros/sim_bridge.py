# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The sim bridge node: the embedded simulator seen by the ROS graph as an RGB-D camera plus a robot.

Publishes (one stamp for the colour/depth/camera_info triple of a frame):
    camera/color/image_raw                 sensor_msgs/Image rgb8
    camera/aligned_depth_to_color/image_raw sensor_msgs/Image 32FC1 metres, or 16UC1 millimetres
    camera/color/camera_info               sensor_msgs/CameraInfo
    camera/pose                            geometry_msgs/PoseStamped, camera optical frame in the base frame
    joint_states                           sensor_msgs/JointState
    sim/object_labels                      sensor_msgs/Image 16UC1 at heightmap resolution (the default workspace,
                                           base frame, the frame's stamp): the index + 1 of the object seen in each
                                           heightmap cell, 0 where none is (PushGraspEnv.object_labels); for the
                                           policy node's GOAL_ID goals. Computed only while someone subscribes.
Robot side (driven by pushgrasp_control's 'sim' backend):
    sim/move_tool (pushgrasp_interfaces/MoveTool action), sim/set_gripper (pushgrasp_interfaces/SetGripper)
Scene:
    sim/reset (pushgrasp_interfaces/ResetScene), sim/get_object_poses (pushgrasp_interfaces/GetObjectPoses)
"""

from __future__ import annotations

import math
import threading

import numpy as np
from geometry_msgs.msg import Point, Pose, PoseStamped, Quaternion
from pushgrasp_interfaces.action import MoveTool
from pushgrasp_interfaces.msg import ObjectState
from pushgrasp_interfaces.srv import GetObjectPoses, ResetScene, SetGripper
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.action.server import ServerGoalHandle
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.qos import QoSDurabilityPolicy, QoSHistoryPolicy, QoSProfile, QoSReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import ColorRGBA, Header

from pushgrasp_control.motion import RobotError
from pushgrasp_perception.ros.conversions import image_to_msg
from pushgrasp_perception.ros.node_main import spin_node
from pushgrasp_perception.ros.parameters import ParamSpec, declare_parameters
from pushgrasp_sim.camera import CameraOptions
from pushgrasp_sim.env import Observation, PushGraspEnv, SimConfig
from pushgrasp_sim.geometry import matrix_to_quaternion

COLOR_TOPIC = 'camera/color/image_raw'
DEPTH_TOPIC = 'camera/aligned_depth_to_color/image_raw'
CAMERA_INFO_TOPIC = 'camera/color/camera_info'
CAMERA_POSE_TOPIC = 'camera/pose'
OBJECT_LABELS_TOPIC = 'sim/object_labels'
# Reliable (a 100 kB image split in fragments), like the heightmaps these labels go with.
LABELS_QOS = QoSProfile(depth=1, history=QoSHistoryPolicy.KEEP_LAST, reliability=QoSReliabilityPolicy.RELIABLE)
# What a bad reset request raises: a malformed or missing test case, or a scene that would not settle.
SCENE_ERRORS = (ValueError, OSError, RuntimeError)


class SimBridgeNode(Node):
    """Runs the simulated work cell and exposes its camera, robot and scene over ROS."""

    PARAMETERS: tuple[ParamSpec, ...] = (
        ParamSpec('seed', 0, 'Seed of the first scene (later scenes: the reset request).', read_only=True),
        ParamSpec('num_objects', 10, 'Random objects in the first scene.', read_only=True),
        ParamSpec('test_case_file', '', 'A test-case file for the first scene instead of random objects.',
                  read_only=True),
        ParamSpec('camera_rate_hz', 5.0, 'Rate of published RGB-D frames, Hz.', read_only=True),
        ParamSpec('depth_encoding', '32FC1', 'Depth image encoding: 32FC1 (metres) or 16UC1 (millimetres, '
                  'like a RealSense).', read_only=True),
        ParamSpec('depth_noise_std', 0.0, 'Standard deviation of depth noise at 1 m, metres (0 = none).',
                  read_only=True),
        ParamSpec('missing_depth_fraction', 0.0, 'Fraction of depth pixels dropped as 0 (0 = none).',
                  read_only=True),
        ParamSpec('base_frame', 'base_link', 'Robot base frame: frame_id of poses.', read_only=True),
        ParamSpec('camera_frame', 'camera_color_optical_frame', 'frame_id of the camera images.',
                  read_only=True),
    )

    def __init__(self, node_name: str = 'sim_bridge', **kwargs) -> None:
        """Build the simulator with the first scene and start publishing."""
        super().__init__(node_name, **kwargs)
        self.params = declare_parameters(self, self.PARAMETERS)
        if self.params['depth_encoding'] not in ('32FC1', '16UC1'):
            self.get_logger().error(f'unknown depth_encoding {self.params["depth_encoding"]!r}; using 32FC1')
            self.params['depth_encoding'] = '32FC1'
        self._physics_lock = threading.RLock()
        self._closed = False
        camera = CameraOptions(depth_noise_std=self.params['depth_noise_std'],
                               missing_depth_fraction=self.params['missing_depth_fraction'])
        # The graph's camera sees the arm, as a real one does; the control node parks it out of view.
        self.env = PushGraspEnv(SimConfig(camera=camera, arm_in_view=True))
        first = self.params['test_case_file'] or self.params['num_objects']
        self._frame: Observation | None = None
        self._labels: np.ndarray | None = None
        """Object labels of `_frame` (None: not computed for it)."""
        try:
            self._frame = self.env.reset(self.params['seed'], first)
        except SCENE_ERRORS as error:
            self.get_logger().error(f'first scene failed ({error}); starting with an empty table')
            self._frame = self.env.reset(self.params['seed'], 0)
        self._dirty = False

        sensor = qos_profile_sensor_data
        self._color_pub = self.create_publisher(Image, COLOR_TOPIC, sensor)
        self._depth_pub = self.create_publisher(Image, DEPTH_TOPIC, sensor)
        self._info_pub = self.create_publisher(CameraInfo, CAMERA_INFO_TOPIC, sensor)
        latched = QoSProfile(depth=1, durability=QoSDurabilityPolicy.TRANSIENT_LOCAL)
        self._pose_pub = self.create_publisher(PoseStamped, CAMERA_POSE_TOPIC, latched)
        self._joints_pub = self.create_publisher(JointState, 'joint_states', 10)
        self._labels_pub = self.create_publisher(Image, OBJECT_LABELS_TOPIC, LABELS_QOS)

        camera_group = MutuallyExclusiveCallbackGroup()
        robot_group = ReentrantCallbackGroup()
        self.create_timer(1.0 / max(self.params['camera_rate_hz'], 0.1), self._publish_frame,
                          callback_group=camera_group)
        self.create_service(ResetScene, 'sim/reset', self._on_reset, callback_group=robot_group)
        self.create_service(GetObjectPoses, 'sim/get_object_poses', self._on_get_poses, callback_group=robot_group)
        self.create_service(SetGripper, 'sim/set_gripper', self._on_set_gripper, callback_group=robot_group)
        self._moving = threading.Lock()
        self._move_server = ActionServer(
            self, MoveTool, 'sim/move_tool', execute_callback=self._execute_move,
            goal_callback=self._on_move_goal, cancel_callback=lambda _: CancelResponse.ACCEPT,
            callback_group=robot_group)
        self._publish_camera_pose()
        self.get_logger().info(f'simulated work cell ready: {len(self.env.object_states())} objects')

    # --- camera ----------------------------------------------------------------------------------------
    def _header(self, frame_id: str) -> Header:
        return Header(stamp=self.get_clock().now().to_msg(), frame_id=frame_id)

    def _publish_frame(self) -> None:
        # The labels cost a segmentation render and a projection: only while someone listens, once per frame.
        want_labels = self._labels_pub.get_subscription_count() > 0
        with self._physics_lock:
            if self._closed:
                return
            if self._dirty or self._frame is None or (want_labels and self._labels is None):
                self._frame = self.env.render(segmentation=want_labels)
                self._labels = self.env.object_labels(self._frame) if want_labels else None
                self._dirty = False
            frame, labels = self._frame, self._labels
            joints = self.env.joint_state()
        header = self._header(self.params['camera_frame'])
        depth = frame.depth
        if self.params['depth_encoding'] == '16UC1':
            depth = np.clip(np.nan_to_num(depth) * 1000.0 + 0.5, 0, 65535).astype(np.uint16)
        self._color_pub.publish(image_to_msg(frame.color, 'rgb8', header))
        self._depth_pub.publish(image_to_msg(depth, self.params['depth_encoding'], header))
        self._info_pub.publish(self._camera_info(frame, header))
        if want_labels and labels is not None:
            # Stamped like the frame, so the heightmap made of it can find its labels.
            labels_header = Header(stamp=header.stamp, frame_id=self.params['base_frame'])
            self._labels_pub.publish(image_to_msg((labels + 1).astype(np.uint16), '16UC1', labels_header))
        names, positions = joints
        self._joints_pub.publish(JointState(header=self._header(self.params['base_frame']), name=list(names),
                                            position=[float(p) for p in positions]))

    @staticmethod
    def _camera_info(frame: Observation, header: Header) -> CameraInfo:
        k = frame.intrinsics
        height, width = frame.depth.shape
        info = CameraInfo(header=header, height=height, width=width, distortion_model='plumb_bob')
        info.d = [0.0] * 5
        info.k = [float(v) for v in k.reshape(-1)]
        info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
        info.p = [float(k[0, 0]), 0.0, float(k[0, 2]), 0.0, 0.0, float(k[1, 1]), float(k[1, 2]), 0.0,
                  0.0, 0.0, 1.0, 0.0]
        return info

    def _publish_camera_pose(self) -> None:
        pose = self._frame.camera_pose
        w, x, y, z = matrix_to_quaternion(pose[:3, :3])
        self._pose_pub.publish(PoseStamped(
            header=self._header(self.params['base_frame']),
            pose=Pose(position=Point(x=float(pose[0, 3]), y=float(pose[1, 3]), z=float(pose[2, 3])),
                      orientation=Quaternion(x=x, y=y, z=z, w=w))))

    # --- scene -----------------------------------------------------------------------------------------
    def _on_reset(self, request: ResetScene.Request, response: ResetScene.Response) -> ResetScene.Response:
        if request.scene_type == ResetScene.Request.TEST_CASE:
            spec: str | int = request.test_case_file
        elif request.scene_type == ResetScene.Request.RANDOM:
            spec = int(request.num_objects)
        else:
            response.success, response.message = False, f'unknown scene_type {request.scene_type}'
            return response
        try:
            with self._physics_lock:
                self._frame = self.env.reset(int(request.seed), spec)
                self._labels = None
                self._dirty = False
                count = len(self.env.object_states())
        except SCENE_ERRORS as error:
            response.success, response.message = False, f'reset failed: {error}'
            self.get_logger().warning(response.message)
            return response
        self._publish_camera_pose()
        response.success, response.num_objects = True, count
        response.message = f'scene with {count} objects (seed {request.seed})'
        return response

    def _on_get_poses(self, _request: GetObjectPoses.Request,
                      response: GetObjectPoses.Response) -> GetObjectPoses.Response:
        with self._physics_lock:
            states = self.env.object_states()
        for state in states:
            x, y, z = (float(v) for v in state.position)
            qw, qx, qy, qz = (float(v) for v in state.quaternion)
            r, g, b = (float(v) for v in state.color_rgb01)
            response.objects.append(ObjectState(
                id=int(state.index), shape=state.shape, color=ColorRGBA(r=r, g=g, b=b, a=1.0),
                pose=Pose(position=Point(x=x, y=y, z=z), orientation=Quaternion(x=qx, y=qy, z=qz, w=qw)),
                inside_workspace=bool(state.inside_workspace)))
        response.success = True
        return response

    # --- robot -----------------------------------------------------------------------------------------
    def _on_set_gripper(self, request: SetGripper.Request, response: SetGripper.Response) -> SetGripper.Response:
        try:
            with self._physics_lock:
                response.width = float(self.env.close_gripper() if request.close else self.env.open_gripper())
                self._dirty = True
            response.success = True
        except RobotError as error:
            response.success, response.message = False, str(error)
        return response

    def _on_move_goal(self, goal: MoveTool.Goal) -> GoalResponse:
        values = (goal.position.x, goal.position.y, goal.position.z, goal.yaw, goal.speed, goal.acceleration)
        if not all(math.isfinite(v) for v in values) or goal.speed <= 0 or goal.acceleration <= 0:
            self.get_logger().warning('move_tool goal rejected: NaN pose or non-positive speed/acceleration')
            return GoalResponse.REJECT
        if not self._moving.acquire(blocking=False):
            self.get_logger().warning('move_tool goal rejected: the arm is already moving')
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def _execute_move(self, goal_handle: ServerGoalHandle) -> MoveTool.Result:
        goal = goal_handle.request
        target = np.array([goal.position.x, goal.position.y, goal.position.z])
        result = MoveTool.Result()
        try:
            with self._physics_lock:
                reached = self.env.robot.move_linear(target, goal.yaw, goal.speed, goal.acceleration,
                                                     should_stop=lambda: goal_handle.is_cancel_requested)
                self._dirty = True
                tcp = self.env.robot.tcp_position()
            result.final_position = Point(x=float(tcp[0]), y=float(tcp[1]), z=float(tcp[2]))
            if goal_handle.is_cancel_requested:
                goal_handle.canceled()
                result.error = 'cancelled: the arm was stopped'
                return result
            result.reached = bool(reached)
            if not reached:
                short = float(np.linalg.norm(target - tcp))
                result.error = f'the tool stopped {1000 * short:.1f} mm short of the target (blocked by an object?)'
            goal_handle.publish_feedback(MoveTool.Feedback(progress=1.0, position=result.final_position))
            goal_handle.succeed()
        except RobotError as error:
            result.error = str(error)
            result.collision = 'collision' in result.error
            goal_handle.abort()
        finally:
            self._moving.release()
        return result

    def destroy_node(self) -> None:
        """Close the simulator's renderer, then destroy the node."""
        self._move_server.destroy()
        with self._physics_lock:  # not while a timer callback still renders
            self._closed = True
            self.env.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    """Run the sim bridge node until shut down."""
    spin_node(SimBridgeNode, args, multithreaded=True)


if __name__ == '__main__':
    main()

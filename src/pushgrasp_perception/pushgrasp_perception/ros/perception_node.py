# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The perception node: aligned RGB-D camera frames in, top-down colour and height heightmaps out.

Subscribes a colour image, the depth image aligned to it and the colour camera's CameraInfo (sensor-data
QoS, as camera drivers publish them), pairs colour and depth frames by header stamp, projects each pair
with `pushgrasp_perception.projection` and publishes the result on `heightmap`, `heightmap/color` and
`heightmap/height` (see `topics.py`). After the heightmap, and only while someone subscribes (rviz, a
recorder), the workspace point cloud of the same frame goes out on `points` (`pointcloud.py`; open3d's outlier
removal makes it cost some 30 ms a frame, so `pointcloud_min_period_s` can thin it out). The service
`save_point_cloud` (std_srvs/Trigger) writes the point cloud of the latest frame to the `ply_path` file.
The camera pose in the base frame comes from a calibration YAML file or the `camera_pose` parameter.
Frames that cannot be used are dropped; each distinct reason is logged once.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
import yaml
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import Header
from std_srvs.srv import Trigger

from pushgrasp_perception.pointcloud import save_ply, workspace_point_cloud
from pushgrasp_perception.projection import check_camera_pose, check_intrinsics, project_rgbd
from pushgrasp_perception.ros.conversions import (ImageConversionError, msg_to_image, ns_to_stamp,
                                                  pointcloud_to_msg, stamp_to_ns)
from pushgrasp_perception.ros.parameters import ParamSpec, declare_parameters
from pushgrasp_perception.ros.topics import HEIGHTMAP_QOS_DEPTH, POINTS_TOPIC, HeightmapPublishers
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE, Workspace
from pushgrasp_perception.ros.node_main import spin_node

# A camera 0.7 m above the centre of the default workspace looking straight down, image top towards +x.
DEFAULT_CAMERA_POSE: tuple[float, ...] = (
    0.0, -1.0, 0.0, 0.5,
    -1.0, 0.0, 0.0, 0.0,
    0.0, 0.0, -1.0, 0.7,
    0.0, 0.0, 0.0, 1.0,
)
COLOR_ENCODINGS = ('rgb8', 'bgr8')
DEPTH_ENCODINGS = ('32FC1', '16UC1')


class ColorDepthPairer:
    """Pairs colour and depth frames whose stamps differ by at most a tolerance.

    Keeps the last `capacity` frames of each stream. After every new frame the closest colour/depth pair
    within the tolerance (if any) is returned and it, and every older frame of both streams, is forgotten.
    """

    def __init__(self, tolerance_ns: int, capacity: int = 5) -> None:
        self.tolerance_ns = int(tolerance_ns)
        self._color: deque[tuple[int, Any]] = deque(maxlen=capacity)
        self._depth: deque[tuple[int, Any]] = deque(maxlen=capacity)

    def push_color(self, stamp_ns: int, frame: Any) -> tuple[Any, Any, int] | None:
        """Add a colour frame; return (color, depth, newest stamp) when it completes a pair."""
        self._color.append((stamp_ns, frame))
        return self._match()

    def push_depth(self, stamp_ns: int, frame: Any) -> tuple[Any, Any, int] | None:
        """Add a depth frame; return (color, depth, newest stamp) when it completes a pair."""
        self._depth.append((stamp_ns, frame))
        return self._match()

    def _match(self) -> tuple[Any, Any, int] | None:
        best: tuple[int, int, int] | None = None  # (|dt|, color index, depth index)
        for i, (color_stamp, _) in enumerate(self._color):
            for j, (depth_stamp, _) in enumerate(self._depth):
                gap = abs(color_stamp - depth_stamp)
                if gap <= self.tolerance_ns and (best is None or gap < best[0]):
                    best = (gap, i, j)
        if best is None:
            return None
        color_stamp, color = self._color[best[1]]
        depth_stamp, depth = self._depth[best[2]]
        for _ in range(best[1] + 1):
            self._color.popleft()
        for _ in range(best[2] + 1):
            self._depth.popleft()
        return color, depth, max(color_stamp, depth_stamp)


def load_camera_pose(path: str) -> np.ndarray:
    """The 4x4 camera-to-base pose under key `camera_pose` (4x4 nested or 16 row-major numbers) of a YAML file."""
    with open(path, encoding='utf-8') as stream:
        data = yaml.safe_load(stream)
    if not isinstance(data, dict) or 'camera_pose' not in data:
        raise ValueError(f'calibration file {path} has no top-level key camera_pose')
    try:
        pose = np.asarray(data['camera_pose'], dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f'calibration file {path}: camera_pose is not a numeric matrix ({error})') from error
    if pose.size == 16:
        pose = pose.reshape(4, 4)
    try:
        return check_camera_pose(pose)
    except ValueError as error:
        raise ValueError(f'calibration file {path}: {error}') from error


class PerceptionNode(Node):
    """RGB-D frames in, heightmaps out (see the module docstring)."""

    PARAMETERS: tuple[ParamSpec, ...] = (
        ParamSpec('color_topic', '/camera/camera/color/image_raw', 'colour image topic (rgb8 or bgr8)'),
        ParamSpec('depth_topic', '/camera/camera/aligned_depth_to_color/image_raw',
                  'depth image aligned to the colour image (32FC1 metres or 16UC1 scaled by depth_scale)'),
        ParamSpec('camera_info_topic', '/camera/camera/color/camera_info', 'CameraInfo of the colour image'),
        ParamSpec('base_frame', 'base_link', 'robot base frame: frame_id of the heightmaps'),
        ParamSpec('workspace_bounds', DEFAULT_WORKSPACE.bounds(),
                  'workspace box [x_min, x_max, y_min, y_max, z_min, z_max] in the base frame, metres'),
        ParamSpec('resolution', DEFAULT_WORKSPACE.resolution, 'heightmap cell size, metres'),
        ParamSpec('camera_pose', list(DEFAULT_CAMERA_POSE),
                  'camera (OpenCV optical frame) to base transform, 16 numbers row-major; '
                  'used when calibration_file is empty'),
        ParamSpec('calibration_file', '', 'YAML file with key camera_pose (4x4); empty = use camera_pose'),
        ParamSpec('sync_tolerance_s', 0.02, 'largest stamp difference of a colour/depth pair, seconds'),
        ParamSpec('depth_scale', 0.001, 'metres per unit of 16UC1 depth images'),
        ParamSpec('publish_pointcloud', True, f'publish the workspace point cloud on {POINTS_TOPIC} '
                                              '(computed only while it has subscribers)'),
        ParamSpec('pointcloud_min_period_s', 0.0, 'least time between two point clouds, seconds (0: every frame)'),
        ParamSpec('pointcloud_voxel_size', 0.004, 'point cloud voxel down-sampling size, metres (0: none)'),
        ParamSpec('pointcloud_outlier_neighbors', 20, 'neighbours of the statistical outlier removal (0: none)'),
        ParamSpec('pointcloud_outlier_std', 2.0, 'outlier threshold, standard deviations of the neighbour distance'),
        ParamSpec('ply_path', 'points.ply', 'file the save_point_cloud service writes (binary PLY)'),
        ParamSpec('on_request', False, 'publish a heightmap only when the publish_heightmap service is called '
                                       '(from the newest colour/depth pair) instead of for every frame'),
    )

    def __init__(self, node_name: str = 'perception', **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.params = declare_parameters(self, self.PARAMETERS)
        self.drop_counts: dict[str, int] = {}
        """Frames dropped so far, by reason (each reason is logged the first time only)."""
        self.published = 0
        self._config_error: str | None = None
        self._workspace = DEFAULT_WORKSPACE
        self._camera_pose = np.eye(4)
        try:
            self._workspace = Workspace.from_list(self.params['workspace_bounds'], self.params['resolution'])
            if self.params['calibration_file']:
                self._camera_pose = load_camera_pose(self.params['calibration_file'])
            else:
                pose = np.asarray(self.params['camera_pose'], dtype=np.float64)
                if pose.size != 16:
                    raise ValueError(f'camera_pose needs 16 numbers (a row-major 4x4), got {pose.size}')
                self._camera_pose = check_camera_pose(pose.reshape(4, 4))
        except (OSError, ValueError) as error:
            self._config_error = f'bad configuration, not publishing: {error}'
            self.get_logger().error(self._config_error)
            self.drop_counts[self._config_error] = 0
        self._intrinsics: np.ndarray | None = None
        self._intrinsics_error = f'no camera_info received yet on {self.params["camera_info_topic"]}'
        self._info_size: tuple[int, int] = (0, 0)
        self._pairer = ColorDepthPairer(int(round(self.params['sync_tolerance_s'] * 1e9)))
        self.outputs = HeightmapPublishers(self)
        self.points = self.create_publisher(PointCloud2, POINTS_TOPIC, HEIGHTMAP_QOS_DEPTH)
        self.published_pointclouds = 0
        self._last_pointcloud_ns: int | None = None
        self._latest: tuple[np.ndarray, np.ndarray, float, int, np.ndarray] | None = None
        """The latest projected frame: (color, depth, depth scale, stamp ns, K)."""
        self._last_pair: tuple[Image, Image, int] | None = None
        self.create_service(Trigger, 'save_point_cloud', self.on_save_point_cloud)
        self.create_service(Trigger, 'publish_heightmap', self.on_publish_heightmap)
        self.create_subscription(Image, self.params['color_topic'], self.on_color_image, qos_profile_sensor_data)
        self.create_subscription(Image, self.params['depth_topic'], self.on_depth_image, qos_profile_sensor_data)
        self.create_subscription(CameraInfo, self.params['camera_info_topic'], self.on_camera_info,
                                 qos_profile_sensor_data)

    @property
    def intrinsics(self) -> np.ndarray | None:
        """The camera matrix K of the last usable CameraInfo (None before one arrived)."""
        return self._intrinsics

    def _drop(self, reason: str) -> None:
        if reason not in self.drop_counts:
            self.get_logger().warning(f'dropping RGB-D frames: {reason}')
            self.drop_counts[reason] = 0
        self.drop_counts[reason] += 1

    def on_camera_info(self, msg: CameraInfo) -> None:
        """Take the intrinsics K and image size of the colour camera."""
        try:
            self._intrinsics = check_intrinsics(np.asarray(msg.k, dtype=np.float64).reshape(3, 3))
        except ValueError as error:
            self._intrinsics = None
            self._intrinsics_error = f'unusable camera_info: {error}'
            return
        self._info_size = (int(msg.width), int(msg.height))

    def on_color_image(self, msg: Image) -> None:
        """Queue a colour frame and process the pair it completes, if any."""
        self._on_pair(self._pairer.push_color(stamp_to_ns(msg.header.stamp), msg))

    def on_depth_image(self, msg: Image) -> None:
        """Queue a depth frame and process the pair it completes, if any."""
        self._on_pair(self._pairer.push_depth(stamp_to_ns(msg.header.stamp), msg))

    def _on_pair(self, pair: tuple[Image, Image, int] | None) -> None:
        if pair is None:
            return
        self._last_pair = pair
        if not self.params['on_request']:
            self.process(*pair)

    def on_publish_heightmap(self, _request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        """Publish the heightmap of the newest colour/depth pair (the on-request mode's trigger)."""
        if self._last_pair is None:
            response.success, response.message = False, 'no colour/depth pair received yet'
            return response
        response.success = self.process(*self._last_pair)
        response.message = ('published the heightmap of the newest frame' if response.success else
                            'the newest frame was dropped: ' + next(reversed(self.drop_counts), 'see the log'))
        return response

    def process(self, color_msg: Image, depth_msg: Image, stamp_ns: int) -> bool:
        """Project one colour/depth pair and publish the heightmap; False (and a logged reason) if dropped."""
        if self._config_error is not None:
            self._drop(self._config_error)
            return False
        if self._intrinsics is None:
            self._drop(self._intrinsics_error)
            return False
        if color_msg.encoding not in COLOR_ENCODINGS:
            self._drop(f'unsupported colour encoding {color_msg.encoding!r} (need one of {COLOR_ENCODINGS})')
            return False
        if depth_msg.encoding not in DEPTH_ENCODINGS:
            self._drop(f'unsupported depth encoding {depth_msg.encoding!r} (need one of {DEPTH_ENCODINGS})')
            return False
        if (color_msg.width, color_msg.height) != (depth_msg.width, depth_msg.height):
            self._drop(f'colour {color_msg.width}x{color_msg.height} and depth {depth_msg.width}x{depth_msg.height}'
                       ' images differ in size (is the depth aligned to the colour image?)')
            return False
        if self._info_size != (0, 0) and self._info_size != (color_msg.width, color_msg.height):
            self._drop(f'camera_info is for {self._info_size[0]}x{self._info_size[1]} images, '
                       f'the images are {color_msg.width}x{color_msg.height}')
            return False
        try:
            color = msg_to_image(color_msg)
            depth = msg_to_image(depth_msg)
        except ImageConversionError as error:
            self._drop(str(error))
            return False
        if color_msg.encoding == 'bgr8':
            color = color[..., ::-1]
        scale = self.params['depth_scale'] if depth_msg.encoding == '16UC1' else 1.0
        try:
            result = project_rgbd(color, depth, self._intrinsics, self._camera_pose, self._workspace,
                                  depth_scale=scale)
        except ValueError as error:
            self._drop(str(error))
            return False
        if result.num_valid_depth == 0:
            self._drop('the depth image has no valid pixel (all zero, NaN or infinite)')
            return False
        if result.num_points == 0:
            self._drop('no depth point falls inside the workspace box (is the workspace in view and the camera '
                       'pose right?)')
            return False
        self.outputs.publish(result.to_heightmap(stamp_ns), self.params['base_frame'])
        if self.published == 0:
            self.get_logger().info(f'publishing heightmaps ({result.workspace.shape[0]}x{result.workspace.shape[1]}'
                                   f' cells, {result.num_points} points in the first)')
        self.published += 1
        self._latest = (color, depth, scale, stamp_ns, self._intrinsics)
        if self._point_cloud_due():
            self.publish_point_cloud()
        return True

    def _point_cloud_due(self) -> bool:
        if not self.params['publish_pointcloud'] or self.points.get_subscription_count() == 0:
            return False
        now = self.get_clock().now().nanoseconds
        if (self._last_pointcloud_ns is not None
                and now - self._last_pointcloud_ns < self.params['pointcloud_min_period_s'] * 1e9):
            return False
        self._last_pointcloud_ns = now
        return True

    def point_cloud(self) -> tuple[np.ndarray, np.ndarray, int] | None:
        """(points, colors, stamp ns) of the latest projected frame (see `workspace_point_cloud`); None before one."""
        if self._latest is None:
            return None
        color, depth, scale, stamp_ns, intrinsics = self._latest
        points, colors = workspace_point_cloud(
            color, depth, intrinsics, self._camera_pose, self._workspace,
            voxel_size=self.params['pointcloud_voxel_size'],
            outlier_neighbors=self.params['pointcloud_outlier_neighbors'],
            outlier_std=self.params['pointcloud_outlier_std'], depth_scale=scale)
        return points, colors, stamp_ns

    def publish_point_cloud(self) -> bool:
        """Publish the point cloud of the latest projected frame on `points`; False when there is none."""
        try:
            cloud = self.point_cloud()
        except ValueError as error:
            self._drop(f'point cloud: {error}')
            return False
        if cloud is None:
            return False
        points, colors, stamp_ns = cloud
        header = Header(stamp=ns_to_stamp(stamp_ns), frame_id=self.params['base_frame'])
        self.points.publish(pointcloud_to_msg(points, colors, header))
        self.published_pointclouds += 1
        return True

    def on_save_point_cloud(self, _request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        """Write the point cloud of the latest frame to `ply_path`."""
        path = self.params['ply_path']
        try:
            cloud = self.point_cloud()
            if cloud is None:
                response.success, response.message = False, 'no RGB-D frame projected yet'
                return response
            save_ply(path, cloud[0], cloud[1])
        except (OSError, ValueError) as error:
            response.success, response.message = False, f'could not save the point cloud to {path}: {error}'
            self.get_logger().error(response.message)
            return response
        response.success, response.message = True, f'saved {cloud[0].shape[0]} points to {path}'
        return response


def main(args: list[str] | None = None) -> None:
    """Run the perception node until shutdown."""
    spin_node(PerceptionNode, args)


if __name__ == '__main__':
    main()

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""PointCloud2 conversions, and the perception node's point cloud topic and PLY-saving service."""

from __future__ import annotations

import numpy as np
import pytest
from pushgrasp_interfaces.msg import Heightmap as HeightmapMsg
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField
from std_msgs.msg import Header
from std_srvs.srv import Trigger

from pushgrasp_perception.pointcloud import load_ply, workspace_point_cloud
from pushgrasp_perception.ros.conversions import (image_to_msg, msg_to_pointcloud, ns_to_stamp, pointcloud_to_msg,
                                                  stamp_to_ns)
from pushgrasp_perception.ros.perception_node import PerceptionNode
from pushgrasp_perception.ros.topics import HEIGHTMAP_TOPIC, POINTS_TOPIC
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE


def test_pointcloud_msg_round_trip_and_layout():
    rng = np.random.default_rng(0)
    points = rng.uniform(-1, 1, (500, 3)).astype(np.float32)
    colors = rng.integers(0, 256, (500, 3), dtype=np.uint8)
    colors[0] = (255, 0, 0)
    colors[1] = (1, 2, 3)
    header = Header(stamp=ns_to_stamp(1_500_000_123), frame_id='base_link')
    msg = pointcloud_to_msg(points, colors, header)
    assert (msg.height, msg.width, msg.point_step, msg.row_step) == (1, 500, 16, 8000)
    assert [(f.name, f.offset, f.datatype, f.count) for f in msg.fields] == [
        ('x', 0, PointField.FLOAT32, 1), ('y', 4, PointField.FLOAT32, 1), ('z', 8, PointField.FLOAT32, 1),
        ('rgb', 12, PointField.FLOAT32, 1)]
    assert msg.header.frame_id == 'base_link' and stamp_to_ns(msg.header.stamp) == 1_500_000_123
    assert not msg.is_bigendian and msg.is_dense
    raw = np.frombuffer(bytes(msg.data), np.uint8).reshape(500, 16)
    np.testing.assert_array_equal(raw[:, :12].copy().view(np.float32), points)
    # rviz's packing: the float's bytes hold 0x00RRGGBB.
    assert raw[0, 12:].copy().view('<u4')[0] == 0xFF0000 and raw[1, 12:].copy().view('<u4')[0] == 0x010203
    back_points, back_colors = msg_to_pointcloud(msg)
    np.testing.assert_array_equal(back_points, points)
    np.testing.assert_array_equal(back_colors, colors)
    empty = pointcloud_to_msg(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint8), header)
    assert empty.width == 0 and msg_to_pointcloud(empty)[0].shape == (0, 3)
    with pytest.raises(ValueError, match='uint8'):
        pointcloud_to_msg(points, colors.astype(np.float32), header)


def test_msg_to_pointcloud_reads_other_layouts():
    # 32-byte points: x, y, z, an intensity field, padding, and rgb at offset 16; organised 2 x 3.
    layout = np.dtype({'names': ['x', 'y', 'z', 'intensity', 'rgb'], 'formats': ['<f4'] * 4 + ['<u4'],
                       'offsets': [0, 4, 8, 12, 16], 'itemsize': 32})
    data = np.zeros(6, layout)
    data['x'], data['y'], data['z'] = np.arange(6), np.arange(6) * 2, np.arange(6) * 3
    data['rgb'] = 0x00A0B0C0
    fields = [PointField(name=n, offset=o, datatype=PointField.FLOAT32, count=1)
              for n, o in (('x', 0), ('y', 4), ('z', 8), ('intensity', 12), ('rgb', 16))]
    msg = PointCloud2(height=2, width=3, fields=fields, point_step=32, row_step=96, data=data.tobytes())
    points, colors = msg_to_pointcloud(msg)
    np.testing.assert_array_equal(points[:, 2], np.arange(6) * 3)
    assert (colors == (0xA0, 0xB0, 0xC0)).all()
    msg.fields = fields[:2]
    with pytest.raises(ValueError, match='x, y, z'):
        msg_to_pointcloud(msg)
    msg.fields = fields
    msg.data = msg.data[:-40]
    with pytest.raises(ValueError, match='does not fit'):
        msg_to_pointcloud(msg)


def camera_info(scene) -> CameraInfo:
    return CameraInfo(width=scene.depth.shape[1], height=scene.depth.shape[0], k=scene.intrinsics.ravel().tolist())


def perception_node(ros, scene, **parameters):
    overrides = [Parameter('camera_pose', value=[float(v) for v in scene.camera_pose.ravel()]),
                 Parameter('color_topic', value='camera/color'), Parameter('depth_topic', value='camera/depth'),
                 Parameter('camera_info_topic', value='camera/info')]
    overrides += [Parameter(name, value=value) for name, value in parameters.items()]
    return ros.add(PerceptionNode(context=ros.context, namespace=ros.namespace, parameter_overrides=overrides))


def test_points_published_with_the_heightmap_over_dds(ros, box_scene):
    node = perception_node(ros, box_scene)
    camera = ros.add(Node('camera', context=ros.context, namespace=ros.namespace))
    publishers = [camera.create_publisher(kind, topic, qos_profile_sensor_data)
                  for kind, topic in ((CameraInfo, 'camera/info'), (Image, 'camera/color'), (Image, 'camera/depth'))]
    listener = ros.add(Node('listener', context=ros.context, namespace=ros.namespace))
    heightmaps: list[HeightmapMsg] = []
    clouds: list[PointCloud2] = []
    listener.create_subscription(HeightmapMsg, HEIGHTMAP_TOPIC, heightmaps.append, 5)
    listener.create_subscription(PointCloud2, POINTS_TOPIC, clouds.append, 5)
    messages = [camera_info(box_scene), image_to_msg(box_scene.color, 'rgb8'),
                image_to_msg(np.round(box_scene.depth * 1000).astype(np.uint16), '16UC1')]
    sent: list[int] = []

    def send() -> None:
        sent.append(1_000_000_000 * (len(sent) + 1))
        for publisher, msg in zip(publishers, messages, strict=True):
            msg.header = Header(stamp=ns_to_stamp(sent[-1]), frame_id='camera')
            publisher.publish(msg)

    camera.create_timer(0.1, send)
    assert ros.spin_until(lambda: bool(clouds), timeout=8.0), node.drop_counts
    cloud = clouds[0]
    assert cloud.header.frame_id == 'base_link' and stamp_to_ns(cloud.header.stamp) in sent
    assert stamp_to_ns(cloud.header.stamp) in [stamp_to_ns(h.header.stamp) for h in heightmaps]
    points, colors = msg_to_pointcloud(cloud)
    expected_points, expected_colors = workspace_point_cloud(
        box_scene.color, np.round(box_scene.depth * 1000).astype(np.uint16), box_scene.intrinsics,
        box_scene.camera_pose, DEFAULT_WORKSPACE)
    np.testing.assert_allclose(points, expected_points, atol=1e-6)
    np.testing.assert_array_equal(colors, expected_colors)
    assert node.published_pointclouds >= 1


def test_no_points_without_subscribers_or_when_disabled(ros, box_scene):
    color, depth = image_to_msg(box_scene.color, 'rgb8'), image_to_msg(box_scene.depth, '32FC1')
    node = perception_node(ros, box_scene)
    node.on_camera_info(camera_info(box_scene))
    assert node.process(color, depth, 1)
    assert node.published_pointclouds == 0  # nobody listens: not computed
    disabled = perception_node(ros, box_scene, publish_pointcloud=False)
    disabled.on_camera_info(camera_info(box_scene))
    listener = ros.add(Node('listener', context=ros.context, namespace=ros.namespace))
    listener.create_subscription(PointCloud2, POINTS_TOPIC, lambda msg: None, 5)
    assert ros.spin_until(lambda: node.points.get_subscription_count() > 0)
    assert disabled.process(color, depth, 2) and disabled.published_pointclouds == 0
    assert node.process(color, depth, 3) and node.published_pointclouds == 1


def test_save_point_cloud_service(ros, box_scene, tmp_path):
    path = tmp_path / 'out' / 'cloud.ply'
    node = perception_node(ros, box_scene, ply_path=str(path))
    client_node = ros.add(Node('client', context=ros.context, namespace=ros.namespace))
    client = client_node.create_client(Trigger, 'save_point_cloud')
    assert ros.spin_until(client.service_is_ready)

    def call() -> Trigger.Response:
        future = client.call_async(Trigger.Request())
        assert ros.spin_until(future.done)
        return future.result()

    response = call()
    assert not response.success and 'no RGB-D frame' in response.message and not path.exists()
    node.on_camera_info(camera_info(box_scene))
    assert node.process(image_to_msg(box_scene.color, 'rgb8'), image_to_msg(box_scene.depth, '32FC1'), 4)
    response = call()
    assert response.success, response.message
    points, colors = load_ply(path)
    expected_points, expected_colors = workspace_point_cloud(box_scene.color, box_scene.depth, box_scene.intrinsics,
                                                             box_scene.camera_pose, DEFAULT_WORKSPACE)
    assert f'saved {points.shape[0]} points to {path}' == response.message
    np.testing.assert_array_equal(points, expected_points)
    np.testing.assert_array_equal(colors, expected_colors)

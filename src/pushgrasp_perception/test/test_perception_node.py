# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The perception node: stamp pairing, calibration files, bad input, and an RGB-D stream over DDS."""

from __future__ import annotations

import numpy as np
import pytest
from pushgrasp_interfaces.msg import Heightmap as HeightmapMsg
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from pushgrasp_perception.ros.conversions import image_to_msg, msg_to_heightmap, ns_to_stamp, stamp_to_ns
from pushgrasp_perception.ros.perception_node import ColorDepthPairer, PerceptionNode, load_camera_pose
from pushgrasp_perception.ros.topics import HEIGHTMAP_TOPIC
from std_srvs.srv import Trigger
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE


class RecordingLogger:
    """Stands in for a node's logger and keeps what was logged."""

    def __init__(self) -> None:
        self.records: list[tuple[str, str]] = []

    def _record(self, level: str, message: str, **_: object) -> None:
        self.records.append((level, message))

    def info(self, message: str, **kwargs: object) -> None:
        self._record('info', message)

    def warning(self, message: str, **kwargs: object) -> None:
        self._record('warning', message)

    def error(self, message: str, **kwargs: object) -> None:
        self._record('error', message)

    def levels(self, level: str) -> list[str]:
        return [message for lvl, message in self.records if lvl == level]


def camera_info(scene, width=None, height=None) -> CameraInfo:
    """The CameraInfo of a BoxScene."""
    return CameraInfo(width=width or scene.depth.shape[1], height=height or scene.depth.shape[0],
                      k=scene.intrinsics.ravel().tolist(), distortion_model='plumb_bob', d=[0.0] * 5)


def pose_parameter(pose: np.ndarray) -> Parameter:
    return Parameter('camera_pose', value=[float(v) for v in pose.ravel()])


# --- pairing -------------------------------------------------------------------------------------------------

def test_pairer_matches_equal_and_close_stamps():
    pairer = ColorDepthPairer(tolerance_ns=20)
    assert pairer.push_color(100, 'c100') is None
    assert pairer.push_depth(110, 'd110') == ('c100', 'd110', 110)
    assert pairer.push_depth(200, 'd200') is None
    assert pairer.push_color(230, 'c230') is None  # 30 ns apart: too far
    assert pairer.push_color(205, 'c205') == ('c205', 'd200', 205)


def test_pairer_takes_nearest_and_forgets_older_frames():
    pairer = ColorDepthPairer(tolerance_ns=50)
    for stamp in (100, 200, 300):
        assert pairer.push_color(stamp, f'c{stamp}') is None or stamp == 100
    pairer = ColorDepthPairer(tolerance_ns=50)
    pairer.push_color(100, 'c100')
    pairer.push_color(140, 'c140')
    pairer.push_color(190, 'c190')
    assert pairer.push_depth(150, 'd150') == ('c140', 'd150', 150)
    # c100 (older) went with the pair; c190 is still waiting.
    assert pairer.push_depth(120, 'd120') is None
    assert pairer.push_depth(185, 'd185') == ('c190', 'd185', 190)


def test_pairer_keeps_only_the_last_frames():
    pairer = ColorDepthPairer(tolerance_ns=0, capacity=3)
    for stamp in range(10):
        pairer.push_color(stamp, stamp)
    assert pairer.push_depth(5, 'old') is None  # colour 5 was pushed out by 7, 8, 9
    assert pairer.push_depth(8, 'new') == (8, 'new', 8)


# --- calibration -----------------------------------------------------------------------------------------------

def test_load_camera_pose(tmp_path, box_scene):
    nested = tmp_path / 'nested.yaml'
    nested.write_text('camera_pose:\n' + ''.join(f'  - {row.tolist()}\n' for row in box_scene.camera_pose))
    np.testing.assert_allclose(load_camera_pose(str(nested)), box_scene.camera_pose)
    flat = tmp_path / 'flat.yaml'
    flat.write_text(f'camera_pose: {box_scene.camera_pose.ravel().tolist()}\nother: 1\n')
    np.testing.assert_allclose(load_camera_pose(str(flat)), box_scene.camera_pose)
    for text, message in [('pose: [1]\n', 'no top-level key camera_pose'),
                          ('camera_pose: [1, 2, 3]\n', '4x4'),
                          ('camera_pose: [[a, b], [c, d]]\n', 'numeric'),
                          (f'camera_pose: {np.diag([2.0, 1, 1, 1]).tolist()}\n', 'rotation')]:
        bad = tmp_path / 'bad.yaml'
        bad.write_text(text)
        with pytest.raises(ValueError, match=message):
            load_camera_pose(str(bad))


def test_calibration_file_sets_the_pose(ros, tmp_path, box_scene):
    path = tmp_path / 'calibration.yaml'
    path.write_text(f'camera_pose: {box_scene.camera_pose.ravel().tolist()}\n')
    node = ros.add(PerceptionNode(context=ros.context, namespace=ros.namespace,
                                  parameter_overrides=[Parameter('calibration_file', value=str(path))]))
    node.on_camera_info(camera_info(box_scene))
    published = []
    node.outputs.publish = lambda heightmap, frame_id: published.append(heightmap)
    assert node.process(image_to_msg(box_scene.color, 'rgb8'), image_to_msg(box_scene.depth, '32FC1'), 5)
    assert abs(float(published[0].height.max()) - 0.06) <= 0.001


def test_bad_configuration_drops_every_frame(ros, tmp_path, box_scene):
    node = ros.add(PerceptionNode(
        context=ros.context, namespace=ros.namespace,
        parameter_overrides=[Parameter('calibration_file', value=str(tmp_path / 'missing.yaml'))]))
    node.on_camera_info(camera_info(box_scene))
    assert not node.process(image_to_msg(box_scene.color, 'rgb8'), image_to_msg(box_scene.depth, '32FC1'), 5)
    [reason] = node.drop_counts
    assert 'bad configuration' in reason and 'missing.yaml' in reason
    short = ros.add(PerceptionNode('short', context=ros.context, namespace=ros.namespace,
                                   parameter_overrides=[Parameter('camera_pose', value=[1.0] * 15)]))
    assert any('16 numbers' in reason for reason in short.drop_counts)


# --- bad input ---------------------------------------------------------------------------------------------------

def test_bad_input_is_logged_once_per_reason_and_the_node_recovers(ros, box_scene, monkeypatch):
    node = ros.add(PerceptionNode(context=ros.context, namespace=ros.namespace,
                                  parameter_overrides=[pose_parameter(box_scene.camera_pose)]))
    logger = RecordingLogger()
    monkeypatch.setattr(node, 'get_logger', lambda: logger)
    published = []
    node.outputs.publish = lambda heightmap, frame_id: published.append(heightmap)
    color = image_to_msg(box_scene.color, 'rgb8')
    depth = image_to_msg(box_scene.depth, '32FC1')
    h, w = box_scene.depth.shape
    bad_inputs = {
        'no camera_info': (color, depth),
        'unsupported colour encoding': (image_to_msg(box_scene.color[..., 0], 'mono8'), depth),
        'unsupported depth encoding': (color, image_to_msg(box_scene.color[..., 0], 'mono8')),
        'differ in size': (color, image_to_msg(box_scene.depth[:-2], '32FC1')),
        'camera_info is for': (color, depth),
        'no valid pixel': (color, image_to_msg(np.full((h, w), np.nan, np.float32), '32FC1')),
        'no depth point falls inside': (color, image_to_msg(np.full((h, w), 20.0, np.float32), '32FC1')),
    }
    truncated = image_to_msg(box_scene.depth, '32FC1')
    truncated.data = truncated.data[:-10]
    bad_inputs['bytes'] = (color, truncated)
    for expected, (color_msg, depth_msg) in bad_inputs.items():
        if expected == 'camera_info is for':
            node.on_camera_info(camera_info(box_scene, width=w * 2, height=h * 2))
        elif expected != 'no camera_info':
            node.on_camera_info(camera_info(box_scene))
        for _ in range(3):
            assert not node.process(color_msg, depth_msg, 7)
        warnings = logger.levels('warning')
        assert expected in warnings[-1], (expected, warnings)
    assert not published
    assert len(logger.levels('warning')) == len(bad_inputs) == len(node.drop_counts)
    assert all(count == 3 for count in node.drop_counts.values())
    # Still alive: a good pair goes through, and nothing more is logged as a warning.
    assert node.process(color, depth, 7)
    assert len(published) == 1 and published[0].stamp_ns == 7
    assert len(logger.levels('warning')) == len(bad_inputs)


def test_encodings_agree(ros, box_scene):
    node = ros.add(PerceptionNode(context=ros.context, namespace=ros.namespace,
                                  parameter_overrides=[pose_parameter(box_scene.camera_pose),
                                                       Parameter('depth_scale', value=0.0001)]))
    node.on_camera_info(camera_info(box_scene))
    published = []
    node.outputs.publish = lambda heightmap, frame_id: published.append(heightmap)
    depth_01mm = np.round(box_scene.depth * 10000).astype(np.uint16)
    assert node.process(image_to_msg(box_scene.color, 'rgb8'), image_to_msg(depth_01mm, '16UC1'), 1)
    assert node.process(image_to_msg(box_scene.color[..., ::-1], 'bgr8'),
                        image_to_msg(depth_01mm.astype(np.float32) * np.float32(1e-4), '32FC1'), 2)
    rgb, bgr = published
    np.testing.assert_array_equal(rgb.color, bgr.color)
    np.testing.assert_allclose(rgb.height, bgr.height, atol=1e-6)
    assert abs(float(rgb.height.max()) - 0.06) <= 0.0002


def test_on_request_mode_publishes_only_when_asked(ros, box_scene):
    node = ros.add(PerceptionNode(context=ros.context, namespace=ros.namespace,
                                  parameter_overrides=[pose_parameter(box_scene.camera_pose),
                                                       Parameter('on_request', value=True)]))
    published = []
    node.outputs.publish = lambda heightmap, frame_id: published.append(heightmap)
    assert not node.on_publish_heightmap(Trigger.Request(), Trigger.Response()).success, 'nothing received yet'
    node.on_camera_info(camera_info(box_scene))
    stamp = ns_to_stamp(7)
    color, depth = image_to_msg(box_scene.color, 'rgb8'), image_to_msg(box_scene.depth, '32FC1')
    color.header.stamp = depth.header.stamp = stamp
    node.on_color_image(color)
    node.on_depth_image(depth)
    assert published == [], 'frames alone publish nothing in on-request mode'
    answer = node.on_publish_heightmap(Trigger.Request(), Trigger.Response())
    assert answer.success, answer.message
    assert len(published) == 1 and published[0].stamp_ns == 7
    assert abs(float(published[0].height.max()) - 0.06) <= 0.001


# --- over DDS ------------------------------------------------------------------------------------------------------

def test_rgbd_stream_to_heightmap_over_dds(ros, box_scene):
    node = ros.add(PerceptionNode(context=ros.context, namespace=ros.namespace, parameter_overrides=[
        pose_parameter(box_scene.camera_pose),
        Parameter('color_topic', value='camera/color/image_raw'),
        Parameter('depth_topic', value='camera/aligned_depth_to_color/image_raw'),
        Parameter('camera_info_topic', value='camera/color/camera_info'),
    ]))
    camera = ros.add(Node('camera', context=ros.context, namespace=ros.namespace))
    color_pub = camera.create_publisher(Image, 'camera/color/image_raw', qos_profile_sensor_data)
    depth_pub = camera.create_publisher(Image, 'camera/aligned_depth_to_color/image_raw', qos_profile_sensor_data)
    info_pub = camera.create_publisher(CameraInfo, 'camera/color/camera_info', qos_profile_sensor_data)
    color_msg = image_to_msg(box_scene.color[..., ::-1], 'bgr8')  # as the RealSense driver may send it
    depth_msg = image_to_msg(np.round(box_scene.depth * 1000).astype(np.uint16), '16UC1')
    info_msg = camera_info(box_scene)
    sent: list[int] = []

    def send() -> None:
        stamp_ns = 1_000_000_000 * (len(sent) + 1)
        header = Header(stamp=ns_to_stamp(stamp_ns), frame_id='camera_color_optical_frame')
        info_msg.header = color_msg.header = header
        depth_msg.header = Header(stamp=ns_to_stamp(stamp_ns + 5_000_000), frame_id=header.frame_id)  # 5 ms later
        info_pub.publish(info_msg)
        color_pub.publish(color_msg)
        depth_pub.publish(depth_msg)
        sent.append(stamp_ns)

    camera.create_timer(0.1, send)
    listener = ros.add(Node('listener', context=ros.context, namespace=ros.namespace))
    received: list[HeightmapMsg] = []
    listener.create_subscription(HeightmapMsg, HEIGHTMAP_TOPIC, received.append, 5)
    assert ros.spin_until(lambda: bool(received), timeout=8.0), node.drop_counts
    msg = received[0]
    assert msg.header.frame_id == 'base_link'
    assert stamp_to_ns(msg.header.stamp) - 5_000_000 in sent  # the newer (depth) stamp of the pair
    heightmap = msg_to_heightmap(msg)
    assert heightmap.workspace == DEFAULT_WORKSPACE
    assert abs(float(heightmap.height.max()) - 0.06) <= 0.001
    # Millimetre depth smears the side faces a little outwards: the footprint within 10 % here.
    footprint = heightmap.height > 0.03
    assert abs(footprint.sum() * DEFAULT_WORKSPACE.resolution ** 2 - 0.0498 * 0.0798) / (0.0498 * 0.0798) < 0.1
    # The box top, in RGB (the bgr8 input was converted), on the cells inside the footprint.
    rows, cols = DEFAULT_WORKSPACE.shape
    x = DEFAULT_WORKSPACE.x_min + (np.arange(cols) + 0.5) * DEFAULT_WORKSPACE.resolution
    y = DEFAULT_WORKSPACE.y_min + (np.arange(rows) + 0.5) * DEFAULT_WORKSPACE.resolution
    inner = box_scene.inside_footprint(*np.meshgrid(x, y), margin=DEFAULT_WORKSPACE.resolution)
    seen = inner & (heightmap.height > 0)
    assert seen.sum() > 0.97 * inner.sum()
    assert (heightmap.color[seen] == box_scene.top_color).all()

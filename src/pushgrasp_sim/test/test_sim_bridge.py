# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The sim bridge node over DDS: a synchronised RGB-D triple, the scene services, the robot side."""

import threading
import time

import numpy as np
import pytest
import rclpy
from action_msgs.msg import GoalStatus
from geometry_msgs.msg import Point
from pushgrasp_interfaces.action import MoveTool
from pushgrasp_interfaces.srv import GetObjectPoses, ResetScene, SetGripper
from rclpy.action import ActionClient
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from pushgrasp_perception.ros.conversions import msg_to_image
from pushgrasp_sim.ros.sim_bridge import CAMERA_INFO_TOPIC, COLOR_TOPIC, DEPTH_TOPIC, SimBridgeNode

TIMEOUT_S = 20.0


def wait(future, timeout=TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while not future.done() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert future.done(), 'no answer'
    return future.result()


@pytest.fixture
def bridge():
    rclpy.init()
    node = SimBridgeNode(parameter_overrides=[rclpy.parameter.Parameter('num_objects', value=3),
                                              rclpy.parameter.Parameter('camera_rate_hz', value=10.0)])
    client = Node('bridge_test_client')
    executor = MultiThreadedExecutor(num_threads=4)
    executor.add_node(node)
    executor.add_node(client)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    try:
        yield node, client
    finally:
        executor.shutdown()
        thread.join(timeout=5)
        client.destroy_node()
        node.destroy_node()
        rclpy.shutdown()


def test_publishes_a_synchronised_rgbd_triple(bridge):
    _, client = bridge
    received = {COLOR_TOPIC: {}, DEPTH_TOPIC: {}, CAMERA_INFO_TOPIC: {}}

    def keep(topic):
        return lambda msg: received[topic].setdefault((msg.header.stamp.sec, msg.header.stamp.nanosec), msg)

    client.create_subscription(Image, COLOR_TOPIC, keep(COLOR_TOPIC), qos_profile_sensor_data)
    client.create_subscription(Image, DEPTH_TOPIC, keep(DEPTH_TOPIC), qos_profile_sensor_data)
    client.create_subscription(CameraInfo, CAMERA_INFO_TOPIC, keep(CAMERA_INFO_TOPIC), qos_profile_sensor_data)
    deadline = time.monotonic() + TIMEOUT_S
    common = set()
    while not common and time.monotonic() < deadline:
        time.sleep(0.05)
        common = set(received[COLOR_TOPIC]) & set(received[DEPTH_TOPIC]) & set(received[CAMERA_INFO_TOPIC])
    assert common, 'no colour, depth and camera_info with one stamp'
    stamp = sorted(common)[-1]
    color = msg_to_image(received[COLOR_TOPIC][stamp])
    depth = msg_to_image(received[DEPTH_TOPIC][stamp])
    info = received[CAMERA_INFO_TOPIC][stamp]
    assert color.shape == (480, 640, 3) and depth.shape == (480, 640) and depth.dtype == np.float32
    assert (info.width, info.height) == (640, 480) and info.k[0] > 0
    assert 0.5 < float(np.median(depth)) < 1.5, 'the camera sees the table from under a metre away'


def test_reset_and_object_poses(bridge):
    _, client = bridge
    reset = client.create_client(ResetScene, 'sim/reset')
    poses = client.create_client(GetObjectPoses, 'sim/get_object_poses')
    assert reset.wait_for_service(TIMEOUT_S) and poses.wait_for_service(TIMEOUT_S)
    answer = wait(reset.call_async(ResetScene.Request(seed=4, scene_type=ResetScene.Request.RANDOM, num_objects=5)))
    assert answer.success and answer.num_objects == 5, answer.message
    objects = wait(poses.call_async(GetObjectPoses.Request())).objects
    assert len(objects) == 5 and all(o.inside_workspace for o in objects)
    # A bad request is answered with the reason, and the node keeps serving.
    bad = wait(reset.call_async(ResetScene.Request(seed=1, scene_type=ResetScene.Request.TEST_CASE,
                                                   test_case_file='/no/such/case.txt')))
    assert not bad.success and 'case.txt' in bad.message
    again = wait(reset.call_async(ResetScene.Request(seed=4, scene_type=ResetScene.Request.RANDOM, num_objects=2)))
    assert again.success and again.num_objects == 2


def test_robot_side_moves_the_tool_and_refuses_nan(bridge):
    node, client = bridge
    move = ActionClient(client, MoveTool, 'sim/move_tool')
    gripper = client.create_client(SetGripper, 'sim/set_gripper')
    assert move.wait_for_server(TIMEOUT_S) and gripper.wait_for_service(TIMEOUT_S)
    nan_goal = MoveTool.Goal(position=Point(x=float('nan'), y=0.0, z=0.2), yaw=0.0, speed=0.25, acceleration=1.2)
    assert not wait(move.send_goal_async(nan_goal)).accepted
    goal = MoveTool.Goal(position=Point(x=0.45, y=0.1, z=0.2), yaw=0.3, speed=0.25, acceleration=1.2)
    handle = wait(move.send_goal_async(goal))
    assert handle.accepted
    response = wait(handle.get_result_async())
    assert response.status == GoalStatus.STATUS_SUCCEEDED and response.result.reached, response.result.error
    final = response.result.final_position
    assert np.allclose([final.x, final.y, final.z], [0.45, 0.1, 0.2], atol=0.003)
    unreachable = MoveTool.Goal(position=Point(x=1.5, y=0.0, z=0.2), yaw=0.0, speed=0.25, acceleration=1.2)
    failed = wait(wait(move.send_goal_async(unreachable)).get_result_async())
    assert failed.status == GoalStatus.STATUS_ABORTED and failed.result.error
    closed = wait(gripper.call_async(SetGripper.Request(close=True)))
    assert closed.success and closed.width < 0.005
    opened = wait(gripper.call_async(SetGripper.Request(close=False)))
    assert opened.success and opened.width > 0.08

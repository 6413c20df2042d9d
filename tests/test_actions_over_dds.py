# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Real nodes in their own processes round-trip the Heightmap message and both actions over DDS.

The `mock` graph runs (heightmap publisher, policy node, control node with the mock robot) through the
project's runner; this process is a plain rclpy client.
"""

import time

import numpy as np
import pytest
import rclpy
from action_msgs.msg import GoalStatus
from pushgrasp_interfaces.action import ExecutePrimitive, SelectPrimitive
from pushgrasp_interfaces.msg import Heightmap as HeightmapMsg
from rclpy.action import ActionClient
from rclpy.node import Node

from pushgrasp.graph import build_graph
from pushgrasp.runner import GraphRunner
from pushgrasp_control.ros.conversions import msg_to_primitive
from pushgrasp_perception import DEFAULT_WORKSPACE, Heightmap
from pushgrasp_perception.ros.conversions import heightmap_to_msg, msg_to_heightmap, msg_to_image

TIMEOUT_S = 30.0


class Client(Node):
    def __init__(self):
        super().__init__('test_client')
        self.select = ActionClient(self, SelectPrimitive, 'select_primitive')
        self.execute = ActionClient(self, ExecutePrimitive, 'execute_primitive')
        self.heightmaps = []
        self.create_subscription(HeightmapMsg, 'heightmap', self.heightmaps.append, 5)

    def wait_for(self, predicate, timeout=TIMEOUT_S):
        deadline = time.monotonic() + timeout
        while not predicate() and time.monotonic() < deadline:
            rclpy.spin_once(self, timeout_sec=0.05)
        return predicate()

    def send(self, client, goal, feedback):
        future = client.send_goal_async(goal, feedback_callback=lambda f: feedback.append(f.feedback))
        assert self.wait_for(future.done), 'goal was not answered'
        return future.result()

    def result(self, handle):
        future = handle.get_result_async()
        assert self.wait_for(future.done), 'no result'
        return future.result()


@pytest.fixture(scope='module')
def graph():
    # A slow mock robot, so that a cancel arrives while the arm is still moving.
    runner = GraphRunner(build_graph('mock', seed=3, mock_time_scale=0.5), echo=lambda line: None)
    runner.start()
    rclpy.init()
    client = Client()
    try:
        assert client.select.wait_for_server(TIMEOUT_S) and client.execute.wait_for_server(TIMEOUT_S), \
            'the policy and control nodes did not come up'
        yield client
    finally:
        client.destroy_node()
        rclpy.shutdown()
        runner.stop()


TABLE_RGB = (71, 72, 77)
"""The simulated table as the camera sees it (the policy's weights were learned on it)."""


def block_scene() -> Heightmap:
    """An empty table with one 5 x 5 x 5 cm red block."""
    heightmap = Heightmap.empty(DEFAULT_WORKSPACE)
    heightmap.color[:] = TABLE_RGB
    heightmap.height[100:125, 60:85] = 0.05
    heightmap.color[100:125, 60:85] = (255, 87, 89)
    heightmap.stamp_ns = 1_234_567_890
    return heightmap


def test_heightmap_arrives_from_the_publisher_node(graph):
    assert graph.wait_for(lambda: graph.heightmaps), 'no Heightmap received'
    heightmap = msg_to_heightmap(graph.heightmaps[-1])
    assert heightmap.shape == DEFAULT_WORKSPACE.shape
    assert heightmap.height.max() > 0.01, 'the synthetic scene has objects'
    assert graph.heightmaps[-1].header.frame_id == 'base_link'


def test_select_primitive_on_a_heightmap_sent_in_the_goal(graph):
    scene = block_scene()
    feedback = []
    handle = graph.send(graph.select, SelectPrimitive.Goal(heightmap=heightmap_to_msg(scene, 'base_link'),
                                                           explore=False), feedback)
    assert handle.accepted
    response = graph.result(handle)
    assert response.status == GoalStatus.STATUS_SUCCEEDED, response.result.message
    primitive = msg_to_primitive(response.result.primitive)
    # The heightmap made the trip intact: the policy grasps the only block, at the stamp we sent.
    assert primitive.type.name == 'GRASP'
    assert 100 <= primitive.row < 125 and 60 <= primitive.col < 85
    assert primitive.stamp_ns == scene.stamp_ns
    assert response.result.rotation_index == primitive.rotation_index
    grasp_q = msg_to_image(response.result.grasp_q)
    assert grasp_q.shape == scene.shape and grasp_q.dtype == np.float32
    # The published map is the one the choice came from: its best cell with something to grasp is the choice.
    graspable = scene.height >= 0.01
    assert grasp_q[primitive.row, primitive.col] == pytest.approx(primitive.q_value, rel=1e-5)
    assert grasp_q[graspable].max() == pytest.approx(primitive.q_value, rel=1e-5)
    stages = [f.stage for f in feedback]
    assert stages == sorted(stages) and SelectPrimitive.Feedback.STAGE_SELECTION in stages


def test_select_primitive_rejects_a_malformed_heightmap_and_keeps_serving(graph):
    bad = heightmap_to_msg(block_scene(), 'base_link')
    bad.height.encoding = 'mono8'
    response = graph.result(graph.send(graph.select, SelectPrimitive.Goal(heightmap=bad), []))
    assert response.status == GoalStatus.STATUS_ABORTED
    assert 'encoding' in response.result.message
    # The node keeps serving; the publisher's heightmap reaches it once discovery has matched them (a loaded
    # machine can take a few seconds), so ask again until it has one.
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        good = graph.result(graph.send(graph.select, SelectPrimitive.Goal(use_latest_heightmap=True), []))
        if good.status == GoalStatus.STATUS_SUCCEEDED or 'no heightmap has been received' not in \
                good.result.message or time.monotonic() > deadline:
            break
        graph.wait_for(lambda: False, timeout=0.5)
    assert good.status == GoalStatus.STATUS_SUCCEEDED, good.result.message


def test_execute_primitive_reports_each_phase(graph):
    selection = graph.result(graph.send(graph.select, SelectPrimitive.Goal(
        heightmap=heightmap_to_msg(block_scene(), 'base_link')), []))
    feedback = []
    response = graph.result(graph.send(graph.execute, ExecutePrimitive.Goal(primitive=selection.result.primitive),
                                       feedback))
    assert response.status == GoalStatus.STATUS_SUCCEEDED
    phases = [f.phase for f in feedback]
    assert {ExecutePrimitive.Feedback.PHASE_APPROACH, ExecutePrimitive.Feedback.PHASE_CONTACT,
            ExecutePrimitive.Feedback.PHASE_RETREAT} <= set(phases)
    assert phases == sorted(phases), 'phases arrive in order'
    assert [f.progress for f in feedback] == sorted(f.progress for f in feedback)
    assert response.result.success is False and response.result.grasp_width == pytest.approx(0.0, abs=1e-3), \
        'the mock robot has no objects, so a grasp closes on nothing'


def test_execute_primitive_cancel_stops_the_motion(graph):
    selection = graph.result(graph.send(graph.select, SelectPrimitive.Goal(
        heightmap=heightmap_to_msg(block_scene(), 'base_link')), []))
    feedback = []
    handle = graph.send(graph.execute, ExecutePrimitive.Goal(primitive=selection.result.primitive), feedback)
    assert handle.accepted
    assert graph.wait_for(lambda: feedback), 'no feedback before cancelling'
    started = time.monotonic()
    cancel = handle.cancel_goal_async()
    assert graph.wait_for(cancel.done)
    response = graph.result(handle)
    assert response.status == GoalStatus.STATUS_CANCELED
    assert time.monotonic() - started < 2.0, 'cancel must stop the robot at once'
    # The node serves the next goal.
    again = graph.result(graph.send(graph.execute, ExecutePrimitive.Goal(primitive=selection.result.primitive), []))
    assert again.status == GoalStatus.STATUS_SUCCEEDED


def test_execute_primitive_refuses_an_out_of_workspace_primitive_and_keeps_serving(graph):
    selection = graph.result(graph.send(graph.select, SelectPrimitive.Goal(
        heightmap=heightmap_to_msg(block_scene(), 'base_link')), []))
    primitive = selection.result.primitive
    primitive.position.x += 2.0
    response = graph.result(graph.send(graph.execute, ExecutePrimitive.Goal(primitive=primitive), []))
    assert response.status == GoalStatus.STATUS_ABORTED
    assert response.result.error, 'the refusal says why'

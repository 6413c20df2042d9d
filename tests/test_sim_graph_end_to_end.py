# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The whole simulated graph, started with `pushgrasp launch sim`, clears objects with the shipped policy.

Every topic the rviz config displays must be published while it runs (except the robot model's description,
which a real robot's driver publishes): what a user sees in rviz is what the graph really produces.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import rclpy
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image, PointCloud2
from std_msgs.msg import String
from visualization_msgs.msg import MarkerArray

from pushgrasp_policy.checkpoint import SHIPPED

ROOT = Path(__file__).resolve().parents[1]
RVIZ = ROOT / 'rviz' / 'pushgrasp.rviz'
# Two blocks far apart and a third: a short episode (the graph resets nothing: one episode, autostarted).
CASE = """4.obj 0.31 0.47 0.65 -0.600 -0.120 0.025 0 0 0
8.obj 0.35 0.63 0.31 -0.420 0.050 0.025 0 0 0
3.obj 0.61 0.46 0.37 -0.560 0.130 0.0125 0 0 1.2
"""

pytestmark = [pytest.mark.timeout(300),
              pytest.mark.skipif(not SHIPPED['shipped'].exists(), reason='no shipped weights')]


def rviz_topics() -> dict[str, type]:
    """Topic -> message type of every display in the rviz config that shows a topic."""
    text = RVIZ.read_text()
    types = {'rviz_default_plugins/Image': Image, 'rviz_default_plugins/PointCloud2': PointCloud2,
             'rviz_default_plugins/MarkerArray': MarkerArray}
    topics = {}
    for block in re.split(r'\n    - Class: ', text)[1:]:
        kind = block.split('\n', 1)[0].strip()
        if kind == 'rviz_default_plugins/RobotModel':
            # The robot's URDF comes from the robot's driver (ur_robot_driver, the HSR's bringup) on a real
            # robot; the embedded simulator's arm is MJCF and the sim graph publishes no robot_description.
            continue
        match = re.search(r'Topic:\s*\n\s*Value: (\S+)', block)
        if match:
            assert kind in types, f'the rviz config shows {match.group(1)} with {kind}, which this test does not know'
            topics[match.group(1)] = types[kind]
    return topics


def test_the_sim_graph_clears_objects_with_the_shipped_policy_and_publishes_what_rviz_shows(
        tmp_path, stop_process_group):
    topics = rviz_topics()
    expected = {'/heightmap/color', '/q_maps/push', '/q_maps/grasp', '/selected_primitive/markers', '/points'}
    assert expected <= set(topics)
    case = tmp_path / 'case.txt'
    case.write_text(CASE)
    launch = subprocess.Popen(
        [shutil.which('pushgrasp'), 'launch', 'sim', 'policy:=vpg', f'test_case_file:={case}', 'max_actions:=6',
         'seed:=2'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    rclpy.init()
    node = Node('end_to_end_observer')
    seen: dict[str, int] = {topic: 0 for topic in topics}
    episodes: list[dict] = []
    try:
        qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        for topic, message_type in topics.items():
            def count(_msg, topic=topic):
                seen[topic] += 1
            # Best effort matches every publisher (reliable or sensor-data); volatile matches every durability.
            node.create_subscription(message_type, topic, count,
                                     QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT))
        node.create_subscription(String, '/task/episode', lambda msg: episodes.append(json.loads(msg.data)), qos)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not episodes and launch.poll() is None:
            rclpy.spin_once(node, timeout_sec=0.1)
        for _ in range(20):  # images published with the last decision may still be on their way
            rclpy.spin_once(node, timeout_sec=0.05)
    finally:
        node.destroy_node()
        rclpy.shutdown()
        output = stop_process_group(launch)
    assert episodes, f'no episode result from the task node; graph log:\n{output[-4000:]}'
    episode = episodes[-1]
    assert episode['objects_total'] == 3
    assert episode['objects_picked'] >= 2, episode
    assert episode['grasp_successes'] >= 2
    silent = [topic for topic, count in seen.items() if count == 0]
    assert not silent, f'topics the rviz config shows that were never published: {silent}'

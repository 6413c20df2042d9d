# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Goal mode of the whole simulated graph: `pushgrasp launch sim goal:=green` picks the green block and stops.

The graph runs as processes over DDS, as a user starts it: the task node sends GOAL_COLOR goals, the policy node
serves them with the shipped policy used greedily on the goal, and the episode ends as soon as the green block
was picked (with other blocks left on the table). The sim bridge publishes the object labels the policy node
keeps for GOAL_ID goals: asked afterwards, the policy node finds the blue block by its id, and reports the
picked green one as not visible.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import numpy as np
import pytest
import rclpy
from action_msgs.msg import GoalStatus
from pushgrasp_interfaces.action import SelectPrimitive
from rclpy.action import ActionClient
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import String

from pushgrasp_control.ros.conversions import msg_to_primitive
from pushgrasp_perception.ros.conversions import msg_to_image
from pushgrasp_policy.checkpoint import SHIPPED

# Blue, green and brown blocks (the palette's first three colours, as the reference's test cases paint them).
CASE = """4.obj 0.31 0.47 0.65 -0.600 -0.120 0.025 0 0 0
8.obj 0.35 0.63 0.31 -0.420 0.050 0.025 0 0 0
3.obj 0.61 0.46 0.37 -0.560 0.130 0.0125 0 0 1.2
"""

pytestmark = [pytest.mark.timeout(150),
              pytest.mark.skipif(not SHIPPED['shipped'].exists(), reason='no shipped weights')]


def test_the_sim_graph_in_goal_mode_picks_the_goal_block_and_ends_the_episode(tmp_path, stop_process_group):
    case = tmp_path / 'case.txt'
    case.write_text(CASE)
    log = tmp_path / 'graph.log'  # a file, not a pipe: an unread pipe that fills up would stall the nodes
    with open(log, 'w') as out:
        launch = subprocess.Popen(
            [shutil.which('pushgrasp'), 'launch', 'sim', 'policy:=vpg', f'test_case_file:={case}', 'max_actions:=5',
             'seed:=2', 'goal:=green'], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    rclpy.init()
    node = Node('goal_mode_observer')
    episodes: list[dict] = []
    labels: list[Image] = []
    by_id = {}
    try:
        latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        node.create_subscription(String, '/task/episode', lambda msg: episodes.append(json.loads(msg.data)), latched)
        node.create_subscription(Image, '/sim/object_labels', labels.append,
                                 QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not episodes and launch.poll() is None:
            rclpy.spin_once(node, timeout_sec=0.1)
        if episodes:  # the graph still runs: ask for the remaining blocks by their simulator ids
            client = ActionClient(node, SelectPrimitive, '/select_primitive')
            assert client.wait_for_server(timeout_sec=10.0)
            for object_id in (0, 1):
                sent = client.send_goal_async(SelectPrimitive.Goal(
                    use_latest_heightmap=True, goal_type=SelectPrimitive.Goal.GOAL_ID, goal_object_id=object_id))
                rclpy.spin_until_future_complete(node, sent, timeout_sec=10.0)
                result = sent.result().get_result_async()
                rclpy.spin_until_future_complete(node, result, timeout_sec=20.0)
                by_id[object_id] = result.result()
    finally:
        node.destroy_node()
        rclpy.shutdown()
        stop_process_group(launch)
    output = log.read_text()
    assert episodes, f'no episode result from the task node; graph log:\n{output[-4000:]}'
    episode = episodes[-1]
    assert episode['goal'] == 'green' and episode['objects_total'] == 3
    assert episode['goal_picked'] is True and episode['reason'] == 'goal picked', (episode['reason'], output[-3000:])
    assert episode['completed'] is True and episode['motion_number'] == episode['actions'] <= 5
    assert episode['objects_picked'] == episode['goal_grasps'] + episode['other_picked'] and episode['goal_grasps'] == 1
    assert episode['objects_picked'] < 3, 'the episode ends at the goal, not when the table is clear'
    last = episode['steps'][-1]
    assert last['grasp_success'] and last['goal_visible'] is False
    # The simulator agrees with the heightmap rule: the last grasp took object 1, the case's green block.
    assert last['objects_left_workspace'] == [1], last
    assert 'goal green object' in output or 'for goal the green object' in output, 'the policy node served goals'

    blue, green = by_id[0], by_id[1]
    assert blue.status == GoalStatus.STATUS_SUCCEEDED, blue.result.message
    position = msg_to_primitive(blue.result.primitive).position
    assert np.hypot(position[0] - 0.4, position[1] + 0.12) < 0.04, f'not at the blue block: {position}'
    assert green.status == GoalStatus.STATUS_ABORTED and 'object 1 is not visible' in green.result.message

    assert labels, 'the sim bridge published no object labels'
    first = msg_to_image(labels[0])
    assert labels[0].encoding == '16UC1' and first.shape == (224, 224)
    assert set(np.unique(first)) <= {0, 1, 2, 3} and {1, 2, 3} & set(np.unique(first)), 'object index + 1, 0: none'

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The perception node turns the simulator's camera topics into the right Heightmap, over DDS between processes."""

import time

import numpy as np
import pytest
import rclpy
from pushgrasp_interfaces.msg import Heightmap as HeightmapMsg
from rclpy.node import Node

from pushgrasp.graph import build_graph
from pushgrasp.runner import GraphRunner
from pushgrasp_perception import DEFAULT_WORKSPACE
from pushgrasp_perception.ros.conversions import msg_to_heightmap

# One 5 cm cube at the workspace centre and one 10 cm pillar standing 12 cm to its +y side.
CASE = """4.obj 0.31 0.47 0.65 -0.500 0.000 0.025 0 0 0
6.obj 0.35 0.63 0.31 -0.500 0.120 0.050 0 0 0
"""


@pytest.fixture
def heightmap(tmp_path):
    case = tmp_path / 'case.txt'
    case.write_text(CASE)
    graph = build_graph('sim', test_case_file=str(case))
    nodes = tuple(n for n in graph.nodes if n.name in ('sim_bridge', 'perception'))
    runner = GraphRunner(type(graph)(graph.name, graph.description, nodes), echo=lambda line: None)
    runner.start()
    rclpy.init()
    node = Node('heightmap_listener')
    received = []
    node.create_subscription(HeightmapMsg, 'heightmap', received.append, 5)
    try:
        deadline = time.monotonic() + 60
        while not received and time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.1)
            assert runner.poll(0.0) is None, 'a node died'
        assert received, 'no Heightmap from the perception node'
        yield received[-1]
    finally:
        node.destroy_node()
        rclpy.shutdown()
        runner.stop()


def test_heightmap_of_the_simulated_camera_shows_the_blocks_where_they_are(heightmap):
    result = msg_to_heightmap(heightmap)
    assert result.shape == DEFAULT_WORKSPACE.shape and heightmap.header.frame_id == 'base_link'
    height = result.height
    # The test case's reference frame maps onto ours by x + 1.0 (see pushgrasp_sim.testcases).
    cube = DEFAULT_WORKSPACE.base_to_pixel(0.5, 0.0)
    pillar = DEFAULT_WORKSPACE.base_to_pixel(0.5, 0.12)
    assert height[cube[0] - 5:cube[0] + 6, cube[1] - 5:cube[1] + 6].max() == pytest.approx(0.05, abs=0.004)
    assert height[pillar[0] - 5:pillar[0] + 6, pillar[1] - 5:pillar[1] + 6].max() == pytest.approx(0.10, abs=0.004)
    # The table is flat and empty elsewhere, and the cube's top is about 25 x 25 cells (5 cm at 2 mm).
    assert np.median(height) < 0.002
    top = np.argwhere(np.abs(height - 0.05) < 0.004)
    near = top[np.all(np.abs(top - cube) < 20, axis=1)]
    assert 0.8 * 625 <= len(near) <= 1.2 * 625

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The heightmap publisher node over DDS: what it publishes, and how it survives a bad file."""

from __future__ import annotations

import numpy as np
import pytest
from pushgrasp_interfaces.msg import Heightmap as HeightmapMsg
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image

from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.ros.conversions import msg_to_heightmap, msg_to_image, stamp_to_ns
from pushgrasp_perception.ros.heightmap_publisher import HeightmapPublisherNode
from pushgrasp_perception.ros.topics import HEIGHTMAP_COLOR_TOPIC, HEIGHTMAP_HEIGHT_TOPIC, HEIGHTMAP_TOPIC
from pushgrasp_perception.synthetic import save_heightmap_npz, synthetic_heightmap
from pushgrasp_perception.workspace import Workspace


def start(ros, **parameters):
    """A heightmap publisher with `parameters` and a listener on its three topics; returns (node, received)."""
    overrides = [Parameter(name, value=value) for name, value in parameters.items()]
    node = ros.add(HeightmapPublisherNode(context=ros.context, namespace=ros.namespace, parameter_overrides=overrides))
    listener = ros.add(Node('listener', context=ros.context, namespace=ros.namespace))
    received: dict[str, list] = {'heightmap': [], 'color': [], 'height': []}
    listener.create_subscription(HeightmapMsg, HEIGHTMAP_TOPIC, received['heightmap'].append, 5)
    listener.create_subscription(Image, HEIGHTMAP_COLOR_TOPIC, received['color'].append, 5)
    listener.create_subscription(Image, HEIGHTMAP_HEIGHT_TOPIC, received['height'].append, 5)
    return node, received


def test_publishes_synthetic_scene(ros):
    node, received = start(ros, rate_hz=20.0, seed=3, num_objects=4)
    assert node.error is None
    assert ros.spin_until(lambda: all(received.values()))
    msg = received['heightmap'][0]
    assert msg.header.frame_id == 'base_link' and stamp_to_ns(msg.header.stamp) > 0
    heightmap = msg_to_heightmap(msg)
    expected = synthetic_heightmap(3, 4)
    assert heightmap.workspace == expected.workspace
    np.testing.assert_array_equal(heightmap.height, expected.height)
    np.testing.assert_array_equal(heightmap.color, expected.color)
    np.testing.assert_array_equal(msg_to_image(received['color'][0]), expected.color)
    np.testing.assert_array_equal(msg_to_image(received['height'][0]), expected.height)
    # Stamped with the clock at each tick.
    assert ros.spin_until(lambda: len(received['heightmap']) >= 2)
    stamps = [stamp_to_ns(m.header.stamp) for m in received['heightmap'][:2]]
    assert stamps[1] > stamps[0]


def test_publishes_file(ros, tmp_path):
    workspace = Workspace(0.0, 0.2, -0.1, 0.1, 0.0, 0.3, 0.004)
    rng = np.random.default_rng(0)
    original = Heightmap(color=rng.integers(0, 256, (50, 50, 3), dtype=np.uint8),
                         height=rng.uniform(0.0, 0.1, (50, 50)).astype(np.float32), workspace=workspace,
                         goal_mask=rng.random((50, 50)) < 0.1)
    path = tmp_path / 'scene.npz'
    save_heightmap_npz(path, original)
    node, received = start(ros, file=str(path), rate_hz=20.0, base_frame='world')
    assert ros.spin_until(lambda: bool(received['heightmap']))
    msg = received['heightmap'][0]
    assert msg.header.frame_id == 'world'
    heightmap = msg_to_heightmap(msg)
    assert heightmap.workspace == workspace
    np.testing.assert_array_equal(heightmap.color, original.color)
    np.testing.assert_array_equal(heightmap.height, original.height)
    np.testing.assert_array_equal(heightmap.goal_mask, original.goal_mask)


@pytest.mark.parametrize('problem', ['missing', 'malformed', 'rate'])
def test_bad_input_keeps_running_and_publishes_nothing(ros, tmp_path, problem):
    path = tmp_path / f'{problem}.npz'
    if problem == 'malformed':
        path.write_text('garbage')
    parameters = {'file': str(path), 'rate_hz': 20.0} if problem != 'rate' else {'rate_hz': 0.0}
    node, received = start(ros, **parameters)
    assert node.error is not None
    assert (str(path) if problem != 'rate' else 'rate_hz') in node.error
    assert not ros.spin_until(lambda: any(received.values()), timeout=0.5)
    assert node.published == 0
    assert ros.context.ok()

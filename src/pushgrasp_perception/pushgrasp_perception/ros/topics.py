# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The heightmap output topics (names relative to the node's namespace) and their publishers."""

from __future__ import annotations

from pushgrasp_interfaces.msg import Heightmap as HeightmapMsg
from rclpy.node import Node
from sensor_msgs.msg import Image

from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.ros.conversions import heightmap_to_msg

HEIGHTMAP_TOPIC = 'heightmap'
"""pushgrasp_interfaces/Heightmap: colour, height and workspace in one message."""
HEIGHTMAP_COLOR_TOPIC = 'heightmap/color'
"""sensor_msgs/Image rgb8: the colour heightmap alone (for rviz and rqt_image_view)."""
HEIGHTMAP_HEIGHT_TOPIC = 'heightmap/height'
"""sensor_msgs/Image 32FC1: the height heightmap alone, metres above the table."""
POINTS_TOPIC = 'points'
"""sensor_msgs/PointCloud2 (x, y, z, rgb): the workspace point cloud in the base frame (for rviz)."""
HEIGHTMAP_QOS_DEPTH = 5
"""History depth of the (reliable, volatile) heightmap publishers."""


class HeightmapPublishers:
    """The three heightmap publishers of a node, publishing one Heightmap on all of them at once."""

    def __init__(self, node: Node) -> None:
        self.heightmap = node.create_publisher(HeightmapMsg, HEIGHTMAP_TOPIC, HEIGHTMAP_QOS_DEPTH)
        self.color = node.create_publisher(Image, HEIGHTMAP_COLOR_TOPIC, HEIGHTMAP_QOS_DEPTH)
        self.height = node.create_publisher(Image, HEIGHTMAP_HEIGHT_TOPIC, HEIGHTMAP_QOS_DEPTH)

    def publish(self, heightmap: Heightmap, frame_id: str) -> HeightmapMsg:
        """Publish `heightmap` (stamped with its stamp_ns, in `frame_id`) and return the message sent."""
        msg = heightmap_to_msg(heightmap, frame_id)
        self.heightmap.publish(msg)
        self.color.publish(msg.color)
        self.height.publish(msg.height)
        return msg

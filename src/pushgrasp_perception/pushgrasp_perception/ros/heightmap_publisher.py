# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Publish a fixed heightmap (a saved .npz file or a synthetic block scene) at a fixed rate.

The heightmap counterpart of image_tools' image_publisher: it feeds policies and viewers without a camera.
It publishes the same topics as the perception node (see `topics.py`), stamped with the node's clock.
"""

from __future__ import annotations

from typing import Any

from rclpy.node import Node

from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.ros.parameters import ParamSpec, declare_parameters
from pushgrasp_perception.ros.topics import HeightmapPublishers
from pushgrasp_perception.synthetic import load_heightmap_npz, synthetic_heightmap
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE, Workspace
from pushgrasp_perception.ros.node_main import spin_node


class HeightmapPublisherNode(Node):
    """Publishes one heightmap over and over; logs an error and publishes nothing if it cannot get one."""

    PARAMETERS: tuple[ParamSpec, ...] = (
        ParamSpec('file', '', 'heightmap .npz file (save_heightmap_npz format); empty = a synthetic scene'),
        ParamSpec('seed', 0, 'seed of the synthetic scene'),
        ParamSpec('num_objects', 5, 'number of blocks in the synthetic scene'),
        ParamSpec('rate_hz', 1.0, 'publishing rate, Hz'),
        ParamSpec('base_frame', 'base_link', 'frame_id of the heightmaps'),
        ParamSpec('workspace_bounds', DEFAULT_WORKSPACE.bounds(),
                  'synthetic scene workspace [x_min, x_max, y_min, y_max, z_min, z_max], metres '
                  '(a file brings its own)'),
        ParamSpec('resolution', DEFAULT_WORKSPACE.resolution, 'synthetic scene cell size, metres'),
    )

    def __init__(self, node_name: str = 'heightmap_publisher', **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.params = declare_parameters(self, self.PARAMETERS)
        self.outputs = HeightmapPublishers(self)
        self.heightmap: Heightmap | None = None
        self.error: str | None = None
        """Why nothing is published (None when publishing)."""
        self.published = 0
        rate_hz = self.params['rate_hz']
        try:
            if not rate_hz > 0:
                raise ValueError(f'rate_hz must be positive, got {rate_hz}')
            self.heightmap = self._make_heightmap()
        except (OSError, ValueError) as error:
            self.error = str(error)
            self.get_logger().error(f'not publishing: {error}')
            return
        rows, cols = self.heightmap.shape
        self.get_logger().info(f'publishing a {rows}x{cols} heightmap from '
                               f'{self.params["file"] or "a synthetic scene"} at {rate_hz} Hz')
        self.timer = self.create_timer(1.0 / rate_hz, self._publish)

    def _make_heightmap(self) -> Heightmap:
        if self.params['file']:
            return load_heightmap_npz(self.params['file'])
        workspace = Workspace.from_list(self.params['workspace_bounds'], self.params['resolution'])
        return synthetic_heightmap(self.params['seed'], self.params['num_objects'], workspace)

    def _publish(self) -> None:
        if self.heightmap is None:
            return
        self.heightmap.stamp_ns = self.get_clock().now().nanoseconds
        self.outputs.publish(self.heightmap, self.params['base_frame'])
        self.published += 1


def main(args: list[str] | None = None) -> None:
    """Run the heightmap publisher until shutdown."""
    spin_node(HeightmapPublisherNode, args)


if __name__ == '__main__':
    main()

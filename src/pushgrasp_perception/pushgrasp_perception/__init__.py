# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""pushgrasp_perception: RGB-D camera frames to orthographic colour and height heightmaps.

The modules at this level are plain Python (numpy); ROS adapters live in `pushgrasp_perception.ros`.
"""

from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE, Workspace

__all__ = ['DEFAULT_WORKSPACE', 'Heightmap', 'Workspace']

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""pushgrasp_perception: RGB-D camera frames to orthographic colour and height heightmaps.

The modules at this level are plain Python (numpy; open3d in `pointcloud`); ROS adapters live in
`pushgrasp_perception.ros`. Heightmaps: `projection` (one frame), `fusion` (several calibrated cameras);
point clouds: `pointcloud`; benchmark: `bench`.
"""

from pushgrasp_perception.fusion import CameraView, fuse_heightmaps
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.projection import HeightmapResult, heightmap_from_rgbd, make_heightmap, project_rgbd
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE, Workspace

__all__ = ['DEFAULT_WORKSPACE', 'CameraView', 'Heightmap', 'HeightmapResult', 'Workspace', 'fuse_heightmaps',
           'heightmap_from_rgbd', 'make_heightmap', 'project_rgbd']

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Launch pushgrasp for a UR5 (ur_rtde or MoveIt) with a RealSense camera.

The nodes, parameters and arguments come from pushgrasp.graph (shared with `pushgrasp launch real`);
`ros2 launch pushgrasp real.launch.py --show-args` lists the arguments.
"""

from pushgrasp.launching import launch_description


def generate_launch_description():
    """Build the 'real' graph."""
    return launch_description('real')

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Launch pushgrasp for the policy and control nodes on a synthetic heightmap with the mock robot.

The nodes, parameters and arguments come from pushgrasp.graph (shared with `pushgrasp launch mock`);
`ros2 launch pushgrasp mock.launch.py --show-args` lists the arguments.
"""

from pushgrasp.launching import launch_description


def generate_launch_description():
    """Build the 'mock' graph."""
    return launch_description('mock')

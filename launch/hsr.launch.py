# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Launch pushgrasp for a Toyota HSR through MoveIt with its head RGB-D camera.

The nodes, parameters and arguments come from pushgrasp.graph (shared with `pushgrasp launch hsr`);
`ros2 launch pushgrasp hsr.launch.py --show-args` lists the arguments.
"""

from pushgrasp.launching import launch_description


def generate_launch_description():
    """Build the 'hsr' graph."""
    return launch_description('hsr')

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Launch pushgrasp on the embedded simulated work cell (no external simulator to install).

The nodes, parameters and arguments come from pushgrasp.graph (shared with `pushgrasp launch sim`);
`ros2 launch pushgrasp sim.launch.py --show-args` lists the arguments.
"""

from pushgrasp.launching import launch_description


def generate_launch_description():
    """Build the 'sim' graph."""
    return launch_description('sim')

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The one `main()` body of every pushgrasp node: init, spin, and a clean shutdown."""

from __future__ import annotations

from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.node import Node


def spin_node(make_node: Callable[[], Node], args: list[str] | None = None, multithreaded: bool = False) -> None:
    """Create the node and spin it until Ctrl-C or shutdown, then destroy it and shut rclpy down.

    Nodes whose callbacks block (action servers that wait for motion) need `multithreaded`.
    """
    rclpy.init(args=args)
    node = None
    try:
        node = make_node()
        # Enough threads that a callback waiting on another node's answer never starves the executor.
        executor = MultiThreadedExecutor(num_threads=4) if multithreaded else SingleThreadedExecutor()
        executor.add_node(node)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()

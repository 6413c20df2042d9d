# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The one `main()` body of every pushgrasp node: init, spin, and a clean shutdown."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.logging import get_logger
from rclpy.node import Node


def spin_node(make_node: Callable[[], Node], args: list[str] | None = None, multithreaded: bool = False) -> None:
    """Create the node and spin it until Ctrl-C or shutdown, then destroy it and shut rclpy down.

    Nodes whose callbacks block (action servers that wait for motion) need `multithreaded`. A node refuses a
    configuration it cannot run with (e.g. an unusable checkpoint) by raising ValueError from its
    constructor: the reason is logged once, without a traceback, and the process exits with code 1.
    """
    rclpy.init(args=args)
    node = None
    try:
        try:
            node = make_node()
        except ValueError as error:
            get_logger(Path(sys.argv[0]).stem or 'pushgrasp').fatal(f'refusing to start: {error}')
            raise SystemExit(1) from None
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

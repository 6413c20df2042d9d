# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""A client that starts the task node's episodes in a running graph (used by `pushgrasp demo` and `record`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import rclpy
from rclpy.node import Node
from std_srvs.srv import Trigger

from pushgrasp.ros.task_node import RUN_EPISODE_SERVICE
from pushgrasp.runner import GraphRunner


class EpisodeClient(Node):
    """A node with the task node's `task/run_episode` client; subclasses say when the graph is `ready`."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.run_episode = self.create_client(Trigger, RUN_EPISODE_SERVICE)

    def ready(self) -> bool:
        """Tell whether the task node can be started (subclasses add what else they wait for)."""
        return self.run_episode.service_is_ready()

    def spin_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Spin until predicate() holds or the timeout passes."""
        deadline = time.monotonic() + timeout
        while not predicate() and time.monotonic() < deadline:
            rclpy.spin_once(self, timeout_sec=0.05)
        return bool(predicate())

    def start_episodes(self, runner: GraphRunner, startup_timeout: float, log_path: Path) -> None:
        """Wait until the graph is up and `ready`, then start the task node; RuntimeError with the reason if not."""
        if not self.spin_until(lambda: self.ready() or runner.poll(0.0) is not None, startup_timeout) \
                or runner.poll(0.0) is not None:
            raise RuntimeError(f'the graph did not come up within {startup_timeout:.0f} s; see {log_path}')
        request = self.run_episode.call_async(Trigger.Request())
        if not self.spin_until(request.done, 10.0) or not request.result().success:
            reason = request.result().message if request.done() else 'no answer'
            raise RuntimeError(f'the task node did not start the episodes ({reason}); see {log_path}')

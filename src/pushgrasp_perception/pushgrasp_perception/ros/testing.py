# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Test support for pushgrasp's action servers: a node under test and a client, each spun in its own thread."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import rclpy
from rclpy.action import ActionClient
from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter

TIMEOUT_S = 8.0


def wait_for(future: Any, timeout: float = TIMEOUT_S) -> Any:
    """The result of an rclpy future completed by an executor thread."""
    done = threading.Event()
    future.add_done_callback(lambda _: done.set())
    assert done.wait(timeout), 'timed out waiting for a future'
    return future.result()


def wait_until(condition: Callable[[], bool], timeout: float = TIMEOUT_S) -> bool:
    """Poll `condition` until it holds; False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


class ActionHarness:
    """A node serving `action_name` and a client of it, in a fresh namespace, spun by background executors.

    The server gets a MultiThreadedExecutor (its execute callback blocks while cancel requests come in); the
    client runs its callbacks inline, so none is in flight once its thread has joined.
    """

    def __init__(self, make_node: Callable[..., Node], action_type: Any, action_name: str,
                 **parameters: Any) -> None:
        self.namespace = f'/test_{uuid.uuid4().hex[:8]}'
        overrides = [Parameter(name, value=value) for name, value in parameters.items()]
        self.node = make_node(namespace=self.namespace, parameter_overrides=overrides)
        self.client_node = rclpy.create_node('action_test_client', namespace=self.namespace)
        self.client = ActionClient(self.client_node, action_type, action_name)
        self.server_executor = MultiThreadedExecutor(num_threads=4)
        self.server_executor.add_node(self.node)
        self.client_executor = SingleThreadedExecutor()
        self.client_executor.add_node(self.client_node)
        self.threads = [threading.Thread(target=executor.spin, daemon=True)
                        for executor in (self.server_executor, self.client_executor)]
        for thread in self.threads:
            thread.start()
        assert self.client.wait_for_server(timeout_sec=TIMEOUT_S)
        feedback_topic = f'{self.namespace}/{action_name}/_action/feedback'
        assert wait_until(lambda: self.node.count_subscribers(feedback_topic) >= 1)
        self.feedback: list[Any] = []

    def send(self, goal: Any) -> Any:
        """The goal handle of `goal` (accepted or not); its feedback is collected in self.feedback."""
        future = self.client.send_goal_async(goal, feedback_callback=lambda msg: self.feedback.append(msg.feedback))
        return wait_for(future)

    def run(self, goal: Any) -> tuple[int, Any]:
        """(status, result) of `goal`, which must be accepted."""
        handle = self.send(goal)
        assert handle.accepted
        response = wait_for(handle.get_result_async())
        return response.status, response.result

    def close(self) -> None:
        """Stop the executors, then destroy the client and the node."""
        self.client_executor.shutdown()
        self.threads[1].join(timeout=5.0)
        self.client.destroy()
        self.client_node.destroy_node()
        self.server_executor.shutdown()
        self.threads[0].join(timeout=5.0)
        self.node.destroy_node()

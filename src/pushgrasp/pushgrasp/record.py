# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""`pushgrasp record --sim`: run the `sim` graph with its recorder node for N episodes and close the bag.

The graph runs as separate processes, with `record:=true` (the recorder node writes the bag). This process waits
until the recorder has subscribed, starts the task node's episodes (`task/run_episode`), collects the metrics of
every episode (`task/episode`), lets the last messages reach the recorder, and stops the graph (SIGINT: the
recorder closes the bag). The graph's log goes to `<out>.log` next to the bag.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rclpy
from std_msgs.msg import String

from pushgrasp.graph import build_graph
from pushgrasp.recording import bag_closed, bag_summary
from pushgrasp.ros.episode_client import EpisodeClient
from pushgrasp.ros.task_node import EPISODE_QOS, EPISODE_TOPIC, TRANSITIONS_TOPIC
from pushgrasp.runner import GraphRunner

STARTUP_TIMEOUT_S = 90.0
STALL_TIMEOUT_S = 300.0
"""Give up when no episode finishes for this long."""
SETTLE_S = 1.5
"""Seconds the recorder gets after the last episode's metrics before the graph is stopped."""


@dataclass
class RecordConfig:
    """Settings of one recording of the simulated graph."""

    out: Path
    episodes: int = 1
    seed: int = 0
    num_objects: int = 10
    test_case: str = ''
    max_actions: int = 30
    policy: str = 'vpg'
    storage: str = 'mcap'
    record_camera: bool = False


class RecordClient(EpisodeClient):
    """Start the task node's episodes and collect their metrics."""

    def __init__(self) -> None:
        super().__init__('pushgrasp_record')
        self.episodes: list[dict[str, Any]] = []
        self.create_subscription(String, EPISODE_TOPIC, lambda msg: self.episodes.append(json.loads(msg.data)),
                                 EPISODE_QOS)

    def ready(self) -> bool:
        """Tell whether the recorder node subscribes to the transitions and the task node can be started."""
        subscribers = {info.node_name for info in self.get_subscriptions_info_by_topic('/' + TRANSITIONS_TOPIC)}
        return 'recorder' in subscribers and super().ready() and self.count_publishers(TRANSITIONS_TOPIC) > 0


def record_sim(config: RecordConfig) -> dict[str, Any]:
    """Record `config.episodes` episodes of the simulated graph; return the bag's summary and the episodes."""
    out = config.out.resolve()
    if out.exists():
        raise RuntimeError(f'bag {out} exists already; not overwriting it')
    if config.episodes < 1:
        raise RuntimeError('--episodes must be at least 1 with --sim')
    out.parent.mkdir(parents=True, exist_ok=True)
    graph = build_graph('sim', seed=config.seed, num_objects=config.num_objects, policy=config.policy,
                        test_case_file=str(Path(config.test_case).resolve()) if config.test_case else '',
                        autostart=False, episodes=config.episodes, max_actions=config.max_actions,
                        record=True, bag=str(out), bag_storage=config.storage, record_camera=config.record_camera)
    log_path = out.with_name(out.name + '.log')
    started = time.monotonic()
    with log_path.open('w') as log:
        runner = GraphRunner(graph, echo=lambda line: print(line, file=log, flush=True))
        rclpy.init()
        client = RecordClient()
        try:
            runner.start()
            print(f'pushgrasp record: started {len(runner.nodes)} nodes; log in {log_path}')
            client.start_episodes(runner, STARTUP_TIMEOUT_S, log_path)
            print(f'pushgrasp record: recording {config.episodes} episode(s) to {out}')
            while len(client.episodes) < config.episodes:
                seen = len(client.episodes)
                if not client.spin_until(lambda n=seen: len(client.episodes) > n or runner.poll(0.0) is not None,
                                         STALL_TIMEOUT_S):
                    raise RuntimeError(f'no episode finished for {STALL_TIMEOUT_S:.0f} s; see {log_path}')
                if runner.poll(0.0) is not None:
                    raise RuntimeError(f'a node of the graph exited during the recording; see {log_path}')
                if len(client.episodes) > seen:
                    episode = client.episodes[-1]
                    print(f'  episode {len(client.episodes)}: {episode["actions"]} actions, '
                          f'{episode["objects_picked"]} picked ({episode["reason"]})')
            client.spin_until(lambda: False, SETTLE_S)
        finally:
            client.destroy_node()
            rclpy.try_shutdown()
            runner.stop()
    if not bag_closed(out):
        raise RuntimeError(f'the recorder did not close the bag {out} (it holds what was flushed up to the end); '
                           f'see {log_path}')
    summary = bag_summary(out)
    summary.update(episodes=client.episodes, wall_time_s=round(time.monotonic() - started, 1), log=str(log_path))
    return summary

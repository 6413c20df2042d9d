# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The recorder node: write pushgrasp topics to a rosbag2 bag (MCAP or sqlite3) with `pushgrasp.recording`.

Subscribes (raw CDR, nothing is deserialised): `topics` (default heightmap, transitions, task/episode,
selected_primitive/markers), plus the simulated camera's colour, depth and CameraInfo with `record_camera`,
each with the QoS of its publisher (reliable; transient local for task/episode and the markers; sensor data for
the camera). Messages are stamped with their time of arrival, as `ros2 bag record` does. The bag is flushed every
`flush_period` seconds and closed on shutdown. An MCAP bag is written split, one file per flush period at most
(`<bag>_0.mcap`, `<bag>_1.mcap`, ...), a sqlite3 bag as one file committed at every flush: either way a SIGKILL
loses at most the messages of the last period and the bag opens as it is (see `pushgrasp_policy.bags`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from pushgrasp.recording import CAMERA_TOPICS, DEFAULT_TOPICS, STORAGES, BagRecorder, TopicSpec, parse_topics
from pushgrasp_perception.ros.node_main import spin_node
from pushgrasp_perception.ros.parameters import ParamSpec, declare_parameters


def message_class(msgtype: str) -> Any:
    """Return the rclpy message class of `pkg/msg/Type`."""
    import importlib
    package, kind, name = msgtype.split('/')
    return getattr(importlib.import_module(f'{package}.{kind}'), name)


RECORDER_QUEUE_DEPTH = 100
"""Messages a subscription of the recorder holds while its thread writes the bag: two seconds of a 50 Hz topic.
A queue only as deep as the publisher's lost messages when a flush (or a loaded machine) stalled the recorder."""


def qos_of(topic: TopicSpec) -> QoSProfile:
    """Return a subscription QoS that matches the topic's publisher, with a queue of `RECORDER_QUEUE_DEPTH` or more."""
    return QoSProfile(depth=max(topic.depth, RECORDER_QUEUE_DEPTH), history=HistoryPolicy.KEEP_LAST,
                      reliability=ReliabilityPolicy.RELIABLE if topic.reliable else ReliabilityPolicy.BEST_EFFORT,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL if topic.transient_local
                      else DurabilityPolicy.VOLATILE)


class RecorderNode(Node):
    """Record topics to a rosbag2 bag (see the module docstring); the bag is created by `open()`."""

    PARAMETERS = (
        ParamSpec('output', '', 'Bag directory to create (refused when it exists); empty: pushgrasp_<date>_<time> '
                                'in the working directory.', read_only=True),
        ParamSpec('storage', 'mcap', 'Storage of the bag: mcap (split in files of at most flush_period) or sqlite3.',
                  read_only=True),
        ParamSpec('topics', ','.join(t.name for t in DEFAULT_TOPICS),
                  'Comma-separated topics to record: known pushgrasp topics, or name=pkg/msg/Type.', read_only=True),
        ParamSpec('record_camera', False, 'Also record the simulated camera (colour, depth, CameraInfo).',
                  read_only=True),
        ParamSpec('flush_period', 1.0, 'Seconds between flushes of the bag (MCAP: each closes a file of the split '
                                       'bag); a SIGKILL loses at most the last period.', read_only=True),
    )

    def __init__(self, node_name: str = 'recorder', **kwargs: Any) -> None:
        """Check the parameters and subscribe; raise ValueError when the output exists or a topic is unknown."""
        super().__init__(node_name, **kwargs)
        params = declare_parameters(self, self.PARAMETERS)
        if params['storage'] not in STORAGES:
            raise ValueError(f'storage must be one of {", ".join(STORAGES)}, got {params["storage"]!r}')
        self.output = Path(params['output'] or time.strftime('pushgrasp_%Y%m%d_%H%M%S'))
        if self.output.exists():
            raise ValueError(f'bag {self.output} exists already; not overwriting it (choose another output '
                             'or remove it)')
        self.storage = params['storage']
        if not params['flush_period'] > 0:
            raise ValueError(f'flush_period must be > 0 s, got {params["flush_period"]}')
        self.flush_period = float(params['flush_period'])
        self.topics = parse_topics(params['topics']) + (list(CAMERA_TOPICS) if params['record_camera'] else [])
        self.bag: BagRecorder | None = None
        self._names: dict[str, str] = {}
        for topic in self.topics:
            name = self.resolve_topic_name(topic.name)
            self._names[topic.name] = name
            self.create_subscription(message_class(topic.msgtype), topic.name,
                                     lambda data, n=name: self._on_message(n, data), qos_of(topic), raw=True)
        self.create_timer(self.flush_period, self.flush)

    def open(self) -> None:
        """Create the bag and register the topics (before spinning: nothing is recorded until then)."""
        self.bag = BagRecorder(self.output, self.storage,
                               split_seconds=self.flush_period if self.storage == 'mcap' else None)
        for topic in self.topics:
            self.bag.add_topic(topic, self._names[topic.name])
        self.get_logger().info(f'recording {len(self.topics)} topics to {self.output} ({self.storage}): '
                               + ', '.join(self._names.values()))

    def _on_message(self, name: str, data: bytes) -> None:
        if self.bag is not None:
            self.bag.write(name, self.get_clock().now().nanoseconds, data)

    def flush(self) -> None:
        """Put what was recorded so far on disk."""
        if self.bag is not None:
            self.bag.flush()

    def close(self) -> None:
        """Close the bag (its last file and metadata.yaml) and log what it holds."""
        if self.bag is not None and not self.bag.closed:
            self.bag.close()
            counts = ', '.join(f'{name} {count}' for name, count in self.bag.counts.items())
            files = f' in {len(self.bag.files)} files' if self.bag.files else ''
            self.get_logger().info(f'closed {self.output}{files}: {counts}')

    def destroy_node(self) -> None:
        """Close the bag, then destroy the node."""
        self.close()
        super().destroy_node()


def make_recorder() -> RecorderNode:
    """Create the recorder node and its bag."""
    node = RecorderNode()
    try:
        node.open()
    except (OSError, ValueError) as error:
        node.destroy_node()
        raise ValueError(str(error)) from error
    return node


def main(args: list[str] | None = None) -> None:
    """Record until shut down (Ctrl-C, SIGTERM), then close the bag."""
    spin_node(make_recorder, args)


if __name__ == '__main__':
    main()

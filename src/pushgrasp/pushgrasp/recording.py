# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The topics of a pushgrasp recording, and what a recorded bag holds.

The bag writer itself (`BagRecorder`: rosbag2 bags written with rosbags, the pushgrasp_interfaces definitions
embedded, CDR messages in; MCAP split in files of at most a flush period, or sqlite3 committed at every flush, so
that a killed recording opens and loses at most its last period) lives in pushgrasp_policy.bags, where the
trainer writes its experience with it too; it is re-exported here for the recorder node and `pushgrasp record`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from pushgrasp_policy.bags import (BAG_VERSION, INTERFACES, STORAGES, TRANSITIONS_TOPIC, BagRecorder, TopicSpec,
                                   interfaces_msg_dir, offered_qos, pushgrasp_typestore)

__all__ = ['BAG_VERSION', 'CAMERA_TOPICS', 'DEFAULT_TOPICS', 'KNOWN_TOPICS', 'STORAGES', 'BagRecorder', 'TopicSpec',
           'bag_summary', 'interfaces_msg_dir', 'offered_qos', 'parse_topics', 'pushgrasp_typestore']

# The pushgrasp topics a recording holds by default, with the QoS of their publishers: the perception node
# (heightmap, reliable), the task node (transitions reliable; task/episode reliable and transient local) and the
# policy node (selected_primitive/markers, reliable and transient local).
DEFAULT_TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec('heightmap', f'{INTERFACES}/msg/Heightmap', depth=5),
    TRANSITIONS_TOPIC,
    TopicSpec('task/episode', 'std_msgs/msg/String', transient_local=True, depth=1),
    TopicSpec('selected_primitive/markers', 'visualization_msgs/msg/MarkerArray', transient_local=True, depth=1),
)
# The simulated camera (sim bridge, sensor-data QoS: best effort), recorded with `record_camera`.
CAMERA_TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec('camera/color/image_raw', 'sensor_msgs/msg/Image', reliable=False, depth=5),
    TopicSpec('camera/aligned_depth_to_color/image_raw', 'sensor_msgs/msg/Image', reliable=False, depth=5),
    TopicSpec('camera/color/camera_info', 'sensor_msgs/msg/CameraInfo', reliable=False, depth=5),
)
KNOWN_TOPICS = {t.name: t for t in DEFAULT_TOPICS + CAMERA_TOPICS}


def parse_topics(text: str) -> list[TopicSpec]:
    """Parse a comma-separated topic list: known names, or `name=pkg/msg/Type` for others (reliable, volatile)."""
    topics = []
    for item in (part.strip() for part in text.split(',')):
        if not item:
            continue
        name, _, msgtype = item.partition('=')
        name = name.strip().lstrip('/')
        if msgtype:
            if msgtype.count('/') != 2:
                raise ValueError(f'topic {name!r}: type {msgtype!r} is not of the form pkg/msg/Type')
            topics.append(TopicSpec(name, msgtype.strip()))
        elif name in KNOWN_TOPICS:
            topics.append(KNOWN_TOPICS[name])
        else:
            raise ValueError(f'topic {name!r} has no known type; give it as {name}=pkg/msg/Type '
                             f'(known: {", ".join(KNOWN_TOPICS)})')
    if len({t.name for t in topics}) != len(topics):
        raise ValueError(f'a topic is listed twice in {text!r}')
    return topics


def bag_closed(path: str | os.PathLike[str]) -> bool:
    """Return whether the recorder closed the bag at `path` (a killed split recording leaves `.writing/` behind).

    A split MCAP bag has its metadata.yaml from the first second on, so that file alone does not say the
    recording ended cleanly.
    """
    return (Path(path) / 'metadata.yaml').is_file() and not (Path(path) / '.writing').exists()


def bag_summary(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Return what a bag holds, read with rosbags: storage, duration and messages (and type) per topic."""
    from rosbags.rosbag2 import Reader
    metadata = YAML(typ='safe').load((Path(path) / 'metadata.yaml').read_text())['rosbag2_bagfile_information']
    with Reader(Path(path)) as reader:
        topics = {c.topic: {'type': c.msgtype, 'messages': c.msgcount} for c in reader.connections}
        return {'path': str(path), 'storage': metadata['storage_identifier'],
                'duration_s': round(reader.duration / 1e9, 3), 'messages': reader.message_count, 'topics': topics}

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Write rosbag2 bags of the pushgrasp topics with the `rosbags` library (no ROS imports).

`BagRecorder` wraps `rosbags.rosbag2.Writer`: it registers the pushgrasp_interfaces messages from their `.msg`
definitions, so that every bag embeds the definitions of the types it holds (`ros2 bag info`/`play`, Foxglove
and rosbags' AnyReader need nothing else), takes messages already serialised as CDR (what rclpy delivers to a
`raw=True` subscription, encapsulation header included: the rosbag2 format), and writes the standard
metadata.yaml on close.

Crash safety (`flush`, called about once a second by the recorder node):
- sqlite3: the pending transaction is committed and metadata.yaml is rewritten with the counts so far, so after a
  SIGKILL the bag opens as it is and holds everything up to the last flush.
- MCAP: the pending chunk is written to the file, so the messages up to the last flush are on disk, but an MCAP
  file gets its index and footer only on close: a killed MCAP recording must be repaired (`mcap recover`, then
  `ros2 bag reindex`) before it opens. Record with sqlite3 where a run may be killed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.rosbag2.writer import dump_qos_v9
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore
from ruamel.yaml import YAML

STORAGES = {'mcap': StoragePlugin.MCAP, 'sqlite3': StoragePlugin.SQLITE3}
BAG_VERSION = 9  # rosbag2 metadata version of Jazzy
INTERFACES = 'pushgrasp_interfaces'


@dataclass(frozen=True)
class TopicSpec:
    """A recorded topic: its name (relative, as the nodes use it), its type and the publisher's QoS."""

    name: str
    msgtype: str
    """`pkg/msg/Type`."""
    reliable: bool = True
    transient_local: bool = False
    depth: int = 10


# The pushgrasp topics a recording holds by default, with the QoS of their publishers: the perception node
# (heightmap, reliable), the task node (transitions reliable; task/episode reliable and transient local) and the
# policy node (selected_primitive/markers, reliable and transient local).
DEFAULT_TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec('heightmap', f'{INTERFACES}/msg/Heightmap', depth=5),
    TopicSpec('transitions', f'{INTERFACES}/msg/Transition'),
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


def interfaces_msg_dir() -> Path:
    """Return the installed `msg/` folder of pushgrasp_interfaces (else the source tree's)."""
    try:
        from ament_index_python.packages import get_package_share_directory
        return Path(get_package_share_directory(INTERFACES)) / 'msg'
    except (ImportError, LookupError, ValueError):
        return Path(__file__).resolve().parents[2] / INTERFACES / 'msg'


def pushgrasp_typestore(msg_dir: Path | None = None) -> Typestore:
    """Return the Jazzy typestore with the pushgrasp_interfaces messages registered from their .msg files."""
    store = get_typestore(Stores.ROS2_JAZZY)
    folder = msg_dir or interfaces_msg_dir()
    types: dict[str, Any] = {}
    for path in sorted(folder.glob('*.msg')):
        types.update(get_types_from_msg(path.read_text(), f'{INTERFACES}/msg/{path.stem}'))
    if not types:
        raise FileNotFoundError(f'no .msg definitions of {INTERFACES} in {folder}')
    store.register(types)
    return store


def offered_qos(topic: TopicSpec) -> Qos:
    """Return the publisher QoS of `topic` as the bag's offered_qos_profiles record it (for `ros2 bag play`)."""
    infinite = QosTime(0x7FFFFFFF, 0xFFFFFFFF)  # as rosbag2 writes "no limit"
    return Qos(QosHistory.KEEP_LAST, topic.depth,
               QosReliability.RELIABLE if topic.reliable else QosReliability.BEST_EFFORT,
               QosDurability.TRANSIENT_LOCAL if topic.transient_local else QosDurability.VOLATILE,
               infinite, infinite, QosLiveliness.AUTOMATIC, infinite, False)


class BagRecorder:
    """A rosbag2 bag being written: register topics, write CDR messages, flush, close."""

    def __init__(self, path: str | os.PathLike[str], storage: str = 'mcap', typestore: Typestore | None = None) -> None:
        """Create the bag directory `path` (refused when it exists) with storage 'mcap' or 'sqlite3'."""
        if storage not in STORAGES:
            raise ValueError(f'storage must be one of {", ".join(STORAGES)}, got {storage!r}')
        self.path = Path(path)
        if self.path.exists():
            raise FileExistsError(f'bag {self.path} exists already; not overwriting it (choose another output '
                                  'or remove it)')
        self.storage = storage
        self.typestore = typestore or pushgrasp_typestore()
        self._writer = Writer(self.path, version=BAG_VERSION, storage_plugin=STORAGES[storage])
        self._writer.open()
        self._connections: dict[str, Any] = {}
        self.counts: dict[str, int] = {}
        self.closed = False

    def add_topic(self, topic: TopicSpec, name: str | None = None) -> None:
        """Register `topic` under the (absolute) `name` it is recorded as, with its embedded definition."""
        name = name or '/' + topic.name
        self._connections[name] = self._writer.add_connection(name, topic.msgtype, typestore=self.typestore,
                                                              offered_qos_profiles=[offered_qos(topic)])
        self.counts[name] = 0

    def write(self, name: str, timestamp_ns: int, data: bytes | memoryview) -> None:
        """Write one CDR-serialised message (with its encapsulation header) of topic `name`."""
        if self.closed:
            return
        self._writer.write(self._connections[name], timestamp_ns, data)
        self.counts[name] += 1

    def flush(self) -> None:
        """Put everything written so far on disk (see the module docstring for what survives a SIGKILL)."""
        storage = self._writer.storage
        if self.closed or storage is None:
            return
        if self.storage == 'sqlite3':
            storage.conn.commit()
            self._write_provisional_metadata()
        else:
            if storage.chunk.bio.tell():
                storage.close_chunk()
            storage.bio.flush()

    def close(self) -> None:
        """Close the bag: index, footer and metadata.yaml."""
        if not self.closed:
            self.closed = True
            self._writer.close()

    def _write_provisional_metadata(self) -> None:
        """Write metadata.yaml as it would be on close, so that a killed sqlite3 bag opens as it is."""
        writer = self._writer
        count = sum(writer.counts.values())
        start = writer.min_timestamp if count else 0
        duration = max(0, writer.max_timestamp - writer.min_timestamp) if count else 0
        name = writer.storage.path.name
        info = {
            'version': writer.version, 'storage_identifier': self.storage, 'relative_file_paths': [name],
            'duration': {'nanoseconds': duration}, 'starting_time': {'nanoseconds_since_epoch': start},
            'message_count': count,
            'topics_with_message_count': [
                {'topic_metadata': {'name': c.topic, 'type': c.msgtype,
                                    'serialization_format': c.ext.serialization_format,
                                    'offered_qos_profiles': dump_qos_v9(c.ext.offered_qos_profiles),
                                    'type_description_hash': c.digest},
                 'message_count': writer.counts[c.id]} for c in writer.connections],
            'compression_format': '', 'compression_mode': '',
            'files': [{'path': name, 'starting_time': {'nanoseconds_since_epoch': start},
                       'duration': {'nanoseconds': duration}, 'message_count': count}],
            'custom_data': None, 'ros_distro': 'rosbags',
        }
        yaml = YAML(typ='safe')
        yaml.default_flow_style = False
        text = StringIO()
        yaml.dump({'rosbag2_bagfile_information': info}, text)
        temporary = writer.metapath.with_suffix('.yaml.tmp')
        temporary.write_text(text.getvalue(), 'utf8')
        temporary.replace(writer.metapath)

    def __enter__(self) -> BagRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def bag_summary(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Return what a bag holds, read with rosbags: storage, duration and messages (and type) per topic."""
    from rosbags.rosbag2 import Reader
    metadata = YAML(typ='safe').load((Path(path) / 'metadata.yaml').read_text())['rosbag2_bagfile_information']
    with Reader(Path(path)) as reader:
        topics = {c.topic: {'type': c.msgtype, 'messages': c.msgcount} for c in reader.connections}
        return {'path': str(path), 'storage': metadata['storage_identifier'],
                'duration_s': round(reader.duration / 1e9, 3), 'messages': reader.message_count, 'topics': topics}

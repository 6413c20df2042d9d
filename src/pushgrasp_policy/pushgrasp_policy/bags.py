# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""rosbag2 bags of pushgrasp topics, written and read with the `rosbags` library (no ROS imports).

Writing (`BagRecorder`, used by the recorder node and by the trainer's experience log): it wraps
`rosbags.rosbag2.Writer`, registers the pushgrasp_interfaces messages from their `.msg` definitions, so that every
bag embeds the definitions of the types it holds (`ros2 bag info`/`play`, Foxglove and rosbags' AnyReader need
nothing else), takes messages already serialised as CDR (what rclpy delivers to a `raw=True` subscription,
encapsulation header included: the rosbag2 format), and writes the standard metadata.yaml on close.
`TransitionEncoder` builds and serialises pushgrasp_interfaces/msg/Transition messages from numpy heightmaps and
primitives with rosbags' typestore, field for field as the task node publishes them, so a bag written in-process
reads back exactly like one recorded from the graph.

Crash safety of a bag being written (`BagRecorder.flush`, called about once a second by the recorder node):
- sqlite3: the pending transaction is committed and metadata.yaml is rewritten with the counts so far, so after a
  SIGKILL the bag opens as it is and holds everything up to the last flush.
- MCAP: the pending chunk is written to the file, so the messages up to the last flush are on disk, but an MCAP
  file gets its index and footer only on close: a killed MCAP recording must be repaired (`mcap recover`, then
  `ros2 bag reindex`) before it opens. Record with sqlite3 where a run may be killed (the trainer instead publishes
  only closed MCAP bags: see pushgrasp_policy.experience).

Reading (`read_transitions`): bags are read with rosbags' AnyReader, which deserialises into its own plain Python
objects. Every Transition message carries its own heightmaps (`state`, the heightmap the primitive was chosen on,
and `next_state`, the one observed after it), so a transition is complete by itself: no pairing with the
Heightmap topic by stamp is needed. A path may be a bag directory, a file inside one, or a folder of bags (such as
a training run's `experience/`), read in name order.

Records that cannot be trained on are skipped and counted by reason (see SKIP_REASONS); a path that is not a
readable bag, a bag with a topic whose type has no definition, or a bag without a Transition topic raises
ValueError.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
from rosbags.rosbag2 import CompressionFormat, CompressionMode, StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from pushgrasp_control.primitives import Primitive, PrimitiveType
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.image_codec import ImageConversionError, NonFiniteHeightError, heightmap_from_message
from pushgrasp_perception.workspace import Workspace

STORAGES = {'mcap': StoragePlugin.MCAP, 'sqlite3': StoragePlugin.SQLITE3}
BAG_VERSION = 9  # rosbag2 metadata version of Jazzy
INTERFACES = 'pushgrasp_interfaces'
TRANSITION_TYPE = 'pushgrasp_interfaces/msg/Transition'


@dataclass(frozen=True)
class TopicSpec:
    """A recorded topic: its name (relative, as the nodes use it), its type and the publisher's QoS."""

    name: str
    msgtype: str
    """`pkg/msg/Type`."""
    reliable: bool = True
    transient_local: bool = False
    depth: int = 10


TRANSITIONS_TOPIC = TopicSpec('transitions', TRANSITION_TYPE)
"""The task node's Transition topic (reliable, volatile), which the trainer's experience bags hold as well."""


def interfaces_msg_dir() -> Path:
    """Return the installed `msg/` folder of pushgrasp_interfaces (on AMENT_PREFIX_PATH), else the source tree's."""
    for prefix in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep):
        folder = Path(prefix) / 'share' / INTERFACES / 'msg'
        if prefix and folder.is_dir():
            return folder
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

    def __init__(self, path: str | os.PathLike[str], storage: str = 'mcap', typestore: Typestore | None = None,
                 compress: bool = False) -> None:
        """Create the bag directory `path` (refused when it exists) with storage 'mcap' or 'sqlite3'.

        `compress` (MCAP only) compresses the MCAP chunks with zstd, as `ros2 bag record` with the mcap plugin's
        zstd presets does: every rosbag2 reader opens such a bag as it is.
        """
        if storage not in STORAGES:
            raise ValueError(f'storage must be one of {", ".join(STORAGES)}, got {storage!r}')
        if compress and storage != 'mcap':
            raise ValueError('only MCAP bags are written compressed')
        self.path = Path(path)
        if self.path.exists():
            raise FileExistsError(f'bag {self.path} exists already; not overwriting it (choose another output '
                                  'or remove it)')
        self.storage = storage
        self.typestore = typestore or pushgrasp_typestore()
        self._writer = Writer(self.path, version=BAG_VERSION, storage_plugin=STORAGES[storage])
        if compress:
            self._writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
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
        from io import StringIO

        from rosbags.rosbag2.writer import dump_qos_v9
        from ruamel.yaml import YAML

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


class TransitionEncoder:
    """Build pushgrasp_interfaces/msg/Transition messages from numpy heightmaps and primitives; serialise them.

    The fields are those the task node publishes (pushgrasp.ros.task_node, with the conversions of
    pushgrasp_perception.ros.conversions and pushgrasp_control.ros.conversions), built here with rosbags' typestore
    so that no ROS is needed.
    """

    def __init__(self, typestore: Typestore | None = None, frame_id: str = 'base_link') -> None:
        self.typestore = typestore or pushgrasp_typestore()
        self.types = self.typestore.types
        self.frame_id = frame_id
        self._empty_image = self.types['sensor_msgs/msg/Image'](
            header=self._header(0), height=0, width=0, encoding='', is_bigendian=0, step=0, data=np.zeros(0, np.uint8))

    def _header(self, stamp_ns: int) -> Any:
        stamp = self.types['builtin_interfaces/msg/Time'](sec=int(stamp_ns // 1_000_000_000),
                                                          nanosec=int(stamp_ns % 1_000_000_000))
        return self.types['std_msgs/msg/Header'](stamp=stamp, frame_id=self.frame_id)

    def _image(self, header: Any, array: np.ndarray, encoding: str, itemsize: int) -> Any:
        channels = array.shape[2] if array.ndim == 3 else 1
        data = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
        return self.types['sensor_msgs/msg/Image'](header=header, height=array.shape[0], width=array.shape[1],
                                                   encoding=encoding, is_bigendian=0,
                                                   step=array.shape[1] * channels * itemsize, data=data)

    def heightmap(self, heightmap: Heightmap) -> Any:
        """Return the pushgrasp_interfaces/msg/Heightmap of `heightmap` (rgb8 colour, 32FC1 height)."""
        header = self._header(heightmap.stamp_ns)
        w = heightmap.workspace
        workspace = self.types[f'{INTERFACES}/msg/Workspace'](x_min=w.x_min, x_max=w.x_max, y_min=w.y_min,
                                                              y_max=w.y_max, z_min=w.z_min, z_max=w.z_max)
        goal = (self._image(header, heightmap.goal_mask.astype(np.uint8) * 255, 'mono8', 1)
                if heightmap.goal_mask is not None else self._empty_image)
        return self.types[f'{INTERFACES}/msg/Heightmap'](
            header=header, workspace=workspace, resolution=float(w.resolution),
            color=self._image(header, heightmap.color.astype(np.uint8, copy=False), 'rgb8', 1),
            height=self._image(header, heightmap.height.astype('<f4', copy=False), '32FC1', 4), goal_mask=goal)

    def primitive(self, primitive: Primitive) -> Any:
        """Return the pushgrasp_interfaces/msg/Primitive of `primitive`."""
        x, y, z = (float(v) for v in primitive.position)
        dx, dy, dz = (float(v) for v in primitive.push_direction)
        return self.types[f'{INTERFACES}/msg/Primitive'](
            header=self._header(primitive.stamp_ns), type=int(primitive.type), row=int(primitive.row),
            col=int(primitive.col), rotation_index=int(primitive.rotation_index),
            num_rotations=int(primitive.num_rotations), rotation_angle=float(primitive.rotation_angle),
            position=self.types['geometry_msgs/msg/Point'](x=x, y=y, z=z), yaw=float(primitive.yaw),
            push_direction=self.types['geometry_msgs/msg/Vector3'](x=dx, y=dy, z=dz),
            push_length=float(primitive.push_length), q_value=float(primitive.q_value))

    def transition(self, *, stamp_ns: int, episode_id: int, step_id: int, state: Heightmap, primitive: Primitive,
                   reward: float, next_state: Heightmap, grasp_success: bool, scene_changed: bool,
                   episode_done: bool) -> bytes:
        """Return one Transition message serialised as CDR (encapsulation header included, as a bag stores it)."""
        msg = self.types[TRANSITION_TYPE](
            header=self._header(stamp_ns), episode_id=int(episode_id), step_id=int(step_id),
            state=self.heightmap(state), action=self.primitive(primitive), reward=float(reward),
            next_state=self.heightmap(next_state), grasp_success=bool(grasp_success),
            scene_changed=bool(scene_changed), episode_done=bool(episode_done))
        return self.typestore.serialize_cdr(msg, TRANSITION_TYPE)


SKIP_REASONS = {
    'missing heightmap': 'the state or next_state heightmap is empty',
    'bad encoding': 'a heightmap image is not rgb8 (colour) / 32FC1 (height)',
    'wrong size': 'image data, colour/height, state/next_state or workspace sizes disagree',
    'size differs from earlier records': 'the heightmap size differs from that of the first record read',
    'unknown primitive type': 'action.type is neither PUSH nor GRASP',
    'pixel outside the map': 'action.row/col outside the heightmap, or rotation_index >= num_rotations',
    'not finite': 'NaN or infinite height or reward',
    'undecodable': 'the message could not be deserialised',
}


class BagTransition(NamedTuple):
    """One transition read from a bag: full-resolution heightmaps before and after, action and outcome."""

    color_before: np.ndarray
    """(rows, cols, 3) uint8."""
    height_before: np.ndarray
    """(rows, cols) float32 metres."""
    primitive: PrimitiveType
    rotation: int
    row: int
    col: int
    reward: float
    scene_changed: bool
    color_after: np.ndarray
    height_after: np.ndarray
    workspace: Workspace
    num_rotations: int
    grasp_success: bool
    episode_done: bool


class _Skip(Exception):
    """A record to skip; the argument is its reason (a key of SKIP_REASONS)."""


def _heightmap(msg: Any) -> tuple[np.ndarray, np.ndarray, Workspace]:
    """Return (colour, height, workspace) of a deserialised Heightmap, or raise _Skip."""
    if msg.color.width == 0 or msg.color.height == 0 or msg.height.width == 0 or msg.height.height == 0:
        raise _Skip('missing heightmap')
    if msg.color.encoding != 'rgb8' or msg.height.encoding != '32FC1':
        raise _Skip('bad encoding')
    try:
        heightmap = heightmap_from_message(msg)
    except NonFiniteHeightError:
        raise _Skip('not finite') from None
    except ImageConversionError:
        raise _Skip('wrong size') from None
    return heightmap.color, heightmap.height, heightmap.workspace


def transition_from_msg(msg: Any) -> BagTransition:
    """Convert one deserialised Transition; raise _Skip with the reason when it cannot be trained on."""
    color, height, workspace = _heightmap(msg.state)
    color_after, height_after, _ = _heightmap(msg.next_state)
    if height_after.shape != height.shape:
        raise _Skip('wrong size')
    action = msg.action
    try:
        primitive = PrimitiveType(int(action.type))
    except ValueError:
        raise _Skip('unknown primitive type') from None
    rows, cols = height.shape
    rotation, row, col, num_rotations = (int(action.rotation_index), int(action.row), int(action.col),
                                         int(action.num_rotations))
    if not (0 <= row < rows and 0 <= col < cols and 0 <= rotation < num_rotations):
        raise _Skip('pixel outside the map')
    if not np.isfinite(msg.reward):
        raise _Skip('not finite')
    return BagTransition(color, height, primitive, rotation, row, col, float(msg.reward), bool(msg.scene_changed),
                         color_after, height_after, workspace, num_rotations, bool(msg.grasp_success),
                         bool(msg.episode_done))


def read_transitions(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[BagTransition], dict[str, int]]:
    """Read the Transition messages of the bags at `paths`, in order; return them and the skip counts by reason.

    Raises ValueError when a path is not a readable rosbag2 bag (missing, foreign or truncated), when a topic has a
    type without a definition, or when a bag holds no Transition topic.
    """
    skipped: Counter[str] = Counter()
    records = list(iter_transitions(paths, skipped))
    return records, dict(skipped)


def iter_transitions(paths: Iterable[str | os.PathLike[str]], skipped: Counter[str] | None = None
                     ) -> Iterator[BagTransition]:
    """Yield the Transition records of the bags at `paths` one at a time (as `read_transitions`, without a list).

    Skipped records are counted in `skipped` by reason. A caller that keeps only part of each record (the replay
    keeps network-resolution heightmaps) so holds one full-resolution transition at a time, not a whole bag.
    """
    from rosbags.highlevel import AnyReader

    skipped = Counter() if skipped is None else skipped
    shape: tuple[int, ...] | None = None
    for path in paths:
        path = os.fspath(path)
        if not os.path.exists(path):
            raise ValueError(f'bag {path} does not exist')
        for bag in bag_directories(path):
            try:
                with AnyReader([bag]) as reader:
                    unknown = [f'{c.topic} ({c.msgtype})' for c in reader.connections
                               if c.msgtype not in reader.typestore.fielddefs]
                    if unknown:
                        raise ValueError(f'bag {bag} has topics of unknown type (no message definition): '
                                         f'{", ".join(unknown)}')
                    connections = [c for c in reader.connections if c.msgtype == TRANSITION_TYPE]
                    if not connections:
                        topics = ', '.join(f'{c.topic} ({c.msgtype})' for c in reader.connections) or 'none'
                        raise ValueError(f'bag {bag} holds no {TRANSITION_TYPE} topic to train on (topics: {topics})')
                    for connection, _, raw in reader.messages(connections=connections):
                        try:
                            try:
                                msg = reader.deserialize(raw, connection.msgtype)
                            except Exception:  # rosbags raises many kinds for a bad message
                                raise _Skip('undecodable') from None
                            record = transition_from_msg(msg)
                            if shape is None:
                                shape = record.height_before.shape
                            elif record.height_before.shape != shape:
                                raise _Skip('size differs from earlier records')
                        except _Skip as skip:
                            skipped[skip.args[0]] += 1
                            continue
                        yield record
            except ValueError:
                raise
            except Exception as error:  # rosbags reader errors have no common base class
                raise ValueError(f'cannot read bag {bag} (not a rosbag2 bag, truncated, or with a topic of unknown '
                                 f'type): {type(error).__name__}: {error}') from error


def bag_directories(path: str | os.PathLike[str]) -> list[Path]:
    """Return the bags AnyReader opens for `path`.

    That is `path` itself for a bag directory, the directory of a file inside a bag, or the bags in a folder of bags
    (such as a training run's experience/), in name order, hidden entries left out.
    """
    bag = Path(path)
    if bag.is_file() and (bag.parent / 'metadata.yaml').exists():
        return [bag.parent]
    if bag.is_dir() and not (bag / 'metadata.yaml').exists():
        inside = sorted(p for p in bag.iterdir()
                        if p.is_dir() and not p.name.startswith('.') and (p / 'metadata.yaml').exists())
        if not inside:
            raise ValueError(f'{path} is not a rosbag2 bag: no metadata.yaml in it (nor in a folder inside it)')
        return inside
    return [bag]

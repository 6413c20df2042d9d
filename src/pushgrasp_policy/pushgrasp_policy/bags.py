# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""rosbag2 bags of pushgrasp topics, written and read with the `rosbags` library (no ROS imports).

Writing (`BagRecorder`, used by the recorder node and by the trainer's experience log): it writes with rosbags
(`rosbags.rosbag2.Writer`, or its MCAP storage writer for split bags), registers the pushgrasp_interfaces messages
from their `.msg` definitions, so that every bag embeds the definitions of the types it holds (`ros2 bag
info`/`play`, Foxglove and rosbags' AnyReader need nothing else), takes messages already serialised as CDR (what
rclpy delivers to a `raw=True` subscription, encapsulation header included: the rosbag2 format), and writes the
standard metadata.yaml (version 9).
`TransitionEncoder` builds and serialises pushgrasp_interfaces/msg/Transition messages from numpy heightmaps and
primitives with rosbags' typestore, field for field as the task node publishes them, so a bag written in-process
reads back exactly like one recorded from the graph.

Crash safety of a bag being written (`BagRecorder.flush`, called every `flush_period`, 1 s, by the recorder node):
- MCAP as the recorder node writes it, a split bag (`split_seconds`): every flush closes the open file (index
  and footer), moves it into the bag directory and rewrites metadata.yaml atomically to list it, so after a
  SIGKILL the bag opens as it is with every closed file, and loses only the file that was open (the messages of
  the last flush period). The half-written file stays in the hidden `.writing/` folder, outside the bag: no
  reader opens it (readers open the files metadata.yaml lists).
- sqlite3: the pending transaction is committed and metadata.yaml is rewritten with the counts so far, so after a
  SIGKILL the bag opens as it is and holds everything up to the last flush.
- MCAP in one file (no `split_seconds`): the pending chunk is written to the file, but an MCAP file gets its index
  and footer only on close, so a killed one must be repaired (`mcap recover`, then `ros2 bag reindex`) before it
  opens. The trainer writes its experience so, but publishes only closed bags (see pushgrasp_policy.experience).

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

import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from rosbags.interfaces import (Connection, ConnectionExtRosbag2, MessageDefinition, MessageDefinitionFormat, Qos,
                                QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime)
from rosbags.rosbag2 import CompressionFormat, CompressionMode, StoragePlugin, Writer
from rosbags.rosbag2.metadata import dump_qos_v9
from rosbags.rosbag2.storage_mcap import McapWriter
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
WRITING = '.writing'
"""Folder of a split bag that holds its open file until it is closed."""


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


class BagFile(NamedTuple):
    """A closed storage file of a bag, as metadata.yaml's `files` lists it."""

    path: str
    """Name of the file in the bag directory."""
    start_ns: int
    duration_ns: int
    message_count: int
    topic_counts: dict[str, int]
    """Messages per topic name."""


def render_yaml(value: Any, indent: int = 0) -> str:
    """Return the block-style YAML that follows a key (or a dash) for `value`, nested dicts and lists of scalars.

    That is " scalar" and a newline (strings double-quoted: JSON escapes are valid YAML), or for a non-empty dict
    or list a newline, then its lines indented by `indent`.
    """
    pad = ' ' * indent
    if isinstance(value, dict) and value:
        return '\n' + ''.join(f'{pad}{key}:{render_yaml(item, indent + 2)}' for key, item in value.items())
    if isinstance(value, list) and value:
        lines = []
        for item in value:
            text = render_yaml(item, indent + 2)
            # A collection item starts on the dash's line: "- key: value" then its other keys below.
            lines.append(f'{pad}- {text[indent + 3:]}' if text.startswith('\n') else f'{pad}-{text}')
        return '\n' + ''.join(lines)
    if isinstance(value, (dict, list)):
        return ' {}\n' if isinstance(value, dict) else ' []\n'
    return f' {json.dumps(value)}\n'


class _OpenFile:
    """The file of a split bag being written: its MCAP storage writer, and what it holds so far."""

    def __init__(self, storage: McapWriter, final: Path) -> None:
        self.storage = storage
        self.final = final
        """Where it goes in the bag directory when closed."""
        self.opened = time.monotonic()
        self.counts: dict[str, int] = {}
        self.msgtypes: set[str] = set()
        self.start_ns = 2**63 - 1
        self.end_ns = 0


class BagRecorder:
    """A rosbag2 bag being written: register topics, write CDR messages, flush, close.

    Two layouts (see the module docstring for what survives a SIGKILL):
    - one storage file `<name>.mcap` or `<name>.db3` (the default), written by one rosbags Writer;
    - with `split_seconds` (MCAP only), a split bag as `ros2 bag record --max-bag-duration` writes it:
      `<name>_0.mcap`, `<name>_1.mcap`, ... and one metadata.yaml listing them. `flush()` closes the open file,
      and `write()` closes it first when it was opened `split_seconds` ago or more, so every file covers at most
      that much time. Each file is written as the hidden `.writing/.writing.mcap`, closed (index and footer),
      renamed into the bag directory and only then listed in metadata.yaml, which is rewritten atomically: at any
      moment the directory is a valid bag of all closed files, and a file a kill left half written stays outside
      it.
      No file is opened until a message comes, except that the first flush (or the close) of a bag without any
      file writes one without messages, so that a recording opens, with its topics and definitions, from its
      first flush on.

    The files of a split bag are written with rosbags' MCAP storage writer (what `rosbags.rosbag2.Writer` writes
    MCAP with), given the QoS and metadata texts rendered here once: a Writer per file would dump them with ruamel
    on every open and close, about 45 ms per file, where this costs about 2 ms.
    """

    def __init__(self, path: str | os.PathLike[str], storage: str = 'mcap', typestore: Typestore | None = None,
                 compress: bool = False, split_seconds: float | None = None) -> None:
        """Create the bag directory `path` (refused when it exists) with storage 'mcap' or 'sqlite3'.

        `compress` (MCAP only) compresses the MCAP chunks with zstd, as `ros2 bag record` with the mcap plugin's
        zstd presets does: every rosbag2 reader opens such a bag as it is. `split_seconds` (MCAP only) writes a
        split bag whose files cover at most that many seconds each (see the class docstring).
        """
        if storage not in STORAGES:
            raise ValueError(f'storage must be one of {", ".join(STORAGES)}, got {storage!r}')
        if compress and storage != 'mcap':
            raise ValueError('only MCAP bags are written compressed')
        if split_seconds is not None and (storage != 'mcap' or not split_seconds > 0):
            raise ValueError(f'only MCAP bags are split, every split_seconds > 0 (got {split_seconds!r} for '
                             f'{storage})')
        self.path = Path(path)
        if self.path.exists():
            raise FileExistsError(f'bag {self.path} exists already; not overwriting it (choose another output '
                                  'or remove it)')
        self.storage = storage
        self.typestore = typestore or pushgrasp_typestore()
        self.compress = compress
        self.split_seconds = split_seconds
        self.counts: dict[str, int] = {}
        """Messages written per topic name (in a split bag, including those of the open file)."""
        self.files: list[BagFile] = []
        """The closed files of a split bag, in order."""
        self.closed = False
        self._topics: dict[str, tuple[TopicSpec, Any, str]] = {}
        """Registered topics by recorded name: spec, rosbags Connection, offered QoS as YAML (split bags)."""
        self._file_entries: list[tuple[str, str]] = []
        """metadata.yaml's entries of `files`, rendered once each."""
        self._open: _OpenFile | None = None
        self._writer: Writer | None = None
        if split_seconds is None:
            self._writer = Writer(self.path, version=BAG_VERSION, storage_plugin=STORAGES[storage])
            if compress:
                self._writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
            self._writer.open()
        else:
            self.path.mkdir(mode=0o755, parents=True)

    def add_topic(self, topic: TopicSpec, name: str | None = None) -> None:
        """Register `topic` under the (absolute) `name` it is recorded as, with its embedded definition."""
        name = name or '/' + topic.name
        qos = [offered_qos(topic)]
        if self._writer is not None:
            connection = self._writer.add_connection(name, topic.msgtype, typestore=self.typestore,
                                                     offered_qos_profiles=qos)
        else:
            msgdef, _ = self.typestore.generate_msgdef(topic.msgtype, ros_version=2)
            kind = (MessageDefinitionFormat.IDL if msgdef.startswith('=' * 80 + '\nIDL: ')
                    else MessageDefinitionFormat.MSG)
            connection = Connection(len(self._topics) + 1, name, topic.msgtype, MessageDefinition(kind, msgdef),
                                    self.typestore.hash_rihs01(topic.msgtype), 0, ConnectionExtRosbag2('cdr', qos),
                                    self)
        self._topics[name] = (topic, connection, render_yaml(dump_qos_v9(qos))[1:].rstrip('\n'))
        if self._open is not None:
            self._add_connection(self._open, name)
        self.counts[name] = 0

    def write(self, name: str, timestamp_ns: int, data: bytes | memoryview) -> None:
        """Write one CDR-serialised message (with its encapsulation header) of topic `name`."""
        if self.closed:
            return
        self.counts[name] += 1  # a KeyError for a topic that was not added
        if self._writer is not None:
            self._writer.write(self._topics[name][1], timestamp_ns, data)
            return
        assert self.split_seconds is not None
        if self._open is not None and time.monotonic() - self._open.opened >= self.split_seconds:
            self._close_file()
        if self._open is None:
            self._open_file()
        assert self._open is not None
        self._open.storage.write(self._topics[name][1], timestamp_ns, data)
        self._open.counts[name] += 1
        self._open.start_ns = min(self._open.start_ns, timestamp_ns)
        self._open.end_ns = max(self._open.end_ns, timestamp_ns)

    def flush(self) -> None:
        """Make everything written so far survive a SIGKILL, where the layout allows (see the module docstring)."""
        if self.closed:
            return
        if self._writer is None:
            self._close_file()
            return
        storage = self._writer.storage
        if storage is None:
            return
        if self.storage == 'sqlite3':
            storage.conn.commit()
            count = sum(self.counts.values())
            start = self._writer.min_timestamp if count else 0
            duration = max(0, self._writer.max_timestamp - self._writer.min_timestamp) if count else 0
            self._write_metadata([BagFile(storage.path.name, start, duration, count, dict(self.counts))])
        else:
            if storage.chunk.bio.tell():
                storage.close_chunk()
            storage.bio.flush()

    def close(self) -> None:
        """Close the bag: index and footer of its (last) file, and metadata.yaml."""
        if self.closed:
            return
        if self._writer is not None:
            self._writer.close()
        else:
            self._close_file()
            shutil.rmtree(self.path / WRITING, ignore_errors=True)
        self.closed = True

    def _add_connection(self, file: _OpenFile, name: str) -> None:
        _, connection, qos = self._topics[name]
        if connection.msgtype not in file.msgtypes:
            file.storage.add_msgtype(connection)
            file.msgtypes.add(connection.msgtype)
        file.storage.add_connection(connection, qos)
        file.counts[name] = 0

    def _open_file(self) -> None:
        """Open the next file of a split bag, as .writing/.writing.mcap until it is closed."""
        folder = self.path / WRITING
        folder.mkdir(exist_ok=True)
        (folder / f'{WRITING}.mcap').unlink(missing_ok=True)
        storage = McapWriter(folder, CompressionMode.STORAGE if self.compress else CompressionMode.NONE)
        self._open = _OpenFile(storage, self.path / f'{self.path.name}_{len(self.files)}.mcap')
        for topic in self._topics:
            self._add_connection(self._open, topic)

    def _close_file(self) -> None:
        """Close the open file of a split bag, move it into the bag and list it in metadata.yaml.

        Without an open file, writes a file without messages when the bag has none yet (so that it opens).
        """
        if self._open is None:
            if self.files:
                return
            self._open_file()
        file, self._open = self._open, None
        assert file is not None
        count = sum(file.counts.values())
        start, duration = (file.start_ns, file.end_ns - file.start_ns) if count else (0, 0)
        closed = BagFile(file.final.name, start, duration, count, file.counts)
        file.storage.close(BAG_VERSION, self._metadata([closed], indent=0).rstrip('\n'))
        os.replace(file.storage.path, file.final)
        self.files.append(closed)
        self._write_metadata(self.files)

    def _metadata(self, files: list[BagFile], indent: int = 2) -> str:
        """Return metadata.yaml's `rosbag2_bagfile_information` (version 9) for the storage files `files`.

        The files of a split bag grow by one a second, so the entries of `self.files` are rendered once each.
        """
        recorded = [f for f in files if f.message_count]
        start = min((f.start_ns for f in recorded), default=0)
        end = max((f.start_ns + f.duration_ns for f in recorded), default=0)
        head = {
            'version': BAG_VERSION, 'storage_identifier': self.storage,
            'duration': {'nanoseconds': end - start}, 'starting_time': {'nanoseconds_since_epoch': start},
            'message_count': sum(f.message_count for f in files),
            'topics_with_message_count': [
                {'topic_metadata': {'name': name, 'type': topic.msgtype, 'serialization_format': 'cdr',
                                    'offered_qos_profiles': dump_qos_v9([offered_qos(topic)]),
                                    'type_description_hash': connection.digest},
                 'message_count': sum(f.topic_counts.get(name, 0) for f in files)}
                for name, (topic, connection, _) in self._topics.items()],
            'compression_format': '', 'compression_mode': '', 'custom_data': None, 'ros_distro': 'rosbags',
        }
        if files is self.files and indent == 2:
            self._file_entries += [self._file_entry(f, indent) for f in files[len(self._file_entries):]]
            entries = self._file_entries
        else:
            entries = [self._file_entry(f, indent) for f in files]
        pad = ' ' * indent
        if not files:
            return render_yaml(head, indent)[1:] + f'{pad}relative_file_paths: []\n{pad}files: []\n'
        return (render_yaml(head, indent)[1:] + f'{pad}relative_file_paths:\n' + ''.join(path for path, _ in entries)
                + f'{pad}files:\n' + ''.join(entry for _, entry in entries))

    @staticmethod
    def _file_entry(f: BagFile, indent: int) -> tuple[str, str]:
        """Return the lines of `f` in metadata.yaml's relative_file_paths and files, keys at `indent`."""
        return (render_yaml([f.path], indent + 2)[1:],
                render_yaml([{'path': f.path, 'starting_time': {'nanoseconds_since_epoch': f.start_ns},
                              'duration': {'nanoseconds': f.duration_ns}, 'message_count': f.message_count}],
                            indent + 2)[1:])

    def _write_metadata(self, files: list[BagFile]) -> None:
        """Rewrite metadata.yaml atomically for the storage files `files`."""
        temporary = self.path / 'metadata.yaml.tmp'
        temporary.write_text('rosbag2_bagfile_information:\n' + self._metadata(files), 'utf8')
        temporary.replace(self.path / 'metadata.yaml')

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

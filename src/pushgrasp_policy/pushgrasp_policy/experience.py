# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Experience as rosbag2 bags: the trainer's experience log, and replays built from recorded transitions.

The online trainer writes every transition as a pushgrasp_interfaces/msg/Transition message on `/transitions`, the
message and topic the task node publishes in the ROS graph (full-resolution `state` and `next_state` heightmaps,
the primitive, reward, grasp success, scene change, episode end, episode and step ids), so that a trainer's bags
and bags recorded from the graph are interchangeable: `pushgrasp train --from-bag RUN/experience` reads either.

Layout of RUN/experience/: a folder of rosbag2 bags ("segments"), MCAP with zstd-compressed chunks, each named by
the index of its first transition (000000/, 000100/, ...), each holding the transitions from there up to a
checkpoint, in order. The bags are the replay's persistent store too (one format for all experience): `--resume`
rebuilds the replay from the segments' `state` heightmaps (reduced to network resolution as when they were added)
and the labels and surprises kept in checkpoint.pt, so the resumed replay is the one the run had.

Consistency with checkpoints, and crash safety. Transitions after the last checkpoint are redone on resume, so
their messages must not stay in the bag. A segment is therefore written to experience/.pending/<start>/ while the
trainer runs and, at every checkpoint, just BEFORE checkpoint.pt is written, closed (MCAP index and footer),
synced and renamed into experience/ (an atomic rename). So every published segment ends at a checkpoint, and
after a crash at most one segment ends after the last checkpoint (killed between the rename and checkpoint.pt).
When a run starts, new or resumed, `.pending` and every segment that ends after the run's transition counter (all
of them for a new run) are removed, and the redone transitions are written again: each transition is in the bag
once, and once the run has started again the bag holds exactly the transitions its checkpoint has seen (until
then, a segment published just before a crash holds complete transitions that will be redone). A reader never
sees a half-written bag (pending segments are hidden entries, which readers of a folder of bags skip).
Appending to a single sqlite3 bag and cutting it back on resume was the alternative; rosbags cannot reopen a bag
to append, and cutting rows would edit its storage and metadata behind the library's back.

Size: 40-50 KB per transition (two 224 x 224 heightmaps, 690 KB raw, zstd-compressed; `pushgrasp bench bags`),
against about 7 KB for the network-resolution .npz files that earlier versions kept in RUN/replay/ (still read
when resuming such a run).
"""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from ruamel.yaml import YAML

from pushgrasp_control.primitives import Primitive
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_policy.bags import TRANSITIONS_TOPIC, BagRecorder, BagTransition, TransitionEncoder, iter_transitions
from pushgrasp_policy.learning_step import label_of
from pushgrasp_policy.replay import SurpriseReplay, Transition

if TYPE_CHECKING:
    from pushgrasp_policy.vpg import VPGAgent

PENDING = '.pending'


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def segment_count(segment: Path) -> int:
    """Return the number of messages a closed bag's metadata.yaml records."""
    metadata = YAML(typ='safe').load((segment / 'metadata.yaml').read_text())
    return int(metadata['rosbag2_bagfile_information']['message_count'])


def segments(folder: str | os.PathLike[str]) -> list[tuple[int, int, Path]]:
    """Return the published segments of an experience folder as (first transition, transitions, path), in order."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        if path.is_dir() and path.name.isdigit() and (path / 'metadata.yaml').exists():
            found.append((int(path.name), segment_count(path), path))
    return sorted(found)


class ExperienceLog:
    """The experience bag of a training run (see the module docstring).

    `write` each transition, `commit` at each checkpoint (before checkpoint.pt is written), `close` at the end.
    """

    def __init__(self, folder: str | os.PathLike[str], transitions: int, frame_id: str = 'base_link') -> None:
        """Open the experience folder of a run at transition counter `transitions` (0 for a new run).

        Removes what a crash or an earlier run left past that counter: `.pending` and later segments.
        """
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.folder / PENDING, ignore_errors=True)
        for start, count, path in segments(self.folder):
            if start + count > transitions:
                shutil.rmtree(path)
        self.next_index = transitions
        self.encoder = TransitionEncoder(frame_id=frame_id)
        self._bag: BagRecorder | None = None
        self._start = transitions
        self._last_ns = 0
        self.write_s = 0.0
        """Seconds spent building, serialising and writing messages (the recording's cost to the training loop)."""

    def write(self, *, episode_id: int, step_id: int, state: Heightmap, primitive: Primitive, reward: float,
              next_state: Heightmap, grasp_success: bool, scene_changed: bool, episode_done: bool) -> None:
        """Append the transition of index `next_index` to the pending segment."""
        started = time.perf_counter()
        if self._bag is None:
            self._start = self.next_index
            self._bag = BagRecorder(self.folder / PENDING / f'{self._start:06d}', 'mcap',
                                    typestore=self.encoder.typestore, compress=True)
            self._bag.add_topic(TRANSITIONS_TOPIC)
        # Strictly increasing receive times keep the messages in transition order for every reader.
        stamp = max(time.time_ns(), self._last_ns + 1)
        self._last_ns = stamp
        data = self.encoder.transition(stamp_ns=stamp, episode_id=episode_id, step_id=step_id, state=state,
                                       primitive=primitive, reward=reward, next_state=next_state,
                                       grasp_success=grasp_success, scene_changed=scene_changed,
                                       episode_done=episode_done)
        self._bag.write('/' + TRANSITIONS_TOPIC.name, stamp, data)
        self.next_index += 1
        self.write_s += time.perf_counter() - started

    def commit(self) -> None:
        """Publish the pending segment: close, sync and rename it into the folder (call before the checkpoint)."""
        if self._bag is None:
            return
        started = time.perf_counter()
        bag, self._bag = self._bag, None
        bag.close()
        for path in bag.path.iterdir():
            _fsync(path)
        target = self.folder / bag.path.name
        os.replace(bag.path, target)
        _fsync(self.folder)
        self.write_s += time.perf_counter() - started

    def close(self) -> None:
        """Drop the pending segment (its transitions are after the last checkpoint and will be redone)."""
        if self._bag is not None:
            self._bag.close()
            self._bag = None
        shutil.rmtree(self.folder / PENDING, ignore_errors=True)


def read_experience(folder: str | os.PathLike[str], transitions: int, agent: VPGAgent, metadata: dict[str, np.ndarray],
                    offset: int = 0) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Return the replay heightmaps of transitions 0 .. `transitions`-1 held by the segments of `folder`, by index.

    Each transition's `state` is reduced to network resolution (`agent.net.prepare`, as when it joined the replay)
    and checked against replay entry `offset` + index of the checkpoint's `metadata` (see `check_record`). Records
    are read one at a time. Raises ValueError when a segment does not read back whole or differs from the metadata.
    """
    found: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for start, count, path in segments(folder):
        if start + count > transitions:
            continue
        skipped: Counter[str] = Counter()
        read = 0
        for read, record in enumerate(iter_transitions([path], skipped), start=1):
            check_record(metadata, offset + start + read - 1, record, str(path))
            found[start + read - 1] = agent.net.prepare(record.color_before, record.height_before)
        if read != count or skipped:
            raise ValueError(f'experience segment {path} holds {count} transitions but {read} read back '
                             f'(skipped: {dict(skipped) or "none"})')
    return found


def build_replay(agent: VPGAgent, records: Iterable[BagTransition]) -> SurpriseReplay:
    """Return a replay of `records` with labels computed by the agent's current network (once, not updated later).

    The label is y = reward + gamma * max Q(next heightmap) when the scene changed and the episode went on (the
    reward alone otherwise), as the online trainer and the on-robot learner label (`learning_step.label_of`).
    Raises ValueError when the records do not fit the agent's network (rotations, heightmap size).
    """
    replay = SurpriseReplay(agent.config.replay_power)
    rotations = agent.config.network.num_rotations
    for record in records:
        if record.num_rotations != rotations:
            raise ValueError(f'the bags were recorded with {record.num_rotations} rotations; the network has '
                             f'{rotations}')
        after = None if record.episode_done else Heightmap(record.color_after, record.height_after, record.workspace)
        label = label_of(agent, record.reward, record.scene_changed, after)
        color, height = agent.net.prepare(record.color_before, record.height_before)
        replay.add(Transition(color, height, record.primitive, record.rotation, record.row, record.col,
                              record.reward, label))
    return replay


def check_record(metadata: dict[str, np.ndarray], index: int, record: BagTransition, source: str) -> None:
    """Raise ValueError unless `record` is replay entry `index` of the checkpoint `metadata` (action and reward).

    So a bag that is not the one the checkpoint was trained on is refused rather than silently trained on.
    """
    if index >= len(metadata['primitive']):
        raise ValueError(f'{source} holds more transitions than the checkpoint\'s replay '
                         f'({len(metadata["primitive"])})')
    saved = (int(metadata['primitive'][index]), int(metadata['rotation'][index]), int(metadata['row'][index]),
             int(metadata['col'][index]), float(metadata['reward'][index]))
    read = (int(record.primitive), record.rotation, record.row, record.col, record.reward)
    if saved != read:
        raise ValueError(f'{source} differs from the transitions the checkpoint was trained on (replay entry {index}: '
                         f'primitive, rotation, row, col, reward {saved} in the checkpoint, {read} in the bag)')


def restore_heightmaps(agent: VPGAgent, records: Iterable[BagTransition], metadata: dict[str, np.ndarray],
                       source: str, offset: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return the replay heightmaps of `records`, checked against entries `offset`, `offset`+1, ... of `metadata`."""
    heightmaps = []
    for k, record in enumerate(records):
        check_record(metadata, offset + k, record, source)
        heightmaps.append(agent.net.prepare(record.color_before, record.height_before))
    return heightmaps

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Read training transitions back from rosbag2 bags (recorded by `pushgrasp record` or `ros2 bag record`).

The bags are read with rosbags' AnyReader, which deserialises into its own plain Python objects (no rclpy), so
this module may live outside a `ros/` folder. Every pushgrasp_interfaces/msg/Transition message carries its own
heightmaps (`state`, the heightmap the primitive was chosen on, and `next_state`, the one observed after it), so a
transition is complete by itself: no pairing with the Heightmap topic by stamp is needed.

Records that cannot be trained on are skipped and counted by reason (see SKIP_REASONS); a path that is not a
readable bag, a bag with a topic whose type has no definition, or a bag without a Transition topic raises
ValueError.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from pushgrasp_control.primitives import PrimitiveType
from pushgrasp_perception.image_codec import ImageConversionError, NonFiniteHeightError, heightmap_from_message
from pushgrasp_perception.workspace import Workspace

TRANSITION_TYPE = 'pushgrasp_interfaces/msg/Transition'

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
    from rosbags.highlevel import AnyReader

    records: list[BagTransition] = []
    skipped: Counter[str] = Counter()
    shape: tuple[int, ...] | None = None
    for path in paths:
        path = os.fspath(path)
        if not os.path.exists(path):
            raise ValueError(f'bag {path} does not exist')
        try:
            with AnyReader([_bag_path(path)]) as reader:
                unknown = [f'{c.topic} ({c.msgtype})' for c in reader.connections
                           if c.msgtype not in reader.typestore.fielddefs]
                if unknown:
                    raise ValueError(f'bag {path} has topics of unknown type (no message definition): '
                                     f'{", ".join(unknown)}')
                connections = [c for c in reader.connections if c.msgtype == TRANSITION_TYPE]
                if not connections:
                    topics = ', '.join(f'{c.topic} ({c.msgtype})' for c in reader.connections) or 'none'
                    raise ValueError(f'bag {path} holds no {TRANSITION_TYPE} topic to train on (topics: {topics})')
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
                        records.append(record)
                    except _Skip as skip:
                        skipped[skip.args[0]] += 1
        except ValueError:
            raise
        except Exception as error:  # rosbags reader errors have no common base class
            raise ValueError(f'cannot read bag {path} (not a rosbag2 bag, truncated, or with a topic of unknown '
                             f'type): {type(error).__name__}: {error}') from error
    return records, dict(skipped)


def _bag_path(path: str) -> Path:
    """Return the path AnyReader opens: a rosbag2 directory (a file inside one means its directory)."""
    bag = Path(path)
    if bag.is_file() and (bag.parent / 'metadata.yaml').exists():
        return bag.parent
    if bag.is_dir() and not (bag / 'metadata.yaml').exists():
        raise ValueError(f'{path} is not a rosbag2 bag: no metadata.yaml in it')
    return bag

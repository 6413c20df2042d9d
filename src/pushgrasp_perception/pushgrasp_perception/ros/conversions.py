# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Conversions between numpy images / heightmaps and their ROS messages (the only copy in pushgrasp)."""

from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Time
from pushgrasp_interfaces.msg import Heightmap as HeightmapMsg
from pushgrasp_interfaces.msg import Workspace as WorkspaceMsg
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.workspace import Workspace

# encoding -> (numpy dtype, channels)
ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    'rgb8': (np.dtype(np.uint8), 3),
    'bgr8': (np.dtype(np.uint8), 3),
    'mono8': (np.dtype(np.uint8), 1),
    '8UC1': (np.dtype(np.uint8), 1),
    'mono16': (np.dtype(np.uint16), 1),
    '16UC1': (np.dtype(np.uint16), 1),
    '32FC1': (np.dtype(np.float32), 1),
}


class ImageConversionError(ValueError):
    """An Image message that cannot be turned into an array (the reason is in the message)."""


def stamp_to_ns(stamp: Time) -> int:
    """Nanoseconds of a builtin_interfaces/Time."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def ns_to_stamp(ns: int) -> Time:
    """A builtin_interfaces/Time from nanoseconds."""
    return Time(sec=int(ns // 1_000_000_000), nanosec=int(ns % 1_000_000_000))


def image_to_msg(array: np.ndarray, encoding: str, header: Header | None = None) -> Image:
    """Wrap an (H, W) or (H, W, C) array as a sensor_msgs/Image with the given encoding."""
    if encoding not in ENCODINGS:
        raise ImageConversionError(f'unsupported image encoding {encoding!r}; known: {sorted(ENCODINGS)}')
    dtype, channels = ENCODINGS[encoding]
    array = np.ascontiguousarray(array, dtype=dtype)
    if array.ndim == 2 and channels != 1 or array.ndim == 3 and array.shape[2] != channels:
        raise ImageConversionError(f'array of shape {array.shape} does not fit encoding {encoding}')
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = array.shape[:2]
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = msg.width * channels * dtype.itemsize
    msg.data = array.tobytes()
    return msg


def msg_to_image(msg: Image) -> np.ndarray:
    """The pixels of a sensor_msgs/Image as a numpy array ((H, W) or (H, W, C)), copying once."""
    if msg.encoding not in ENCODINGS:
        raise ImageConversionError(f'unsupported image encoding {msg.encoding!r}; known: {sorted(ENCODINGS)}')
    dtype, channels = ENCODINGS[msg.encoding]
    row_bytes = msg.width * channels * dtype.itemsize
    if msg.step < row_bytes or len(msg.data) < msg.step * msg.height:
        raise ImageConversionError(
            f'{msg.encoding} image {msg.width}x{msg.height} has step {msg.step} and {len(msg.data)} bytes; '
            f'need step >= {row_bytes} and {msg.step * msg.height} bytes')
    buffer = np.frombuffer(bytes(msg.data), dtype=np.uint8)[:msg.step * msg.height]
    rows = buffer.reshape(msg.height, msg.step)[:, :row_bytes]
    array = rows.copy().view(dtype.newbyteorder('>' if msg.is_bigendian else '<'))
    array = array.astype(dtype, copy=False)
    return array.reshape(msg.height, msg.width, channels) if channels > 1 else array.reshape(msg.height, msg.width)


def workspace_to_msg(workspace: Workspace) -> WorkspaceMsg:
    """The box of a Workspace as a pushgrasp_interfaces/Workspace."""
    return WorkspaceMsg(x_min=workspace.x_min, x_max=workspace.x_max, y_min=workspace.y_min,
                        y_max=workspace.y_max, z_min=workspace.z_min, z_max=workspace.z_max)


def heightmap_to_msg(heightmap: Heightmap, frame_id: str) -> HeightmapMsg:
    """A pushgrasp_interfaces/Heightmap from a Heightmap."""
    header = Header(stamp=ns_to_stamp(heightmap.stamp_ns), frame_id=frame_id)
    msg = HeightmapMsg(header=header, workspace=workspace_to_msg(heightmap.workspace),
                       resolution=float(heightmap.workspace.resolution))
    msg.color = image_to_msg(heightmap.color, 'rgb8', header)
    msg.height = image_to_msg(heightmap.height, '32FC1', header)
    if heightmap.goal_mask is not None:
        msg.goal_mask = image_to_msg(heightmap.goal_mask.astype(np.uint8) * 255, 'mono8', header)
    return msg


def msg_to_heightmap(msg: HeightmapMsg) -> Heightmap:
    """A Heightmap from a pushgrasp_interfaces/Heightmap; raises ValueError with the reason if malformed."""
    w = msg.workspace
    try:
        workspace = Workspace(w.x_min, w.x_max, w.y_min, w.y_max, w.z_min, w.z_max, msg.resolution)
    except ValueError as error:
        raise ImageConversionError(f'heightmap has an invalid workspace: {error}') from error
    if msg.color.encoding != 'rgb8' or msg.height.encoding != '32FC1':
        raise ImageConversionError(
            f'heightmap image encodings must be rgb8 and 32FC1, got {msg.color.encoding!r} and {msg.height.encoding!r}')
    color, height = msg_to_image(msg.color), msg_to_image(msg.height)
    goal_mask = msg_to_image(msg.goal_mask) > 0 if msg.goal_mask.width > 0 else None
    if not np.all(np.isfinite(height)):
        raise ImageConversionError('heightmap height image contains NaN or infinite values')
    return Heightmap(color=color, height=height, workspace=workspace, goal_mask=goal_mask,
                     stamp_ns=stamp_to_ns(msg.header.stamp))

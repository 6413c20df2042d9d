# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Decoding sensor_msgs/Image and pushgrasp_interfaces/Heightmap messages into numpy, without ROS.

The functions read only the messages' fields (`encoding`, `width`, `height`, `step`, `is_bigendian`,
`data`, ...), so they serve both live rclpy messages (pushgrasp_perception.ros.conversions) and messages
deserialised from bags by `rosbags` (pushgrasp_policy.bags): one decoder for both.
"""

from __future__ import annotations

from typing import Any

import numpy as np

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


class NonFiniteHeightError(ImageConversionError):
    """A heightmap whose height image holds NaN or infinite values."""


def image_pixels(msg: Any) -> np.ndarray:
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


def heightmap_from_message(msg: Any) -> Heightmap:
    """A Heightmap from a pushgrasp_interfaces/Heightmap; ImageConversionError (a ValueError) if malformed."""
    w = msg.workspace
    try:
        workspace = Workspace(w.x_min, w.x_max, w.y_min, w.y_max, w.z_min, w.z_max, msg.resolution)
    except ValueError as error:
        raise ImageConversionError(f'heightmap has an invalid workspace: {error}') from error
    if msg.color.encoding != 'rgb8' or msg.height.encoding != '32FC1':
        raise ImageConversionError(
            f'heightmap image encodings must be rgb8 and 32FC1, got {msg.color.encoding!r} and {msg.height.encoding!r}')
    color, height = image_pixels(msg.color), image_pixels(msg.height)
    goal_mask = image_pixels(msg.goal_mask) > 0 if msg.goal_mask.width > 0 else None
    if not np.all(np.isfinite(height)):
        raise NonFiniteHeightError('heightmap height image contains NaN or infinite values')
    stamp = msg.header.stamp
    try:
        return Heightmap(color=color, height=height, workspace=workspace, goal_mask=goal_mask,
                         stamp_ns=int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec))
    except ValueError as error:  # image and workspace sizes disagree
        raise ImageConversionError(f'malformed heightmap: {error}') from error

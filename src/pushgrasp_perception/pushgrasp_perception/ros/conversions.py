# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Conversions between numpy images / heightmaps / point clouds and their ROS messages (the only copy in pushgrasp)."""

from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Time
from pushgrasp_interfaces.msg import Heightmap as HeightmapMsg
from pushgrasp_interfaces.msg import Workspace as WorkspaceMsg
from sensor_msgs.msg import Image, PointCloud2, PointField
from std_msgs.msg import Header

from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.image_codec import ENCODINGS, ImageConversionError, heightmap_from_message, image_pixels
from pushgrasp_perception.workspace import Workspace


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
    return image_pixels(msg)


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
    return heightmap_from_message(msg)


# The PointCloud2 layout rviz expects for coloured clouds: x, y, z float32 and rgb, a float32 whose bytes hold
# 0x00RRGGBB (little-endian), 16 bytes per point.
POINT_DTYPE = np.dtype([('x', '<f4'), ('y', '<f4'), ('z', '<f4'), ('rgb', '<u4')])
POINT_FIELDS = [PointField(name=name, offset=offset, datatype=PointField.FLOAT32, count=1)
                for name, offset in (('x', 0), ('y', 4), ('z', 8), ('rgb', 12))]


def pointcloud_to_msg(points: np.ndarray, colors: np.ndarray, header: Header) -> PointCloud2:
    """An unorganised sensor_msgs/PointCloud2 (fields x, y, z, rgb) of (N, 3) points and (N, 3) uint8 RGB."""
    points = np.asarray(points)
    colors = np.asarray(colors)
    if points.ndim != 2 or points.shape[1] != 3 or colors.shape != points.shape or colors.dtype != np.uint8:
        raise ValueError(f'need (N, 3) points and (N, 3) uint8 colours, got {points.shape} and '
                         f'{colors.shape} {colors.dtype}')
    packed = np.empty(points.shape[0], POINT_DTYPE)
    packed['x'], packed['y'], packed['z'] = points[:, 0], points[:, 1], points[:, 2]
    rgb = colors.astype(np.uint32)
    packed['rgb'] = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    return PointCloud2(header=header, height=1, width=points.shape[0], fields=POINT_FIELDS, is_bigendian=False,
                       point_step=POINT_DTYPE.itemsize, row_step=POINT_DTYPE.itemsize * points.shape[0],
                       data=packed.tobytes(), is_dense=bool(np.isfinite(points).all()))


def msg_to_pointcloud(msg: PointCloud2) -> tuple[np.ndarray, np.ndarray]:
    """(points float32 (N, 3), colors uint8 (N, 3)) of a PointCloud2 with float32 x, y, z and rgb fields.

    Other fields and padding are skipped; a cloud without rgb gets black colours.
    """
    offsets = {field.name: field for field in msg.fields}
    missing = [name for name in 'xyz' if name not in offsets]
    if missing or any(offsets[name].datatype != PointField.FLOAT32 for name in 'xyz'):
        raise ValueError(f'point cloud needs float32 fields x, y, z; has {sorted(offsets)}')
    count = msg.width * msg.height
    if msg.point_step * count > len(msg.data) or (msg.height > 1 and msg.row_step != msg.width * msg.point_step):
        raise ValueError(f'point cloud of {count} points with point_step {msg.point_step} and row_step '
                         f'{msg.row_step} does not fit its {len(msg.data)} bytes')
    order = '>' if msg.is_bigendian else '<'
    names = [name for name in ('x', 'y', 'z', 'rgb') if name in offsets]
    layout = np.dtype({'names': names, 'formats': [order + ('u4' if n == 'rgb' else 'f4') for n in names],
                       'offsets': [offsets[n].offset for n in names], 'itemsize': msg.point_step})
    array = np.frombuffer(bytes(msg.data), dtype=layout, count=count)
    points = np.column_stack([array['x'], array['y'], array['z']]).astype(np.float32)
    colors = np.zeros((count, 3), np.uint8)
    if 'rgb' in names:
        rgb = array['rgb'].astype(np.uint32)
        colors[:, 0], colors[:, 1], colors[:, 2] = (rgb >> 16) & 0xFF, (rgb >> 8) & 0xFF, rgb & 0xFF
    return points, colors

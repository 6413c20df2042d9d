# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Project an RGB-D frame into an orthographic top-down colour and height heightmap.

Every pixel with a valid depth is back-projected with the pinhole intrinsics K (OpenCV camera frame:
x right, y down, z forward; depth is the z coordinate), moved into the robot base frame with the 4x4
camera-to-base pose, and kept when it falls inside the workspace box. Each heightmap cell then holds
the HIGHEST point that landed in it (what a camera looking straight down would see): its height above
workspace.z_min and its colour. Cells that no point reached stay 0 (height) and black (colour).

The work is O(pixels), vectorised and sort-free:

1. Back-projection is one multiply-add per coordinate. For a given K, image size, camera pose and
   workspace, the per-pixel coefficients that turn a depth in metres into the point's fractional heightmap
   column, row and height are computed once and cached (`ray_coefficients`).
2. The cell of every point comes from truncating casts, and one boolean mask (an unsigned compare per axis)
   keeps the points inside the box; only those are gathered.
3. The highest point per cell is ONE `np.maximum.at` over int64 keys that pack the point's height above
   the box floor (a non-negative float32, whose bit pattern orders like its value) above its pixel index:
   the maximum key per cell gives both the top height and, on exact ties, the largest pixel index.

`workspace_points` (steps 1 and 2) is shared with multi-view fusion (`fusion.py`) and point clouds
(`pointcloud.py`); `highest_per_cell` (step 3) with fusion.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.workspace import Workspace

# Points this far (metres) below the table surface are still kept (their height is clipped to 0), so
# depth noise on the table does not punch black holes into the colour heightmap.
DEFAULT_TABLE_TOLERANCE = 0.01


@dataclass
class HeightmapResult:
    """A projected heightmap with the bookkeeping needed to judge it.

    color: (rows, cols, 3) uint8 RGB of the highest point per cell, black where empty.
    height: (rows, cols) float32 metres above workspace.z_min, 0 where empty.
    valid: (rows, cols) bool, the cells at least one depth point fell into.
    workspace: the workspace (with the resolution actually used).
    num_valid_depth: pixels whose depth was usable (finite and positive).
    num_points: of those, the points that fell inside the workspace box.
    """

    color: np.ndarray
    height: np.ndarray
    valid: np.ndarray
    workspace: Workspace
    num_valid_depth: int
    num_points: int

    def to_heightmap(self, stamp_ns: int = 0) -> Heightmap:
        """The colour and height images as a Heightmap."""
        return Heightmap(color=self.color, height=self.height, workspace=self.workspace, stamp_ns=stamp_ns)


def check_intrinsics(intrinsics: np.ndarray) -> np.ndarray:
    """`intrinsics` as a float 3x3 pinhole matrix K; raises ValueError saying what is wrong with it."""
    intrinsics = np.asarray(intrinsics, dtype=np.float64)
    if intrinsics.shape != (3, 3):
        raise ValueError(f'intrinsics K must be 3x3, got shape {intrinsics.shape}')
    if not np.all(np.isfinite(intrinsics)):
        raise ValueError('intrinsics K contains NaN or infinite values')
    if not (intrinsics[0, 0] > 0 and intrinsics[1, 1] > 0 and np.allclose(intrinsics[2], [0.0, 0.0, 1.0])):
        raise ValueError(f'intrinsics K must have positive fx, fy and last row [0, 0, 1], got {intrinsics.tolist()}')
    return intrinsics


def check_camera_pose(camera_pose: np.ndarray) -> np.ndarray:
    """`camera_pose` as a float 4x4 rigid transform; raises ValueError saying what is wrong with it."""
    camera_pose = np.asarray(camera_pose, dtype=np.float64)
    if camera_pose.shape != (4, 4):
        raise ValueError(f'camera pose must be a 4x4 homogeneous transform, got shape {camera_pose.shape}')
    if not np.all(np.isfinite(camera_pose)):
        raise ValueError('camera pose contains NaN or infinite values')
    if not np.allclose(camera_pose[3], [0.0, 0.0, 0.0, 1.0]):
        raise ValueError(f'camera pose last row must be [0, 0, 0, 1], got {camera_pose[3].tolist()}')
    rotation = camera_pose[:3, :3]
    if not (np.allclose(rotation.T @ rotation, np.eye(3), atol=1e-3) and np.linalg.det(rotation) > 0):
        raise ValueError('camera pose rotation block is not a proper rotation (orthonormal, det +1)')
    return camera_pose


def check_images(color: np.ndarray, depth: np.ndarray) -> None:
    """Raise ValueError saying what is wrong unless color is (H, W, 3) uint8 and depth an aligned (H, W) image."""
    if depth.ndim != 2:
        raise ValueError(f'depth must be a 2-D (H, W) image, got shape {depth.shape}')
    if color.ndim != 3 or color.shape[2] != 3:
        raise ValueError(f'color must be an (H, W, 3) RGB image, got shape {color.shape}')
    if color.shape[:2] != depth.shape:
        raise ValueError(f'color size {color.shape[1]}x{color.shape[0]} (WxH) does not match depth size '
                         f'{depth.shape[1]}x{depth.shape[0]}; the depth must be aligned to the colour image')
    if color.dtype != np.uint8:
        raise ValueError(f'color must be uint8, got {color.dtype}')
    if not (np.issubdtype(depth.dtype, np.floating) or np.issubdtype(depth.dtype, np.unsignedinteger)):
        raise ValueError(f'depth must be float metres or unsigned-integer millimetres, got {depth.dtype}')


# Columns and rows are computed shifted by this many cells, so that a point inside the box has both >= 1:
# truncating casts to int then floor them. Unshifted again, anything before the box (and NaN or infinities,
# which casts turn into INT_MIN, INT_MAX or 0) is negative, i.e. huge unsigned: one unsigned compare per axis.
_SHIFT = 1
_INF_BITS = np.float32(np.inf).view(np.uint32)


@lru_cache(maxsize=8)
def _cached_coefficients(intrinsics: bytes, camera_pose: bytes, height: int, width: int, workspace: Workspace,
                         table_tolerance: float, shift: float) -> tuple[np.ndarray, np.ndarray]:
    k = np.frombuffer(intrinsics, dtype=np.float64).reshape(3, 3)
    pose = np.frombuffer(camera_pose, dtype=np.float64).reshape(4, 4)
    floor = workspace.z_min - table_tolerance
    # Base point = depth * R K^-1 [u, v, 1] + t; grid coordinates = (point - origin) / [res, res, 1].
    to_grid = np.diag([1.0 / workspace.resolution, 1.0 / workspace.resolution, 1.0])
    matrix = to_grid @ pose[:3, :3] @ np.linalg.inv(k)
    offsets = to_grid @ (pose[:3, 3] - [workspace.x_min, workspace.y_min, floor]) + [shift, shift, 0.0]
    u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    pixels = np.stack([u.ravel(), v.ravel(), np.ones(height * width)])
    coefficients = (matrix @ pixels).astype(np.float32)
    coefficients.setflags(write=False)
    offsets = offsets.astype(np.float32)
    offsets.setflags(write=False)
    return coefficients, offsets


def ray_coefficients(intrinsics: np.ndarray, camera_pose: np.ndarray, image_shape: tuple[int, int],
                     workspace: Workspace, table_tolerance: float = DEFAULT_TABLE_TOLERANCE,
                     shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel coefficients from depth to heightmap grid coordinates (cached, read-only arrays).

    For the pixel with flat (row-major) index p and depth d (metres), the point it sees has
    `grid = d * coefficients[:, p] + offsets`: its fractional heightmap column (x - x_min) / resolution + shift,
    fractional row (y - y_min) / resolution + shift, and its height above the box floor z_min - table_tolerance
    in metres. coefficients is (3, H * W) float32, offsets (3,) float32. The last 8 configurations are
    cached, so a camera whose K and pose stay put pays for this once.
    """
    intrinsics = np.ascontiguousarray(intrinsics, dtype=np.float64)
    camera_pose = np.ascontiguousarray(camera_pose, dtype=np.float64)
    return _cached_coefficients(intrinsics.tobytes(), camera_pose.tobytes(), int(image_shape[0]),
                                int(image_shape[1]), workspace, float(table_tolerance), float(shift))


@dataclass
class WorkspacePoints:
    """The depth pixels of one frame whose points lie inside the workspace box.

    pixels: (n,) int64 flat (row-major) indices of the pixels, increasing.
    cells: (n,) int32 flat index (row * cols + col) of the heightmap cell of each point.
    lift: (n,) float32 height above the box floor z_min - table_tolerance, metres, >= +0.0.
    """

    pixels: np.ndarray
    cells: np.ndarray
    lift: np.ndarray
    workspace: Workspace
    table_tolerance: float
    num_valid_depth: int
    """Pixels whose depth was usable (finite and positive), inside the box or not."""
    grid: tuple[np.ndarray, np.ndarray] = field(repr=False)
    """Shifted fractional column and row of EVERY pixel (the whole image), for `base_points`."""

    def base_points(self) -> np.ndarray:
        """(n, 3) float32 base-frame positions of the points, metres."""
        ws = self.workspace
        resolution = np.float32(ws.resolution)
        points = np.empty((self.pixels.size, 3), np.float32)
        points[:, 0] = self.grid[0].take(self.pixels) * resolution + np.float32(ws.x_min - _SHIFT * ws.resolution)
        points[:, 1] = self.grid[1].take(self.pixels) * resolution + np.float32(ws.y_min - _SHIFT * ws.resolution)
        points[:, 2] = self.lift + np.float32(ws.z_min - self.table_tolerance)
        return points


def workspace_points(depth: np.ndarray, intrinsics: np.ndarray, camera_pose: np.ndarray, workspace: Workspace,
                     depth_scale: float | None = None,
                     table_tolerance: float = DEFAULT_TABLE_TOLERANCE) -> WorkspacePoints:
    """Back-project a depth image and keep the points inside the workspace box (z down to the tolerance).

    `depth` is float metres or unsigned-integer units of `depth_scale` metres (None: 0.001 for integers,
    1.0 for floats); zero, negative, NaN and infinite depths are ignored. K and the pose must already be
    checked (`check_intrinsics`, `check_camera_pose`).
    """
    floating = np.issubdtype(depth.dtype, np.floating)
    if depth_scale is None:
        depth_scale = 1.0 if floating else 0.001
    coefficients, offsets = ray_coefficients(intrinsics, camera_pose, depth.shape, workspace, table_tolerance,
                                             float(_SHIFT))
    rows, cols = workspace.shape
    d = depth.astype(np.float32, copy=False).ravel()
    if depth_scale != 1.0:  # metres first, so that millimetres and metres give the same points
        d = d * np.float32(depth_scale)
    # The bit pattern of a float32 read as uint32 orders like the value for +0.0 ... +inf, and puts NaN above
    # +inf and every negative number above those: finite and positive <=> 0 < bits < bits(+inf).
    inside = d.view(np.uint32) - np.uint32(1) < _INF_BITS - 1
    num_valid_depth = int(np.count_nonzero(inside))
    with np.errstate(invalid='ignore', over='ignore'):  # inf * 0, and casts of NaN and inf
        col = d * coefficients[0]
        col += offsets[0]
        row = d * coefficients[1]
        row += offsets[1]
        lift = d * coefficients[2]
        lift += offsets[2]
        cell = row.astype(np.int32)
        cell_col = col.astype(np.int32)
    cell -= _SHIFT
    cell_col -= _SHIFT
    inside &= cell.view(np.uint32) < rows  # negative rows wrap around to huge unsigned numbers
    inside &= cell_col.view(np.uint32) < cols
    # 0 <= lift <= top of the box, in one compare of the bits (-0.0 and NaN fail it).
    inside &= lift.view(np.uint32) <= np.float32(workspace.z_max - workspace.z_min + table_tolerance).view(np.uint32)
    pixels = np.flatnonzero(inside)
    cell *= cols
    cell += cell_col
    return WorkspacePoints(pixels=pixels, cells=cell.take(pixels), lift=lift.take(pixels), workspace=workspace,
                           table_tolerance=float(table_tolerance), num_valid_depth=num_valid_depth, grid=(col, row))


def highest_per_cell(cells: np.ndarray, lift: np.ndarray, sources: np.ndarray,
                     num_cells: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The highest point of every cell, in one sort-free pass.

    Args:
        cells: (n,) flat cell index of each point, in [0, num_cells).
        lift: (n,) float32 height of each point, >= 0 (not -0.0).
        sources: (n,) non-negative int index of each point's pixel (< 2**32); exact ties of `lift` go to the
            largest source.
        num_cells: number of cells.

    Returns:
        valid (num_cells,) bool (a point landed in the cell), top (num_cells,) float32 highest lift
        (0 where not valid), source (num_cells,) int64 pixel of the highest point (0 where not valid).
    """
    # The bit pattern of a non-negative float32 orders like its value, so (lift bits << 32 | source) orders
    # points by height first and source second: the max key per cell names the winner.
    keys = lift.view(np.int32).astype(np.int64)
    keys <<= 32
    keys |= sources
    best = np.full(num_cells, -1, dtype=np.int64)
    np.maximum.at(best, cells, keys)
    valid = best >= 0
    np.maximum(best, 0, out=best)
    top = (best >> 32).astype(np.int32).view(np.float32)
    return valid, top, best & 0xFFFFFFFF


def assemble_result(color_rows: np.ndarray, valid: np.ndarray, top: np.ndarray, source: np.ndarray,
                    workspace: Workspace, table_tolerance: float, num_valid_depth: int,
                    num_points: int) -> HeightmapResult:
    """A HeightmapResult from `highest_per_cell` output and the (N, 3) uint8 colour rows `source` indexes."""
    rows, cols = workspace.shape
    # Empty cells have top 0 (so height 0) and source 0, whose colour the mask blanks.
    height = np.maximum(top - np.float32(table_tolerance), np.float32(0.0))
    color_map = np.take(color_rows, source, axis=0)
    color_map *= valid[:, None]
    return HeightmapResult(color=color_map.reshape(rows, cols, 3), height=height.reshape(rows, cols),
                           valid=valid.reshape(rows, cols), workspace=workspace,
                           num_valid_depth=num_valid_depth, num_points=num_points)


def project_rgbd(color: np.ndarray, depth: np.ndarray, intrinsics: np.ndarray, camera_pose: np.ndarray,
                 workspace: Workspace, resolution: float | None = None, *, depth_scale: float | None = None,
                 table_tolerance: float = DEFAULT_TABLE_TOLERANCE) -> HeightmapResult:
    """Project an aligned RGB-D frame into a top-down heightmap over `workspace`.

    Args:
        color: (H, W, 3) uint8 RGB image.
        depth: (H, W) depth aligned to `color`: float metres, or unsigned integers (millimetres by default).
            Zero, negative, NaN and infinite depths are ignored.
        intrinsics: 3x3 pinhole camera matrix K of the (colour) image.
        camera_pose: 4x4 transform from the OpenCV camera frame to the robot base frame.
        workspace: the box to cover; heights are measured from its z_min.
        resolution: cell size in metres overriding workspace.resolution (None keeps it).
        depth_scale: metres per depth unit; None means 0.001 for integer depth and 1.0 for float depth.
        table_tolerance: points down to this far below z_min still count (their height is clipped to 0).

    Returns:
        The colour/height heightmap, the mask of cells that received a point and point counts.

    Raises:
        ValueError: mismatched colour and depth sizes, or a malformed K or camera pose.
    """
    color = np.asarray(color)
    depth = np.asarray(depth)
    check_images(color, depth)
    intrinsics = check_intrinsics(intrinsics)
    camera_pose = check_camera_pose(camera_pose)
    workspace = with_resolution(workspace, resolution)
    points = workspace_points(depth, intrinsics, camera_pose, workspace, depth_scale, table_tolerance)
    rows, cols = workspace.shape
    valid, top, source = highest_per_cell(points.cells, points.lift, points.pixels, rows * cols)
    return assemble_result(color.reshape(-1, 3), valid, top, source, workspace, table_tolerance,
                           points.num_valid_depth, points.pixels.size)


def with_resolution(workspace: Workspace, resolution: float | None) -> Workspace:
    """`workspace` with its resolution replaced by `resolution` (unchanged when None or equal)."""
    if resolution is not None and resolution != workspace.resolution:
        return dataclasses.replace(workspace, resolution=float(resolution))
    return workspace


def heightmap_from_rgbd(color: np.ndarray, depth: np.ndarray, intrinsics: np.ndarray, camera_pose: np.ndarray,
                        workspace: Workspace, resolution: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The (color_heightmap, height_heightmap) of an RGB-D frame; see `project_rgbd` for the arguments."""
    result = project_rgbd(color, depth, intrinsics, camera_pose, workspace, resolution)
    return result.color, result.height


def make_heightmap(color: np.ndarray, depth: np.ndarray, intrinsics: np.ndarray, camera_pose: np.ndarray,
                   workspace: Workspace, resolution: float | None = None, stamp_ns: int = 0) -> Heightmap:
    """A Heightmap of an RGB-D frame (stamped `stamp_ns`); see `project_rgbd` for the arguments."""
    return project_rgbd(color, depth, intrinsics, camera_pose, workspace, resolution).to_heightmap(stamp_ns)

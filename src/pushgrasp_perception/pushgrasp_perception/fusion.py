# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Fuse several calibrated RGB-D views into one top-down heightmap: the highest point wins.

Each view is back-projected exactly as a single frame is (`projection.workspace_points`); the points of
all views then go through ONE highest-point-per-cell pass, so a cell shows the highest point any camera
saw there (on an exact tie, the later view's point). A cell one camera cannot see (hidden behind an
object, or out of its view) is filled by another that can. Cells no camera saw can optionally be filled
by a median filter of their neighbourhood (`fill_holes`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from pushgrasp_perception.projection import (DEFAULT_TABLE_TOLERANCE, HeightmapResult, assemble_result,
                                             check_camera_pose, check_images, check_intrinsics, highest_per_cell,
                                             with_resolution, workspace_points)
from pushgrasp_perception.workspace import Workspace


@dataclass
class CameraView:
    """One calibrated RGB-D frame.

    color: (H, W, 3) uint8 RGB; depth: (H, W) aligned to it, float metres or unsigned integers;
    intrinsics: 3x3 K; camera_pose: 4x4 camera (OpenCV optical frame) to base transform;
    depth_scale: metres per depth unit (None: 0.001 for integer depth, 1.0 for float depth).
    """

    color: np.ndarray
    depth: np.ndarray
    intrinsics: np.ndarray
    camera_pose: np.ndarray
    depth_scale: float | None = None


def fuse_heightmaps(views: list[CameraView], workspace: Workspace, resolution: float | None = None,
                    median_filter: int = 0, *,
                    table_tolerance: float = DEFAULT_TABLE_TOLERANCE) -> HeightmapResult:
    """One heightmap of `workspace` from several RGB-D views: each cell holds the highest point of any view.

    Args:
        views: the frames (at least one); image sizes may differ between views.
        workspace: the box to cover; heights are measured from its z_min.
        resolution: cell size in metres overriding workspace.resolution (None keeps it).
        median_filter: 0 for none, else the odd aperture (3, 5, ...) of a median filter that fills the cells no
            view saw (see `fill_holes`); cells that received a point are never changed.
        table_tolerance: points down to this far below z_min still count (their height is clipped to 0).

    Returns:
        The fused heightmap; `valid` marks the cells that received a point (before any filling),
        `num_valid_depth` and `num_points` are summed over the views.

    Raises:
        ValueError: no views, a malformed view (see `project_rgbd`), or a bad median_filter.
    """
    if not views:
        raise ValueError('fuse_heightmaps needs at least one view')
    workspace = with_resolution(workspace, resolution)
    rows, cols = workspace.shape
    cells, lifts, sources, color_rows = [], [], [], []
    num_valid_depth = offset = 0
    for index, view in enumerate(views):
        color, depth = np.asarray(view.color), np.asarray(view.depth)
        try:
            check_images(color, depth)
            intrinsics, pose = check_intrinsics(view.intrinsics), check_camera_pose(view.camera_pose)
        except ValueError as error:
            raise ValueError(f'view {index}: {error}') from error
        points = workspace_points(depth, intrinsics, pose, workspace, view.depth_scale, table_tolerance)
        cells.append(points.cells)
        lifts.append(points.lift)
        sources.append(points.pixels + offset)  # a pixel index into the concatenated colour rows
        color_rows.append(color.reshape(-1, 3))
        num_valid_depth += points.num_valid_depth
        offset += depth.size
    if offset >= 2 ** 32:
        raise ValueError(f'the views hold {offset} pixels together; at most 2**32 are supported')
    lift = np.concatenate(lifts)
    valid, top, source = highest_per_cell(np.concatenate(cells), lift, np.concatenate(sources), rows * cols)
    result = assemble_result(np.concatenate(color_rows), valid, top, source, workspace, table_tolerance,
                             num_valid_depth, lift.size)
    return fill_holes(result, median_filter) if median_filter else result


def fill_holes(result: HeightmapResult, aperture: int) -> HeightmapResult:
    """Fill the cells that received no point with the median of their `aperture` x `aperture` neighbourhood.

    Height and each colour channel are filtered separately. Empty cells (and cells beyond the border) count
    as 0 in a neighbourhood, so a hole is filled with seen values only where most of its neighbours were seen:
    single missing cells in a surface are closed, a large shadow stays empty. Cells with a point keep their
    values, and `valid` still marks only those.

    Raises:
        ValueError: an aperture that is not an odd number >= 3.
    """
    if aperture < 3 or aperture % 2 == 0:
        raise ValueError(f'median filter aperture must be an odd number >= 3, got {aperture}')
    holes = np.nonzero(~result.valid)
    if holes[0].size == 0:
        return result
    height = result.height.copy()
    height[holes] = median_at(result.height, holes, aperture)
    color = result.color.copy()
    color[holes] = median_at(result.color, holes, aperture)
    return dataclasses.replace(result, color=color, height=height)


def median_at(image: np.ndarray, cells: tuple[np.ndarray, np.ndarray], aperture: int) -> np.ndarray:
    """Median of each channel over the `aperture` x `aperture` neighbourhood of `cells` (zeros beyond the border).

    `image` is (rows, cols) float32 or (rows, cols, 3) uint8; `cells` are (row indices, column indices) as
    np.nonzero gives them. cv2.medianBlur does the work where it can (float32 up to aperture 5, uint8 any),
    else a numpy median of the neighbourhoods of just these cells; both give the same values.
    """
    margin = aperture // 2
    if image.dtype == np.uint8 or aperture <= 5:
        padded = cv2.copyMakeBorder(image, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=0)
        blurred = cv2.medianBlur(padded, aperture)[margin:-margin, margin:-margin]
        return blurred[cells]
    pad = [(margin, margin), (margin, margin)] + [(0, 0)] * (image.ndim - 2)
    windows = sliding_window_view(np.pad(image, pad), (aperture, aperture), axis=(0, 1))[cells]
    return np.median(windows.reshape(*windows.shape[:-2], -1), axis=-1).astype(image.dtype)

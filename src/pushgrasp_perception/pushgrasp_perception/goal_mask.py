# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Goal masks: the heightmap cells of the one object a goal-oriented task must pick.

A goal is given (pushgrasp_interfaces/SelectPrimitive's goal types, `GoalType` here) as

- GOAL_MASK: a mask image at heightmap resolution (`mask_from_image` checks it);
- GOAL_COLOR: a colour, a palette name ("red") or "R,G,B" in 0..255, found in the colour heightmap
  (`color_mask`): how the real robot names an object;
- GOAL_ID: an object's identity, simulation only: the heightmap of object indices the simulator
  projects from its segmentation render (`label_heightmap`, `pushgrasp_sim.env.PushGraspEnv.object_labels`).

`goal_mask_from_spec` turns any of them into a (rows, cols) bool mask; `goal_spec_from_message` reads
the goal fields of a SelectPrimitive goal (a node does `goal_mask_from_spec(goal_spec_from_message(goal),
heightmap, labels)`).

Colour segmentation, and why it works the way it does:

- Distance. A lit surface shows its paint colour scaled by how much light it gets: the simulator's
  colour heightmaps show the palette colours 0.7 to 1.4 times as bright depending on the face's slope (a
  real camera's exposure does the same), clipped at 255 where a channel saturates. A fixed colour space
  distance (RGB, or CIELAB whose lightness moves with the shading) cannot tell a brightly lit brown from
  grey or a dark pink from brown: on six rendered 10-object scenes the nearest palette colour by CIELAB
  distance gave a mean IoU of 0.35 with the true masks, 0.72 by a*b* alone. So the distance of a cell
  colour c to a reference colour p is the RGB distance to the best-matching exposure of p,
  `min over k in EXPOSURE_RANGE of |c - min(255, k p)|`, in 0..255 units like the tolerance of
  SelectPrimitive's goal_color_tolerance (mean IoU 0.96 on the same scenes, before clean-up).
- Competition. A palette colour given by name claims a cell only when it is also the nearest of the ten
  palette colours (several are close: brown, grey, pink and purple); an "R,G,B" colour, which may be
  anything, only needs the tolerance.
- Only cells at least `min_height` above the table are candidates (the table and empty cells never are).
- Clean-up, gentle on purpose: heightmaps of slanted faces are striped with one-cell rows that no camera
  pixel reached (empty cells), so an opening would erase whole faces. A 3x3 closing fills one-cell holes
  with object cells only (never empty ones); connected pieces are found on the mask dilated by one cell
  (so the stripes do not cut an object into bits), and pieces of fewer than `min_cells` cells are
  dropped (stray cells of a similar colour on other objects' edges). ALL remaining pieces are kept by
  default: an object partly covered by another is often seen in two pieces, and with the reference's
  distinct colour per object every piece of that colour is the goal (keeping only the largest piece cost
  up to half of such masks). When colours repeat (more than ten objects) every object of the colour is
  marked; `components='largest'` keeps only the biggest piece instead.
- Measured on rendered scenes (8 random 10-object scenes and the 13 challenging arrangements, 148
  objects): by palette name, mean IoU 0.975 with the simulator's masks, lowest 0.87. By "R,G,B" (no
  competition) the mean is 0.75 at the default tolerance: several palette colours lie within 25 of each
  other once shading is allowed for, so give an arbitrary colour with a tighter tolerance; an "R,G,B"
  that is exactly a palette colour is treated as that colour's name.

Plain Python (numpy, OpenCV): no ROS.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np

from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.image_codec import ImageConversionError, image_pixels
from pushgrasp_perception.palette import PALETTE, color_by_name
from pushgrasp_perception.projection import (
    DEFAULT_TABLE_TOLERANCE, check_camera_pose, check_intrinsics, highest_per_cell, workspace_points)
from pushgrasp_perception.workspace import Workspace

NO_LABEL = -1
"""Label of heightmap cells where no object is seen."""
DEFAULT_COLOR_TOLERANCE = 25.0
"""Largest shading-corrected RGB distance (0..255) of a goal-coloured cell, when none is given."""
EXPOSURE_RANGE = (0.3, 2.0)
"""Brightness factors k a reference colour may appear with (see the module docstring)."""
MIN_OBJECT_HEIGHT = 0.005
"""Metres above the table: lower cells are table, never the goal (the flattest block is 25 mm high)."""
MIN_COMPONENT_CELLS = 20
"""Smaller pieces of a colour mask are dropped (20 cells are 80 mm^2 at 2 mm; a block's top is >= 1200 mm^2)."""


class GoalType(enum.IntEnum):
    """How a goal object is given; the values are SelectPrimitive's GOAL_* constants."""

    NONE = 0
    MASK = 1
    COLOR = 2
    ID = 3


class GoalError(ValueError):
    """A goal that cannot be turned into a mask; the message says why."""


class GoalNotVisible(GoalError):
    """A well-formed goal that marks no heightmap cell (wrong colour, hidden or picked object)."""


# --- identity (simulation) -----------------------------------------------------------------------------
def label_heightmap(labels: np.ndarray, depth: np.ndarray, intrinsics: np.ndarray, camera_pose: np.ndarray,
                    workspace: Workspace, *, depth_scale: float | None = None,
                    table_tolerance: float = DEFAULT_TABLE_TOLERANCE) -> np.ndarray:
    """Project a per-pixel label image (e.g. object ids) into heightmap cells, as the colour is projected.

    Each cell takes the label of the pixel whose point is the highest in the cell: the very pixel whose
    colour `project_rgbd` puts in the colour heightmap (same projection, same tie rule), so label and
    colour heightmaps agree cell by cell. Cells no point reached are NO_LABEL (-1).

    Args:
        labels: (H, W) integer image aligned to `depth` (negative: no label).
        depth: (H, W) depth image, as for `project_rgbd`.
        intrinsics: 3x3 pinhole matrix K.
        camera_pose: 4x4 camera (OpenCV frame) to base transform.
        workspace: the heightmap's workspace.
        depth_scale: metres per depth unit, as for `project_rgbd`.
        table_tolerance: as for `project_rgbd`.

    Returns:
        (rows, cols) int32 labels.
    """
    labels = np.asarray(labels)
    depth = np.asarray(depth)
    if labels.ndim != 2 or labels.shape != depth.shape:
        raise ValueError(f'labels {labels.shape} must be a 2-D image of the depth image\'s size {depth.shape}')
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f'labels must be integers, got {labels.dtype}')
    intrinsics = check_intrinsics(intrinsics)
    camera_pose = check_camera_pose(camera_pose)
    points = workspace_points(depth, intrinsics, camera_pose, workspace, depth_scale, table_tolerance)
    rows, cols = workspace.shape
    valid, _, source = highest_per_cell(points.cells, points.lift, points.pixels, rows * cols)
    cells = labels.reshape(-1).astype(np.int32).take(source)
    cells[~valid] = NO_LABEL
    return cells.reshape(rows, cols)


def mask_from_labels(labels: np.ndarray, object_id: int) -> np.ndarray:
    """(rows, cols) bool: the cells labelled `object_id` in a `label_heightmap`; GoalError for a negative id."""
    if int(object_id) < 0:
        raise GoalError(f'goal object id must be >= 0, got {object_id}')
    labels = np.asarray(labels)
    if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer):
        raise GoalError(f'object labels must be a 2-D integer heightmap, got {labels.shape} {labels.dtype}')
    return labels == int(object_id)


# --- mask images ---------------------------------------------------------------------------------------
def mask_from_image(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(rows, cols) bool goal mask from a mask image (mono8: 0 background, 255 goal; 0/1 and bool also do).

    Raises GoalError when the image is not 2-D, not of the heightmap's `shape`, not uint8 or bool, or holds
    any value but 0 and one goal value (255 or 1).
    """
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim != 2:
        raise GoalError(f'goal mask must be a single-channel (mono8) image, got shape {image.shape}')
    if tuple(image.shape) != tuple(shape):
        raise GoalError(f'goal mask is {image.shape[1]}x{image.shape[0]} (WxH) but the heightmap is '
                        f'{shape[1]}x{shape[0]}: the mask must be at heightmap resolution')
    if image.dtype == bool:
        return image.copy()
    if image.dtype != np.uint8:
        raise GoalError(f'goal mask must be mono8 (uint8), got {image.dtype}')
    values = np.unique(image)
    goal_values = [int(v) for v in values if v != 0]
    if len(goal_values) > 1 or (goal_values and goal_values[0] not in (1, 255)):
        shown = ', '.join(str(int(v)) for v in values[:8]) + (', ...' if values.size > 8 else '')
        raise GoalError(f'goal mask must be binary, 0 for background and 255 (or 1) for the goal; '
                        f'it holds {shown}')
    return image != 0


# --- colours -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GoalColor:
    """A goal colour: 0..255 RGB, and its palette name when given by name."""

    rgb255: tuple[int, int, int]
    name: str | None = None

    def describe(self) -> str:
        """The colour as a user wrote it, for messages."""
        return self.name if self.name else ','.join(str(c) for c in self.rgb255)


_RGB_PATTERN = re.compile(r'^\s*(\d+(?:\.\d*)?)\s*,\s*(\d+(?:\.\d*)?)\s*,\s*(\d+(?:\.\d*)?)\s*$')


def parse_goal_color(text: str) -> GoalColor:
    """A GoalColor from a palette name ('red', any case) or 'R,G,B' with components in 0..255.

    An 'R,G,B' that is exactly a palette colour gets that colour's name (and so its competition).

    Raises GoalError naming the known colour names when `text` is neither.
    """
    text = str(text)
    match = _RGB_PATTERN.match(text)
    if match:
        values = [float(v) for v in match.groups()]
        if any(v > 255 for v in values):
            raise GoalError(f'goal colour {text!r}: R,G,B components must be in 0..255')
        rgb = (int(round(values[0])), int(round(values[1])), int(round(values[2])))
        named = [c.name for c in PALETTE if c.rgb255 == rgb]
        return GoalColor(rgb, named[0] if named else None)
    try:
        color = color_by_name(text)
    except KeyError:
        names = ', '.join(c.name for c in PALETTE)
        raise GoalError(f'goal colour {text!r} is neither a colour name ({names}) nor "R,G,B" in 0..255') from None
    return GoalColor(color.rgb255, color.name)


def shading_distance(colors: np.ndarray, references: np.ndarray,
                     exposure_range: tuple[float, float] = EXPOSURE_RANGE) -> np.ndarray:
    """(N, P) float32 distance of each colour to each reference, allowing for how brightly it is lit.

    The distance of colour c to reference p is `min over k in exposure_range of |c - min(255, k p)|`
    (RGB, 0..255 units); see the module docstring. Exact: between the exposures where a channel of k p
    reaches 255 the squared distance is a quadratic in k, minimised in closed form on each such piece.

    Args:
        colors: (N, 3) RGB in 0..255.
        references: (P, 3) RGB in 0..255.
        exposure_range: (lowest, highest) brightness factor k.
    """
    colors = np.asarray(colors, dtype=np.float64).reshape(-1, 3)
    references = np.asarray(references, dtype=np.float64).reshape(-1, 3)
    low, high = (float(v) for v in exposure_range)
    if not 0 < low <= high:
        raise ValueError(f'exposure range must satisfy 0 < low <= high, got {exposure_range}')
    best = np.full((colors.shape[0], references.shape[0]), np.inf)
    squares = colors ** 2
    saturated = (colors - 255.0) ** 2  # the squared error of a channel lit past 255 (clipped)
    for index, reference in enumerate(references):
        with np.errstate(divide='ignore'):
            clip_at = np.where(reference > 0, 255.0 / reference, np.inf)  # k where each channel saturates
        points = np.unique(np.clip(np.concatenate([[low, high], clip_at[np.isfinite(clip_at)]]), low, high))
        for start, end in list(zip(points[:-1], points[1:], strict=True)) or [(low, high)]:
            free = clip_at >= end  # channels not saturated anywhere on [start, end]
            norm = float(reference[free] @ reference[free])
            dot = colors[:, free] @ reference[free]
            k = np.clip(dot / norm, start, end) if norm > 0 else np.full(colors.shape[0], start)
            # |c_free - k p_free|^2 expanded, plus the clipped channels' constant error.
            error = squares[:, free].sum(axis=1) - 2.0 * k * dot + k * k * norm + saturated[:, ~free].sum(axis=1)
            np.minimum(best[:, index], error, out=best[:, index])
    np.maximum(best, 0.0, out=best)  # rounding of the expanded square
    return np.sqrt(best).astype(np.float32)


_KERNEL = np.ones((3, 3), np.uint8)


def clean_mask(mask: np.ndarray, allowed: np.ndarray | None = None, *, min_cells: int = MIN_COMPONENT_CELLS,
               components: Literal['all', 'largest'] = 'all') -> np.ndarray:
    """A raw colour segmentation `mask` cleaned up (see the module docstring).

    A 3x3 closing fills one-cell holes, but only with `allowed` cells (object cells, not empty ones); pieces
    are the connected components (8-connected) of the mask dilated by one cell, so one-cell gaps do not
    split an object; pieces with fewer than `min_cells` mask cells are dropped, and `components` 'largest'
    keeps only the piece with the most cells.
    """
    if components not in ('all', 'largest'):
        raise ValueError(f"components must be 'all' or 'largest', got {components!r}")
    image = cv2.morphologyEx(np.asarray(mask, dtype=np.uint8), cv2.MORPH_CLOSE, _KERNEL)
    if allowed is not None:
        image &= np.asarray(allowed, dtype=np.uint8)
    cleaned = image.astype(bool)
    count, pieces = cv2.connectedComponents(cv2.dilate(image, _KERNEL), connectivity=8)
    cells = np.bincount(pieces[cleaned], minlength=count)
    keep = cells >= min_cells
    keep[0] = False  # the background
    if components == 'largest' and keep.any():
        largest = int(np.argmax(np.where(keep, cells, -1)))
        keep[:] = False
        keep[largest] = True
    return keep[pieces] & cleaned


def color_mask(heightmap: Heightmap, color: str | GoalColor, tolerance: float | None = None, *,
               min_height: float = MIN_OBJECT_HEIGHT, min_cells: int = MIN_COMPONENT_CELLS,
               components: Literal['all', 'largest'] = 'all') -> np.ndarray:
    """(rows, cols) bool: the cells of `heightmap` showing an object of `color` (see the module docstring).

    Args:
        heightmap: the colour and height heightmap.
        color: a palette name, 'R,G,B' (0..255) or a GoalColor.
        tolerance: largest shading-corrected RGB distance (0..255); None or <= 0: DEFAULT_COLOR_TOLERANCE.
        min_height: cells lower than this (metres above the table) are never the goal.
        min_cells: smaller connected pieces are dropped.
        components: 'all' pieces of the colour, or only the 'largest'.

    Raises:
        GoalError: an unknown colour name or malformed 'R,G,B'.
    """
    goal = color if isinstance(color, GoalColor) else parse_goal_color(color)
    if tolerance is None or not tolerance > 0:
        tolerance = DEFAULT_COLOR_TOLERANCE
    candidates = heightmap.height >= min_height
    references = [goal.rgb255]
    if goal.name is not None:  # named palette colours compete with the other nine
        references += [c.rgb255 for c in PALETTE if c.name != goal.name]
    distance = shading_distance(heightmap.color[candidates], np.array(references))
    chosen = distance[:, 0] <= tolerance
    if len(references) > 1:
        chosen &= distance[:, 0] <= distance[:, 1:].min(axis=1)
    raw = np.zeros(heightmap.shape, dtype=bool)
    raw[candidates] = chosen
    return clean_mask(raw, candidates, min_cells=min_cells, components=components)


# --- one entry point -----------------------------------------------------------------------------------
@dataclass
class GoalSpec:
    """A goal as SelectPrimitive gives it: the type and the one field that type reads."""

    type: GoalType = GoalType.NONE
    mask: np.ndarray | None = None
    """GOAL_MASK: the mask image at heightmap resolution (mono8, 0 / 255)."""
    color: str = ''
    """GOAL_COLOR: a palette name or 'R,G,B' in 0..255."""
    color_tolerance: float = 0.0
    """GOAL_COLOR: largest colour distance (0..255); 0 means DEFAULT_COLOR_TOLERANCE."""
    object_id: int = -1
    """GOAL_ID: index of the goal object in the simulated scene."""

    def __post_init__(self) -> None:
        try:
            self.type = GoalType(int(self.type))
        except ValueError:
            known = ', '.join(f'{t.value} ({t.name})' for t in GoalType)
            raise GoalError(f'unknown goal type {self.type}; known: {known}') from None

    def describe(self) -> str:
        """The goal in words, for logs and messages."""
        if self.type == GoalType.MASK:
            return 'the given goal mask'
        if self.type == GoalType.COLOR:
            return f'the {self.color} object'
        if self.type == GoalType.ID:
            return f'object {self.object_id}'
        return 'no goal'


def goal_spec_from_message(goal: Any) -> GoalSpec:
    """The GoalSpec of a pushgrasp_interfaces/SelectPrimitive goal (read by field name: no ROS needed).

    Reads goal_type, goal_mask (decoded only for GOAL_MASK), goal_color, goal_color_tolerance and
    goal_object_id; GoalError for an unknown type or an undecodable mask image.
    """
    spec = GoalSpec(type=int(goal.goal_type), color=str(goal.goal_color),
                    color_tolerance=float(goal.goal_color_tolerance), object_id=int(goal.goal_object_id))
    if spec.type == GoalType.MASK and goal.goal_mask.width > 0:
        try:
            spec.mask = image_pixels(goal.goal_mask)
        except ImageConversionError as error:
            raise GoalError(f'goal mask image: {error}') from error
    return spec


def goal_mask_from_spec(spec: GoalSpec, heightmap: Heightmap, labels: np.ndarray | None = None, *,
                        allow_empty: bool = False) -> np.ndarray | None:
    """The (rows, cols) bool goal mask of `spec` on `heightmap`; None for GoalType.NONE (goal-agnostic).

    Args:
        spec: the goal.
        heightmap: the heightmap the policy will choose on (colour segmentation reads it).
        labels: GOAL_ID only: the object-index heightmap of the same scene (`label_heightmap`, or
            PushGraspEnv.object_labels in the simulator).
        allow_empty: return an empty mask instead of raising GoalNotVisible (e.g. a goal covered by others).

    Raises:
        GoalError: a malformed goal (bad mask image, unknown colour, negative id, GOAL_ID without labels,
            labels of another size).
        GoalNotVisible: the goal marks no cell and `allow_empty` is false.
    """
    if spec.type == GoalType.NONE:
        return None
    if spec.type == GoalType.MASK:
        if spec.mask is None or np.asarray(spec.mask).size == 0:
            raise GoalError('goal type GOAL_MASK needs a mask image, none was given')
        mask = mask_from_image(spec.mask, heightmap.shape)
    elif spec.type == GoalType.COLOR:
        if not str(spec.color).strip():
            raise GoalError('goal type GOAL_COLOR needs a colour name or "R,G,B", none was given')
        mask = color_mask(heightmap, spec.color, spec.color_tolerance)
    else:
        if labels is None:
            raise GoalError('goal type GOAL_ID needs the object labels of the scene (simulation only); '
                            'on a real robot give the goal as a colour or a mask')
        if np.shape(labels) != heightmap.shape:
            raise GoalError(f'object labels {np.shape(labels)} do not match the heightmap {heightmap.shape}')
        mask = mask_from_labels(labels, spec.object_id)
    if not allow_empty and not mask.any():
        if spec.type == GoalType.MASK:
            raise GoalNotVisible('the goal mask marks no cell (all zero)')
        raise GoalNotVisible(f'{spec.describe()} is not visible in the heightmap')
    return mask

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Turning push and grasp Q-maps into one primitive: the argmax over (primitive, rotation, pixel).

Q-maps are (num_rotations, rows, cols) float32 arrays on the heightmap grid; entry [i, r, c] is the
value of the primitive at pixel (r, c) with rotation i (see pushgrasp_control.primitives for what a
rotation means). Grasps at pixels with nothing underneath are never chosen, nor grasps with a finger coming down
beyond the heightmap edge onto an object that reaches the edge (`unseen_finger_grasps`), nor pushes that the
controller would refuse because the workspace edge margin leaves them (almost) no stroke (`pushable_mask`). With
`keep_pushes_inside`, a push is also cut short, or left out, where it would shove what lies ahead of it out of
the workspace or where it would touch nothing (`contained_push_strokes`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from pushgrasp_control.motion import (MIN_PUSH_STROKE, PUSH_EDGE_MARGIN, MotionLimits, push_stroke_map, pushable_map,
                                      shortest_push_stroke)
from pushgrasp_control.primitives import PUSH_LENGTH, Primitive, PrimitiveType, primitive_from_pixel, rotation_angle
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.workspace import Workspace

MIN_GRASP_HEIGHT = 0.01
"""Metres above the table below which a pixel counts as empty (no grasp there)."""
KEEP_PUSHES_INSIDE = 0.01
"""Metres: the default room pushed objects keep inside the workspace edge (`contained_push_strokes`)."""
PUSH_CORRIDOR_HALF_WIDTH = 0.012
"""Metres either side of a push's line in which objects count as in its way (the closed fingers are about
2 cm wide; a little more catches objects the fingertips graze)."""

PUSH_MIN_SHOVE = 0.005
"""Metres a push must carry the first thing in its corridor (in the pile model of `contained_push_strokes`) to
count as touching it: less would not change the scene (the scene-change threshold)."""
GRASP_FINGER_OFFSET = 0.047
"""Metres from the grasp centre to the middle of each finger pad along the jaw axis (the jaws open 85 mm, the
pads are about 1 cm thick)."""
GRASP_PAD_HALF_WIDTH = 0.011
"""Metres: half a finger's width across the jaw axis."""
UNSEEN_FINGER_TOLERANCE = 0.005
"""Metres an object beyond the edge may stand above the fingertips' depth before a finger counts as landing on it."""


@dataclass
class Decision:
    """The chosen primitive together with the Q-maps it was chosen from."""

    primitive: Primitive
    push_q: np.ndarray
    """(num_rotations, rows, cols) float32 push Q-values, as the policy produced them."""
    grasp_q: np.ndarray
    """(num_rotations, rows, cols) float32 grasp Q-values, as the policy produced them (unmasked)."""
    explored: bool = False
    """The primitive type was drawn at random (epsilon-greedy) instead of taken greedily."""
    goal_value: float | None = None
    """A goal-conditioned policy's grasp value of the goal when it decided (what its push/grasp switch compares
    with the threshold); None for other policies."""

    @property
    def best_push_q(self) -> np.ndarray:
        """(rows, cols) push Q-map: the best over rotations."""
        return self.push_q.max(axis=0)

    @property
    def best_grasp_q(self) -> np.ndarray:
        """(rows, cols) grasp Q-map: the best over rotations."""
        return self.grasp_q.max(axis=0)


def grasp_mask(heightmap: Heightmap, min_height: float = MIN_GRASP_HEIGHT) -> np.ndarray:
    """(rows, cols) bool: pixels with something at least `min_height` above the table to grasp."""
    return heightmap.height >= min_height


def _shifted(height: np.ndarray, d_row: int, d_col: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) each: the height at (r + d_row, c + d_col) for every cell (r, c), and whether that lies inside.

    Outside the heightmap the height is the nearest edge cell's.
    """
    rows, cols = height.shape
    r, c = np.arange(rows) + d_row, np.arange(cols) + d_col
    values = height[np.clip(r, 0, rows - 1)][:, np.clip(c, 0, cols - 1)]
    inside = ((r >= 0) & (r < rows))[:, None] & ((c >= 0) & (c < cols))[None]
    return values, inside


def sample_shifted(height: np.ndarray, angles: np.ndarray, distance: float, resolution: float,
                   outside: str = 'table') -> np.ndarray:
    """(len(angles), rows, cols): the height at p + distance * (cos a, sin a) for every angle a and pixel p.

    Columns run along +x and rows along +y. Cells outside the heightmap count as empty table (0) when
    `outside` is 'table', or as high as the nearest edge cell when it is 'edge' (the unseen continues).
    """
    if outside not in ('table', 'edge'):
        raise ValueError(f"outside must be 'table' or 'edge', got {outside!r}")
    d_col = np.rint(distance * np.cos(angles) / resolution).astype(np.int64)
    d_row = np.rint(distance * np.sin(angles) / resolution).astype(np.int64)
    samples = np.empty((len(d_row), *height.shape), dtype=height.dtype)
    for k in range(len(d_row)):
        values, inside = _shifted(height, int(d_row[k]), int(d_col[k]))
        samples[k] = values if outside == 'edge' else np.where(inside, values, 0)
    return samples


def unseen_finger_grasps(heightmap: Heightmap, num_rotations: int, limits: MotionLimits | None = None,
                         finger_offset: float = GRASP_FINGER_OFFSET, pad_half_width: float = GRASP_PAD_HALF_WIDTH,
                         tolerance: float = UNSEEN_FINGER_TOLERANCE) -> np.ndarray:
    """(num_rotations, rows, cols) bool: grasps with a finger coming down beyond the heightmap edge onto an object.

    The fingers go down to `limits.grasp_depth` below the surface at the grasp pixel (as `plan_primitive` does).
    Inside the heightmap the grasp Q-values can know what a finger meets; beyond its edge nothing is seen, and an
    object that reaches the edge may go on. A finger whose pad (its middle and both sides) lies out of view
    where the nearest edge cell is higher than the fingertips lands on that object, and the arm makes a
    protective stop: a failed action that the Q-values cannot learn to avoid, and that repeats on the next
    decision. Such a grasp is True here. Rotation i closes the jaws along (cos a_i, sin a_i) in the heightmap
    (columns along +x, rows along +y).
    """
    unseen_at = _unseen_finger_check(heightmap, num_rotations, limits, finger_offset, pad_half_width, tolerance)
    return np.stack([unseen_at(i) for i in range(num_rotations)])


def _unseen_finger_check(heightmap: Heightmap, num_rotations: int, limits: MotionLimits | None = None,
                         finger_offset: float = GRASP_FINGER_OFFSET, pad_half_width: float = GRASP_PAD_HALF_WIDTH,
                         tolerance: float = UNSEEN_FINGER_TOLERANCE) -> Callable[[int], np.ndarray]:
    """`unseen_finger_grasps` one rotation at a time: a function of the rotation giving its (rows, cols) bool.

    What does not depend on the rotation (the heights, the fingertips' depth) is computed once, here.
    """
    limits = limits or MotionLimits()
    height = np.nan_to_num(np.asarray(heightmap.height, dtype=np.float32))
    resolution = heightmap.workspace.resolution
    fingertips = np.maximum(height - limits.grasp_depth, limits.min_tcp_height)  # above the table, like `height`

    def unseen_at(rotation: int) -> np.ndarray:
        blocked = np.zeros(height.shape, dtype=bool)
        angle = rotation_angle(rotation, num_rotations)
        for side in (0.0, math.pi):
            for across in (-pad_half_width, 0.0, pad_half_width):
                # The point of the pad: finger_offset along the jaw axis, `across` to its left.
                dx = finger_offset * math.cos(angle + side) - across * math.sin(angle + side)
                dy = finger_offset * math.sin(angle + side) + across * math.cos(angle + side)
                beyond, seen = _shifted(height, int(np.rint(dy / resolution)), int(np.rint(dx / resolution)))
                blocked |= ~seen & (beyond > fingertips + tolerance)  # the nearest edge cell: the unseen continues
        return blocked
    return unseen_at


def pushable_mask(heightmap: Heightmap, num_rotations: int, push_length: float = PUSH_LENGTH,
                  push_edge_margin: float = PUSH_EDGE_MARGIN, min_push_stroke: float = MIN_PUSH_STROKE) -> np.ndarray:
    """(num_rotations, rows, cols) bool, read-only: pushes the controller executes with these settings.

    The controller's own rule (`pushgrasp_control.motion.pushable_map`, `MotionLimits`). False where the
    stroke, cut short `push_edge_margin` inside the workspace edges, would be shorter than `min_push_stroke`:
    a push that starts near an edge and points out of the workspace moves nothing, and `plan_primitive`
    refuses it.
    """
    return pushable_map(heightmap.workspace, num_rotations, push_length, push_edge_margin, min_push_stroke)


@functools.lru_cache(maxsize=4)
def _ray_frames(workspace: Workspace, num_rotations: int) -> tuple[int, list[tuple[np.ndarray, ...]], np.ndarray]:
    """Per rotation: the warp turning the heightmap so that pushes run along +columns, and where each ray lies.

    Returns (canvas size N; per rotation (2x3 inverse warp, canvas row of each cell, canvas column of each
    cell), the indices (rows, cols); (num_rotations, rows, cols) metres from each cell centre to the edge along
    the push).
    """
    rows, cols = workspace.shape
    size = int(math.ceil(math.hypot(rows, cols))) + 3
    centre, cy, cx = (size - 1) / 2.0, (rows - 1) / 2.0, (cols - 1) / 2.0
    r, c = np.mgrid[0:rows, 0:cols].astype(np.float64)
    to_edge = push_stroke_map(workspace, num_rotations, push_length=math.hypot(rows, cols) * workspace.resolution,
                              margin=0.0)
    frames = []
    for i in range(num_rotations):
        angle = rotation_angle(i, num_rotations)
        cos, sin = math.cos(angle), math.sin(angle)
        # Canvas (a, b) -> heightmap (col, row) = (cx, cy) + (a - centre) * (cos, sin) + (b - centre) * (-sin, cos):
        # moving along canvas +a is moving along the push direction (cos, sin) in (x, y) = (col, row).
        warp = np.array([[cos, -sin, cx - centre * cos + centre * sin],
                         [sin, cos, cy - centre * sin - centre * cos]])
        a = np.rint(centre + (c - cx) * cos + (r - cy) * sin).astype(np.intp)
        b = np.rint(centre - (c - cx) * sin + (r - cy) * cos).astype(np.intp)
        frames.append((warp, b, a))
    return size, frames, to_edge


@functools.lru_cache(maxsize=4)
def _front_cells(workspace: Workspace, num_rotations: int, keep_inside: float) -> tuple[np.ndarray, np.ndarray]:
    """The metres a push's pile front may reach from each cell, and the canvas column of the cell holding that point.

    Both (num_rotations, rows, cols), for `contained_push_strokes`.
    """
    size, frames, to_edge = _ray_frames(workspace, num_rotations)
    limit = np.maximum(to_edge - keep_inside, 0.0)
    steps = np.floor(limit / workspace.resolution + 0.5).astype(np.intp)
    cells = np.stack([np.minimum(a + steps[i], size - 1) for i, (_, _, a) in enumerate(frames)])
    return limit, cells


def contained_push_strokes(heightmap: Heightmap, num_rotations: int, push_length: float = PUSH_LENGTH,
                           push_edge_margin: float = PUSH_EDGE_MARGIN, keep_inside: float = KEEP_PUSHES_INSIDE,
                           corridor_half_width: float = PUSH_CORRIDOR_HALF_WIDTH,
                           min_height: float = MIN_GRASP_HEIGHT, only_touching: bool = False) -> np.ndarray:
    """(num_rotations, rows, cols) float: the stroke of each push that keeps what it shoves in the workspace.

    Along a push's corridor (`corridor_half_width` either side of its line; cells at least `min_height` tall are
    in the way) the fingers gather what they meet into a pile ahead of them: after a stroke s the pile ends where
    the free table passed reaches s, plus the run of material that starts there. The stroke is the controller's
    (`push_length` cut `push_edge_margin` inside the edges), shortened so that this front stays `keep_inside`
    inside the workspace edge: to the free table before that point, or, when a run of material lies across it,
    before that run. A push it leaves under the shortest stroke would shove material out. Material beyond the
    edge is unseen and does not count; a pile pushed sideways off the line is not modelled.

    With `only_touching`, a push whose (cut) stroke would not carry the first thing in its corridor
    `PUSH_MIN_SHOVE` gets stroke 0: it would change nothing (the reference method's way of wasting its last
    actions on the empty table beside blocks at the edge, and, once cut, of stopping short of them).
    """
    strokes = push_stroke_map(heightmap.workspace, num_rotations, push_length, push_edge_margin).copy()
    scan = _PushScan(heightmap, num_rotations, keep_inside, corridor_half_width, min_height)
    for i in range(num_rotations):
        strokes[i] = scan.strokes(i, strokes[i], only_touching)
    return strokes


class _PushScan:
    """`contained_push_strokes` one rotation at a time (so that a decision computes only the rotations it needs)."""

    def __init__(self, heightmap: Heightmap, num_rotations: int, keep_inside: float, corridor_half_width: float,
                 min_height: float) -> None:
        workspace = heightmap.workspace
        self.resolution = workspace.resolution
        self.size, self.frames, _ = _ray_frames(workspace, num_rotations)
        self.limits, self.cells = _front_cells(workspace, num_rotations, float(keep_inside))
        self.occupied = (np.nan_to_num(heightmap.height, nan=0.0) >= min_height).astype(np.uint8)
        half = max(0, int(round(corridor_half_width / self.resolution)))
        self.kernel = np.ones((2 * half + 1, 1), dtype=np.uint8)
        self.columns = np.broadcast_to(np.arange(self.size, dtype=np.int16), (self.size, self.size))
        self.ahead = np.zeros((self.size, self.size + 1), dtype=np.int32)  # cells in the way in canvas columns < a

    def strokes(self, i: int, controller_strokes: np.ndarray, only_touching: bool) -> np.ndarray:
        """(rows, cols): rotation i's strokes, the controller's `controller_strokes` cut (see the function)."""
        size, resolution, ahead = self.size, self.resolution, self.ahead
        warp, b, a = self.frames[i]
        turned = cv2.warpAffine(self.occupied, warp, (size, size), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        in_way = cv2.dilate(turned, self.kernel)  # (N, N): anything in the corridor across the push line
        np.cumsum(in_way, axis=1, out=ahead[:, 1:])
        # run_start[b, a]: where the run of material through cell a starts (a itself for a free cell).
        run_start = np.maximum.accumulate(np.where(in_way == 0, self.columns, np.int16(-1)), axis=1) + 1
        cell = self.cells[i]  # (rows, cols): the canvas column of the farthest point the pile front may reach
        blocked = in_way[b, cell] > 0
        stop = np.where(blocked, run_start[b, cell], cell + 1)  # the pile must end before column `stop`
        reach = np.where(blocked, (stop - a - 0.5) * resolution, self.limits[i])
        material = (ahead[b, stop] - ahead[b, np.minimum(a + 1, stop)]) * resolution
        strokes = np.minimum(controller_strokes, np.maximum(reach - material, 0.0))
        if only_touching:
            # Column k is met when its near side, (k - a - 0.5) cells ahead, is PUSH_MIN_SHOVE within the stroke.
            last = np.floor(a + 0.5 + (strokes - PUSH_MIN_SHOVE) / resolution).astype(np.intp)
            end = np.clip(last + 1, a + 1, size)
            met = ahead[b, end] - ahead[b, a + 1] > 0  # material in canvas columns a+1 .. end-1
            strokes = np.where(met, strokes, 0.0)
        return strokes


def _lazy_argmax(q: np.ndarray, allowed_at: Callable[[int], np.ndarray] | None) -> tuple[tuple[int, int, int],
                                                                                         float]:
    """The argmax of `q` over the entries `allowed_at(rotation)` ((rows, cols) bool) allows, and its value.

    The same (rotation, row, col) as the argmax of `q` masked by every rotation's mask (pixel first, then the
    lowest rotation), computing a rotation's mask only when the argmax lands in it. Value -inf: none allowed.
    `allowed_at` None: every entry is.
    """
    q = q.copy() if allowed_at is not None else q
    checked: set[int] = set()
    while True:
        # Pixel first, then rotation: ties resolve to the argmax of the best-over-rotations map.
        pixel = np.unravel_index(int(np.argmax(q.max(axis=0))), q.shape[1:])
        rotation = int(np.argmax(q[:, pixel[0], pixel[1]]))
        best = (rotation, int(pixel[0]), int(pixel[1]))
        value = float(q[best])
        if not np.isfinite(value) or allowed_at is None or rotation in checked:
            return best, value
        checked.add(rotation)
        q[rotation][~allowed_at(rotation)] = -np.inf


def _check_q_maps(push_q: np.ndarray, grasp_q: np.ndarray, heightmap: Heightmap) -> tuple[np.ndarray, np.ndarray]:
    push_q = np.asarray(push_q, dtype=np.float32)
    grasp_q = np.asarray(grasp_q, dtype=np.float32)
    if push_q.ndim != 3 or push_q.shape != grasp_q.shape:
        raise ValueError(f'Q-maps must both be (rotations, rows, cols); got {push_q.shape} and {grasp_q.shape}')
    if push_q.shape[0] < 1 or push_q.shape[1:] != heightmap.shape:
        raise ValueError(f'Q-maps of shape {push_q.shape} do not match the {heightmap.shape} heightmap')
    return push_q, grasp_q


def select_from_q_maps(push_q: np.ndarray, grasp_q: np.ndarray, heightmap: Heightmap, explore: bool = False,
                       rng: np.random.Generator | None = None, epsilon: float = 0.1, *,
                       push_length: float = PUSH_LENGTH, min_grasp_height: float = MIN_GRASP_HEIGHT,
                       push_edge_margin: float = PUSH_EDGE_MARGIN,
                       min_push_stroke: float = MIN_PUSH_STROKE,
                       keep_pushes_inside: float | None = None, guard_unseen_fingers: bool = True) -> Decision:
    """Choose the primitive with the highest Q-value over (primitive, rotation, pixel).

    Grasp pixels lower than `min_grasp_height`, with `guard_unseen_fingers` grasps in `unseen_finger_grasps`,
    pushes outside `pushable_mask` (with `push_edge_margin` and `min_push_stroke`, the controller's settings)
    and non-finite Q-values are never chosen. With `explore`,
    the primitive type is drawn uniformly at random with probability `epsilon` (from `rng`) and its best
    rotation and pixel are taken, as in the reference method; otherwise grasp wins only when its best
    value is strictly higher than the best push. Among equal values the pixel is the first (row-major)
    argmax of the best-over-rotations map and the rotation the lowest index reaching it. With
    `keep_pushes_inside` (metres), pushes are cut to `contained_push_strokes` and left out where that is
    shorter than the controller's shortest stroke or where they would touch nothing (`only_touching`). When
    these rules leave nothing to choose, the grasps are taken unguarded and the pushes whether or not they touch
    anything. Raises ValueError when the maps do not fit the heightmap or hold no choosable value.
    """
    push_q, grasp_q = _check_q_maps(push_q, grasp_q, heightmap)
    if explore and rng is None:
        raise ValueError('exploration needs a seeded np.random.Generator')
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f'epsilon must be in [0, 1], got {epsilon}')
    num_rotations = push_q.shape[0]
    pushable = pushable_mask(heightmap, num_rotations, push_length, push_edge_margin, min_push_stroke) \
        & np.isfinite(push_q)
    graspable = grasp_mask(heightmap, min_grasp_height)[None] & np.isfinite(grasp_q)
    push_candidates = np.where(pushable, push_q, -np.inf)
    grasp_candidates = np.where(graspable, grasp_q, -np.inf)
    # The rules that need a scan of the scene per rotation are computed only for the rotations the argmax lands
    # in (most decisions need one or two of the 16).
    strokes: dict[int, np.ndarray] = {}
    scan = None if keep_pushes_inside is None else _PushScan(heightmap, num_rotations, keep_pushes_inside,
                                                             PUSH_CORRIDOR_HALF_WIDTH, min_grasp_height)
    controller_strokes = push_stroke_map(heightmap.workspace, num_rotations, push_length, push_edge_margin)
    shortest = shortest_push_stroke(push_length, min_push_stroke)

    def contained(only_touching: bool) -> Callable[[int], np.ndarray]:
        def allowed_at(i: int) -> np.ndarray:
            strokes[i] = scan.strokes(i, controller_strokes[i], only_touching)
            return strokes[i] >= shortest
        return allowed_at

    unseen_at = _unseen_finger_check(heightmap, num_rotations) if guard_unseen_fingers else None

    def seen_fingers(i: int) -> np.ndarray:
        return ~unseen_at(i)

    best_pixel, best_value = {}, {}
    best_pixel[PrimitiveType.PUSH], best_value[PrimitiveType.PUSH] = _lazy_argmax(
        push_candidates, contained(True) if scan is not None else None)
    best_pixel[PrimitiveType.GRASP], best_value[PrimitiveType.GRASP] = _lazy_argmax(
        grasp_candidates, seen_fingers if guard_unseen_fingers else None)
    if not any(np.isfinite(v) for v in best_value.values()):  # the rules never leave the policy without a choice
        best_pixel[PrimitiveType.GRASP], best_value[PrimitiveType.GRASP] = _lazy_argmax(grasp_candidates, None)
        if scan is not None:  # pushes cut, whether or not they touch anything
            strokes.clear()
            untouched = _lazy_argmax(push_candidates, contained(False))
            best_pixel[PrimitiveType.PUSH], best_value[PrimitiveType.PUSH] = untouched
    valid = [kind for kind in (PrimitiveType.PUSH, PrimitiveType.GRASP) if np.isfinite(best_value[kind])]
    if not valid:
        raise ValueError('no primitive can be chosen: every Q-value is non-finite or masked')

    explored = False
    if explore and rng.random() < epsilon:
        kind = PrimitiveType(int(rng.integers(2)))
        explored = True
        if kind not in valid:  # e.g. no pixel is high enough to grasp
            kind = valid[0]
    elif len(valid) == 1:
        kind = valid[0]
    else:
        kind = PrimitiveType.GRASP if best_value[PrimitiveType.GRASP] > best_value[PrimitiveType.PUSH] \
            else PrimitiveType.PUSH

    rotation, row, col = best_pixel[kind]
    if kind == PrimitiveType.PUSH and scan is not None:
        push_length = min(push_length, float(strokes[rotation][row, col]))
    primitive = primitive_from_pixel(kind, rotation, row, col, heightmap.height, heightmap.workspace,
                                     num_rotations=push_q.shape[0], push_length=push_length,
                                     q_value=best_value[kind], stamp_ns=heightmap.stamp_ns)
    return Decision(primitive=primitive, push_q=push_q, grasp_q=grasp_q, explored=explored)

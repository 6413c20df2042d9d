# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Synthetic heightmaps of toy-block scenes, and saving/loading heightmaps as .npz files.

A synthetic scene is a few cuboid blocks from the benchmark object set (cube, plank, pillar lying or
standing) at random positions and yaws inside the workspace, drawn straight into the colour and height
images (no camera involved). Colours follow the benchmark's 10-colour palette in order. The same seed
always gives the same scene.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass

import numpy as np

from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.palette import PALETTE as BENCHMARK_PALETTE
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE, Workspace

# The benchmark's Tableau palette (pushgrasp_perception.palette), assigned in order to the objects of a scene.
PALETTE: tuple[tuple[int, int, int], ...] = tuple(color.rgb255 for color in BENCHMARK_PALETTE)


@dataclass(frozen=True)
class BlockShape:
    """A cuboid block of the benchmark set as it rests on the table: x, y footprint and z height (metres)."""

    name: str
    """File name of the shape in test-case files, e.g. '4.obj'."""
    size: tuple[float, float, float]


# The cuboid blocks of the benchmark object set (sizes from its block table), in the poses they can rest in.
BLOCK_SHAPES: tuple[BlockShape, ...] = (
    BlockShape('4.obj', (0.05, 0.05, 0.05)),   # cube
    BlockShape('3.obj', (0.10, 0.05, 0.025)),  # plank, flat
    BlockShape('6.obj', (0.10, 0.05, 0.05)),   # pillar, lying down
    BlockShape('6.obj', (0.05, 0.05, 0.10)),   # pillar, standing
)


@dataclass(frozen=True)
class PlacedBlock:
    """A block resting on the table at base-frame (x, y), turned by `yaw` radians about z."""

    shape: BlockShape
    color: tuple[int, int, int]
    x: float
    y: float
    yaw: float

    @property
    def radius(self) -> float:
        """Radius of the circle around the footprint (half its diagonal)."""
        return float(np.hypot(self.shape.size[0], self.shape.size[1]) / 2)

    def footprint_corners(self) -> np.ndarray:
        """The four (x, y) corners of the footprint in the base frame, shape (4, 2)."""
        half_x, half_y = self.shape.size[0] / 2, self.shape.size[1] / 2
        local = np.array([[-half_x, -half_y], [half_x, -half_y], [half_x, half_y], [-half_x, half_y]])
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        return local @ np.array([[c, s], [-s, c]]) + np.array([self.x, self.y])

    def covers(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Whether base-frame points (x, y) lie on the block's footprint."""
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        dx, dy = x - self.x, y - self.y
        return ((np.abs(c * dx + s * dy) <= self.shape.size[0] / 2)
                & (np.abs(-s * dx + c * dy) <= self.shape.size[1] / 2))


def sample_blocks(rng: np.random.Generator, num_objects: int, workspace: Workspace = DEFAULT_WORKSPACE,
                  margin: float = 0.02, attempts: int = 50) -> list[PlacedBlock]:
    """Place `num_objects` random blocks fully inside the workspace, at least `margin` from its edges.

    Each block tries `attempts` random positions and takes the first whose circumscribed circle is clear of
    all earlier blocks; when none is clear (a crowded scene) it takes the one with the most clearance.
    """
    if num_objects < 0:
        raise ValueError(f'num_objects must be >= 0, got {num_objects}')
    blocks: list[PlacedBlock] = []
    for index in range(num_objects):
        shape = BLOCK_SHAPES[int(rng.integers(len(BLOCK_SHAPES)))]
        radius = float(np.hypot(shape.size[0], shape.size[1]) / 2)
        low_x, high_x = workspace.x_min + margin + radius, workspace.x_max - margin - radius
        low_y, high_y = workspace.y_min + margin + radius, workspace.y_max - margin - radius
        if low_x > high_x or low_y > high_y:
            raise ValueError(f'workspace {workspace.bounds()} is too small for a {shape.size} block '
                             f'with a {margin} m margin')
        candidates = np.column_stack([rng.uniform(low_x, high_x, attempts), rng.uniform(low_y, high_y, attempts)])
        yaws = rng.uniform(0.0, np.pi, attempts)
        if blocks:
            centres = np.array([[b.x, b.y] for b in blocks])
            radii = np.array([b.radius for b in blocks])
            distances = np.linalg.norm(candidates[:, None, :] - centres[None, :, :], axis=-1)
            clearance = (distances - radii[None, :] - radius).min(axis=1)
            clear = np.flatnonzero(clearance >= 0)
            choice = int(clear[0]) if clear.size else int(np.argmax(clearance))
        else:
            choice = 0
        blocks.append(PlacedBlock(shape=shape, color=PALETTE[index % len(PALETTE)], x=float(candidates[choice, 0]),
                                  y=float(candidates[choice, 1]), yaw=float(yaws[choice])))
    return blocks


def render_blocks(blocks: list[PlacedBlock], workspace: Workspace = DEFAULT_WORKSPACE, goal: int | None = None,
                  table_color: tuple[int, int, int] = (0, 0, 0)) -> Heightmap:
    """Draw the blocks into a top-down heightmap; where they overlap the taller one is seen.

    With `goal` (an index into `blocks`) the heightmap's goal mask marks the cells where that block is seen.
    """
    if goal is not None and not 0 <= goal < len(blocks):
        raise ValueError(f'goal index {goal} is not one of the {len(blocks)} blocks')
    rows, cols = workspace.shape
    grid_x, grid_y = np.meshgrid(*workspace.cell_centres())  # row along +y, column along +x
    height = np.zeros((rows, cols), np.float32)
    color = np.empty((rows, cols, 3), np.uint8)
    color[:] = table_color
    owner = np.full((rows, cols), -1)
    for index, block in enumerate(blocks):
        seen = block.covers(grid_x, grid_y) & (height < block.shape.size[2])
        height[seen] = block.shape.size[2]
        color[seen] = block.color
        owner[seen] = index
    goal_mask = owner == goal if goal is not None else None
    return Heightmap(color=color, height=height, workspace=workspace, goal_mask=goal_mask)


def synthetic_heightmap(seed: int, num_objects: int = 5, workspace: Workspace = DEFAULT_WORKSPACE,
                        goal: int | None = None) -> Heightmap:
    """A heightmap of `num_objects` random blocks on an empty (black, height 0) table; the same for a seed."""
    rng = np.random.default_rng(seed)
    return render_blocks(sample_blocks(rng, num_objects, workspace), workspace, goal=goal)


def save_heightmap_npz(path: str | os.PathLike[str], heightmap: Heightmap) -> None:
    """Write a heightmap to `path` (exactly that name) as a compressed .npz archive."""
    arrays = {
        'color': heightmap.color,
        'height': heightmap.height,
        'bounds': np.array(heightmap.workspace.bounds(), np.float64),
        'resolution': np.array(heightmap.workspace.resolution, np.float64),
        'stamp_ns': np.array(heightmap.stamp_ns, np.int64),
    }
    if heightmap.goal_mask is not None:
        arrays['goal_mask'] = heightmap.goal_mask.astype(bool)
    with open(path, 'wb') as stream:
        np.savez_compressed(stream, **arrays)


def _read_arrays(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    name = os.fspath(path)
    with open(path, 'rb') as stream:
        signature = stream.read(4)
    if signature not in (b'PK\x03\x04', b'PK\x05\x06'):
        raise ValueError(f'{name}: not an .npz archive (no zip signature at the start of the file)')
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f'{name}: a damaged .npz archive or one holding non-array data ({error})') from error


def load_heightmap_npz(path: str | os.PathLike[str]) -> Heightmap:
    """Read a heightmap written by `save_heightmap_npz`.

    Raises:
        FileNotFoundError: there is no such file.
        ValueError: the file is not such an archive; the message names what is missing or malformed.
    """
    name = os.fspath(path)
    arrays = _read_arrays(path)
    missing = sorted({'color', 'height', 'bounds', 'resolution'} - set(arrays))
    if missing:
        raise ValueError(f'{name}: missing arrays {missing} (has {sorted(arrays)})')
    color, height, bounds, resolution = (arrays[k] for k in ('color', 'height', 'bounds', 'resolution'))
    if color.ndim != 3 or color.shape[2] != 3 or color.dtype != np.uint8:
        raise ValueError(f'{name}: color must be a (rows, cols, 3) uint8 array, got {color.shape} {color.dtype}')
    if height.ndim != 2 or not np.issubdtype(height.dtype, np.floating):
        raise ValueError(f'{name}: height must be a 2-D float array, got {height.shape} {height.dtype}')
    if not np.all(np.isfinite(height)):
        raise ValueError(f'{name}: height contains NaN or infinite values')
    if bounds.shape != (6,) or not np.issubdtype(bounds.dtype, np.number) or not np.all(np.isfinite(bounds)):
        raise ValueError(f'{name}: bounds must be 6 finite numbers [x_min, x_max, y_min, y_max, z_min, z_max], '
                         f'got {bounds!r}')
    if resolution.shape != () or not np.issubdtype(resolution.dtype, np.number):
        raise ValueError(f'{name}: resolution must be a single number, got {resolution!r}')
    goal_mask = arrays.get('goal_mask')
    if goal_mask is not None and goal_mask.dtype != bool:
        raise ValueError(f'{name}: goal_mask must be a bool array, got {goal_mask.dtype}')
    stamp = arrays.get('stamp_ns', np.array(0))
    if stamp.shape != () or not np.issubdtype(stamp.dtype, np.integer):
        raise ValueError(f'{name}: stamp_ns must be a single integer, got {stamp!r}')
    try:
        workspace = Workspace.from_list(bounds.tolist(), float(resolution))
        return Heightmap(color=color, height=height, workspace=workspace, goal_mask=goal_mask, stamp_ns=int(stamp))
    except ValueError as error:
        raise ValueError(f'{name}: {error}') from error

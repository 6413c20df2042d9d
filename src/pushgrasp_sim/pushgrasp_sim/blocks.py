# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The benchmark's toy blocks and colour palette, as plain data.

Each block shape is known by the file name the reference test-case files use ('0.obj' .. '8.obj'; there is
no '5.obj'). Its geometry lives in assets/objects.xml as one MJCF default class per collision geom; a
block body gets one geom per class listed in `BlockShape.geom_classes`. Sizes are those of the benchmark's
block table, in the block's own frame (origin at the centre of its bounding box, z up as it rests).
"""

from __future__ import annotations

from dataclasses import dataclass

# The palette lives in perception, which looks goal colours up in it; re-exported here for the scene code.
from pushgrasp_perception.palette import PALETTE, PaletteColor, color_name, palette_color  # noqa: F401


@dataclass(frozen=True)
class BlockShape:
    """One of the eight toy-block shapes."""

    name: str
    """Name in test-case files, e.g. '4.obj'."""
    kind: str
    """Readable kind, e.g. 'cube'; also used in geom names."""
    size_mm: tuple[float, float, float]
    """Bounding-box dimensions in millimetres (x, y, z), in the block frame."""
    geom_classes: tuple[str, ...]
    """The MJCF default classes (assets/objects.xml) of the block's geoms, one geom each."""

    @property
    def size(self) -> tuple[float, float, float]:
        """Bounding-box dimensions in metres, x by y by z."""
        return (self.size_mm[0] / 1000.0, self.size_mm[1] / 1000.0, self.size_mm[2] / 1000.0)

    @property
    def half_extents(self) -> tuple[float, float, float]:
        """Half the bounding-box size in metres."""
        return (self.size_mm[0] / 2000.0, self.size_mm[1] / 2000.0, self.size_mm[2] / 2000.0)

    @property
    def bounding_radius(self) -> float:
        """Radius (metres) of the sphere around the bounding box, centred on the block frame."""
        return float(sum(h * h for h in self.half_extents) ** 0.5)


_ARCH_CLASSES = ('block_arch_side', 'block_arch_shoulder', 'block_arch_crown',
                 'block_arch_crown_mirrored', 'block_arch_shoulder_mirrored', 'block_arch_side_mirrored')

BLOCK_SHAPES: tuple[BlockShape, ...] = (
    BlockShape('0.obj', 'roof', (93.0, 50.0, 49.0), ('block_roof',)),
    BlockShape('1.obj', 'arch', (100.0, 50.0, 50.0), _ARCH_CLASSES),
    BlockShape('2.obj', 'slanted', (25.0, 60.0, 60.0), ('block_slanted',)),
    BlockShape('3.obj', 'plank', (100.0, 50.0, 25.0), ('block_plank',)),
    BlockShape('4.obj', 'cube', (50.0, 50.0, 50.0), ('block_cube',)),
    BlockShape('6.obj', 'pillar', (50.0, 50.0, 100.0), ('block_pillar',)),
    BlockShape('7.obj', 'half_cylinder', (50.0, 50.0, 25.0), ('block_half_cylinder',)),
    BlockShape('8.obj', 'cylinder', (45.0, 45.0, 50.0), ('block_cylinder',)),
)
"""The eight shapes, in the order of their names."""

SHAPES_BY_NAME: dict[str, BlockShape] = {shape.name: shape for shape in BLOCK_SHAPES}
SHAPES_BY_KIND: dict[str, BlockShape] = {shape.kind: shape for shape in BLOCK_SHAPES}
SHAPE_NAMES: tuple[str, ...] = tuple(shape.name for shape in BLOCK_SHAPES)


def block_shape(name_or_kind: str) -> BlockShape:
    """The shape called `name_or_kind` ('4.obj' or 'cube'); KeyError naming the known shapes otherwise."""
    shape = SHAPES_BY_NAME.get(name_or_kind) or SHAPES_BY_KIND.get(name_or_kind)
    if shape is None:
        raise KeyError(f'unknown block shape {name_or_kind!r}; known: {", ".join(SHAPE_NAMES)} '
                       f'({", ".join(SHAPES_BY_KIND)})')
    return shape


PALETTE_RGB255: tuple[tuple[int, int, int], ...] = tuple(color.rgb255 for color in PALETTE)
PALETTE_RGB: tuple[tuple[float, float, float], ...] = tuple(color.rgb for color in PALETTE)

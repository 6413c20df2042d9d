# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The benchmark's 10-colour palette, with the names a user calls the objects by ("red", "blue", ...).

The reference systems paint their toy blocks with the Tableau 10 palette and assign the colours in
order to the objects of a scene. The simulator draws its objects with these colours
(pushgrasp_sim.blocks re-exports them) and a goal given as a colour name is looked up here
(pushgrasp_perception.goal_mask).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PaletteColor:
    """A colour of the benchmark palette."""

    name: str
    rgb255: tuple[int, int, int]

    @property
    def rgb(self) -> tuple[float, float, float]:
        """The colour with components in 0..1."""
        return (self.rgb255[0] / 255.0, self.rgb255[1] / 255.0, self.rgb255[2] / 255.0)


PALETTE: tuple[PaletteColor, ...] = (
    PaletteColor('blue', (78, 121, 167)),
    PaletteColor('green', (89, 161, 79)),
    PaletteColor('brown', (156, 117, 95)),
    PaletteColor('orange', (242, 142, 43)),
    PaletteColor('yellow', (237, 201, 72)),
    PaletteColor('grey', (186, 176, 172)),
    PaletteColor('red', (255, 87, 89)),
    PaletteColor('purple', (176, 122, 161)),
    PaletteColor('cyan', (118, 183, 178)),
    PaletteColor('pink', (255, 157, 167)),
)
"""The 10-colour Tableau palette, assigned in order to the objects of a scene."""

PALETTE_BY_NAME: dict[str, PaletteColor] = {color.name: color for color in PALETTE}
COLOR_NAMES: tuple[str, ...] = tuple(color.name for color in PALETTE)
# Other spellings users type.
_ALIASES = {'gray': 'grey'}


def palette_color(index: int) -> PaletteColor:
    """The colour of the `index`-th object of a scene (the palette repeats after 10 objects)."""
    return PALETTE[index % len(PALETTE)]


def color_by_name(name: str) -> PaletteColor:
    """The palette colour called `name` (any case, 'gray' for 'grey'); KeyError naming the known ones."""
    key = name.strip().lower()
    color = PALETTE_BY_NAME.get(_ALIASES.get(key, key))
    if color is None:
        raise KeyError(f'unknown colour name {name!r}; known: {", ".join(COLOR_NAMES)}')
    return color


def color_name(rgb01: Sequence[float], tolerance: float = 1.5 / 255.0) -> str | None:
    """The name of the palette colour `rgb01` (0..1 components) is, or None when it is none of them.

    Every component must be within `tolerance` of the palette colour's: test-case files write the
    palette colours with six decimals.
    """
    for color in PALETTE:
        if all(abs(float(a) - b) <= tolerance for a, b in zip(rgb01, color.rgb, strict=True)):
            return color.name
    return None

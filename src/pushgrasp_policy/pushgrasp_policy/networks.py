# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Fully convolutional push and grasp Q-networks over colour + height heightmaps (PyTorch, CPU-first).

As in the reference method, the heightmap is rotated so that rotation i's push direction (and jaw
axis) points along +columns, the network scores every pixel of the rotated image, and the Q-map is
rotated back: one image per rotation, all rotations in one batched pass. Unlike the reference (two
ImageNet-pretrained DenseNet-121 trunks per network at twice the heightmap resolution), the default
trunk is small and trained from scratch, and works at half the heightmap resolution; its output
(a 16 mm grid, finer than the reference's) is bilinearly upsampled to the heightmap grid.

Extra input channels (`QNetConfig.extra_channels`, e.g. the goal mask of the goal-conditioned networks,
pushgrasp_policy.goal_agent) are pooled like colour and concatenated after colour and height; they are
rotated with the heightmap, so a goal keeps its place relative to the objects in every rotation.

Rotation i of n has angle a = 2*pi*i/n (pushgrasp_control.primitives): base-frame direction
(cos a, sin a), i.e. (d_col, d_row) on the heightmap (columns along +x, rows along +y).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pushgrasp_control.primitives import NUM_ROTATIONS


@dataclass(frozen=True)
class QNetConfig:
    """The architecture of a push-grasp Q-network (stored in checkpoints)."""

    trunk: str = 'dilated'
    """Trunk architecture, a key of TRUNKS."""
    width: int = 32
    """Channels of the trunk's first stage (later stages use multiples)."""
    shared_trunk: bool = True
    """One trunk with a push head and a grasp head; False gives each primitive its own trunk (reference)."""
    input_stride: int = 2
    """The heightmap is downsampled by this factor before the network (2: 4 mm cells)."""
    num_rotations: int = NUM_ROTATIONS
    height_scale: float = 0.1
    """Metres per unit of the height input."""
    max_height: float = 0.3
    """Heights are clipped to this many metres."""
    extra_channels: int = 0
    """Input channels after colour and height: 0 for the goal-agnostic networks, 1 for the goal mask.
    (Checkpoints written before this setting existed have none, which is what its default reads.)"""

    def __post_init__(self) -> None:
        if self.trunk not in TRUNKS:
            raise ValueError(f'unknown trunk {self.trunk!r}; known: {", ".join(TRUNKS)}')
        if self.width < 1 or self.input_stride < 1 or self.num_rotations < 1:
            raise ValueError(f'width, input_stride and num_rotations must be positive: {self}')
        if self.extra_channels < 0:
            raise ValueError(f'extra_channels must be >= 0: {self}')

    def to_dict(self) -> dict:
        """Plain values, for checkpoints."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> QNetConfig:
        """The config saved by `to_dict`; ValueError for unknown or missing keys."""
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f'unknown network settings {sorted(unknown)}')
        return cls(**values)


def _conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation),
                         nn.ReLU(inplace=True))


class DilatedTrunk(nn.Sequential):
    """Two stride-2 stages, then dilated convolutions for a ~23 cm receptive field at 1/4 resolution."""

    stride = 4

    def __init__(self, in_channels: int, width: int) -> None:
        # The first convolution already strides: at full resolution it would cost as much as all the rest.
        super().__init__(_conv(in_channels, width, stride=2), _conv(width, width),
                         _conv(width, 2 * width, stride=2), _conv(2 * width, 2 * width, dilation=2),
                         _conv(2 * width, 2 * width, dilation=4))
        self.out_channels = 2 * width


class ResidualTrunk(nn.Module):
    """A deeper trunk (residual blocks at 1/4 resolution) for when more compute is available."""

    stride = 4

    def __init__(self, in_channels: int, width: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(_conv(in_channels, width, stride=2), _conv(width, width),
                                  _conv(width, 2 * width, stride=2))
        self.blocks = nn.ModuleList(nn.Sequential(_conv(2 * width, 2 * width, dilation=d),
                                                  nn.Conv2d(2 * width, 2 * width, 3, padding=d, dilation=d))
                                    for d in (1, 2, 4))
        self.out_channels = 2 * width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Features at 1/4 resolution."""
        x = self.stem(x)
        for block in self.blocks:
            x = F.relu(x + block(x))
        return x


TRUNKS = {'dilated': DilatedTrunk, 'residual': ResidualTrunk}
"""Trunk architectures by name; a larger trunk is one more entry (in_channels, width) -> module with
`stride` and `out_channels`."""

IN_CHANNELS = 4  # r, g, b, height


def _head(channels: int, width: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(channels, width, 1), nn.ReLU(inplace=True), nn.Conv2d(width, 1, 1))


def rotation_angles(indices: torch.Tensor | np.ndarray | list[int], num_rotations: int) -> torch.Tensor:
    """(N,) angles in radians of rotation indices."""
    return torch.as_tensor(indices, dtype=torch.float32) * (2.0 * math.pi / num_rotations)


def rotate(images: torch.Tensor, angles: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    """Rotate (N, C, S, S) images about their centre so that direction `angle` maps onto +columns.

    Output pixel p samples the input at R(angle) p (pixel offsets from the centre as (col, row)), so a
    feature at the output's +column direction comes from the input's direction (cos a, sin a);
    `inverse` undoes it. Outside the image reads as zero.
    """
    c, s = torch.cos(angles), torch.sin(angles)
    if inverse:
        s = -s
    zero = torch.zeros_like(c)
    theta = torch.stack([torch.stack([c, -s, zero], 1), torch.stack([s, c, zero], 1)], 1)  # (N, 2, 3)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode='bilinear', padding_mode='zeros', align_corners=False)


class PushGraspQNet(nn.Module):
    """Push and grasp Q-maps for heightmaps, one per requested rotation."""

    def __init__(self, config: QNetConfig | None = None) -> None:
        super().__init__()
        self.config = config or QNetConfig()
        trunk = TRUNKS[self.config.trunk]
        in_channels = IN_CHANNELS + self.config.extra_channels
        self.push_trunk = trunk(in_channels, self.config.width)
        self.grasp_trunk = self.push_trunk if self.config.shared_trunk else trunk(in_channels, self.config.width)
        channels = self.push_trunk.out_channels
        self.push_head = _head(channels, self.config.width)
        self.grasp_head = _head(channels, self.config.width)

    def prepare(self, color: np.ndarray, height: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The network-resolution inputs of one heightmap: (h, w, 3) uint8 colour and (h, w) float16 height.

        Colour is averaged and height max-pooled over `input_stride` cells (thin edges must not vanish).
        These are what the replay memory stores.
        """
        k = self.config.input_stride
        rows, cols = height.shape
        if color.shape[:2] != height.shape or rows % k or cols % k:
            raise ValueError(f'colour {color.shape} and height {height.shape} must match and divide by {k}')
        color = color.reshape(rows // k, k, cols // k, k, 3).mean(axis=(1, 3))
        height = np.nan_to_num(height, nan=0.0).reshape(rows // k, k, cols // k, k).max(axis=(1, 3))
        return np.round(color).astype(np.uint8), np.clip(height, 0.0, self.config.max_height).astype(np.float16)

    def prepare_extra(self, extra: np.ndarray) -> np.ndarray:
        """(E, h, w) float16 network-resolution extra channels of (E, rows, cols) full-resolution ones.

        Averaged over `input_stride` cells: a mask becomes the fraction of each network cell it covers.
        """
        extra = np.asarray(extra, dtype=np.float32)
        k = self.config.input_stride
        if extra.ndim != 3 or extra.shape[0] != self.config.extra_channels or extra.shape[1] % k or extra.shape[2] % k:
            raise ValueError(f'extra channels {extra.shape} must be ({self.config.extra_channels}, rows, cols) '
                             f'with rows and cols divisible by {k}')
        e, rows, cols = extra.shape
        return extra.reshape(e, rows // k, k, cols // k, k).mean(axis=(2, 4)).astype(np.float16)

    def input_tensor(self, colors: np.ndarray, heights: np.ndarray, extras: np.ndarray | None = None) -> torch.Tensor:
        """(N, 4 + E, h, w) network input from prepared (N, h, w, 3) colours, (N, h, w) heights, (N, E, h, w) extras.

        `extras` (from `prepare_extra`) are required exactly when the network has extra channels.
        """
        color = torch.from_numpy(np.ascontiguousarray(colors)).float().permute(0, 3, 1, 2) / 255.0 - 0.5
        height = torch.from_numpy(np.asarray(heights, np.float32)).unsqueeze(1) / self.config.height_scale
        expected = self.config.extra_channels
        if extras is None:
            if expected:
                raise ValueError(f'this network takes {expected} extra input channel(s); none were given')
            return torch.cat([color, height], 1)
        extras = np.asarray(extras, np.float32)
        if extras.shape != (height.shape[0], expected, *height.shape[2:]):
            raise ValueError(f'this network takes extras of shape {(height.shape[0], expected, *height.shape[2:])}, '
                             f'got {extras.shape}')
        return torch.cat([color, height, torch.from_numpy(extras)], 1)

    def forward(self, inputs: torch.Tensor, rotations: torch.Tensor, out_size: tuple[int, int]) -> torch.Tensor:
        """(N, 2, rows, cols) [push, grasp] Q-maps of (N, 4 + E, h, w) inputs at rotation indices (N,).

        `out_size` is the heightmap's (rows, cols); the maps are in the heightmap's own orientation.
        """
        n, _, h, w = inputs.shape
        stride = self.push_trunk.stride
        # Pad to the diagonal (rounded up to the trunk stride) so rotating loses nothing.
        side = int(math.ceil(math.hypot(h, w) / (2 * stride))) * 2 * stride
        top, left = (side - h) // 2, (side - w) // 2
        padded = F.pad(inputs, (left, side - w - left, top, side - h - top))  # (N, 4 + E, side, side)
        angles = rotation_angles(rotations, self.config.num_rotations)
        rotated = rotate(padded, angles)
        push_features = self.push_trunk(rotated)  # (N, C, side/stride, side/stride)
        grasp_features = push_features if self.config.shared_trunk else self.grasp_trunk(rotated)
        q = torch.cat([self.push_head(push_features), self.grasp_head(grasp_features)], 1)  # (N, 2, s, s)
        q = rotate(q, angles, inverse=True)
        # Crop the padding (in output cells), then upsample to the heightmap grid.
        q = q[:, :, top // stride:(top + h) // stride, left // stride:(left + w) // stride]
        return F.interpolate(q, size=out_size, mode='bilinear', align_corners=False)

    @torch.inference_mode()
    def q_maps(self, color: np.ndarray, height: np.ndarray,
               extra: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(push_q, grasp_q), each (num_rotations, rows, cols) float32, for one full-resolution heightmap.

        `extra`: the (E, rows, cols) full-resolution extra channels (e.g. the goal mask) of a network that has them.
        """
        small_color, small_height = self.prepare(color, height)
        small_extra = None if extra is None else self.prepare_extra(extra)[None]
        inputs = self.input_tensor(small_color[None], small_height[None], small_extra)
        n = self.config.num_rotations
        q = self(inputs.expand(n, -1, -1, -1), torch.arange(n), height.shape)  # (n, 2, rows, cols)
        q = q.numpy()
        return q[:, 0].copy(), q[:, 1].copy()

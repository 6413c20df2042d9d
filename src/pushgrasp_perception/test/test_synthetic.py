# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Synthetic block-scene heightmaps and the .npz heightmap files."""

from __future__ import annotations

import numpy as np
import pytest

from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.synthetic import (BLOCK_SHAPES, PALETTE, PlacedBlock, load_heightmap_npz, render_blocks,
                                            sample_blocks, save_heightmap_npz, synthetic_heightmap)
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE, Workspace


def test_same_seed_same_scene_other_seed_other_scene():
    first, again, other = synthetic_heightmap(7), synthetic_heightmap(7), synthetic_heightmap(8)
    np.testing.assert_array_equal(first.height, again.height)
    np.testing.assert_array_equal(first.color, again.color)
    assert not np.array_equal(first.height, other.height)


def test_global_rng_untouched():
    np.random.seed(0)
    expected = np.random.random()
    np.random.seed(0)
    synthetic_heightmap(3, 8)
    assert np.random.random() == expected


@pytest.mark.parametrize('seed', range(5))
def test_blocks_inside_workspace_with_margin(seed):
    margin = 0.02
    blocks = sample_blocks(np.random.default_rng(seed), 10, DEFAULT_WORKSPACE, margin=margin)
    assert len(blocks) == 10
    for block in blocks:
        corners = block.footprint_corners()
        assert (corners[:, 0] >= DEFAULT_WORKSPACE.x_min + margin).all()
        assert (corners[:, 0] <= DEFAULT_WORKSPACE.x_max - margin).all()
        assert (corners[:, 1] >= DEFAULT_WORKSPACE.y_min + margin).all()
        assert (corners[:, 1] <= DEFAULT_WORKSPACE.y_max - margin).all()
    heightmap = render_blocks(blocks, DEFAULT_WORKSPACE)
    ring = int(margin / DEFAULT_WORKSPACE.resolution) - 1
    border = np.ones(heightmap.shape, bool)
    border[ring:-ring, ring:-ring] = False
    assert not heightmap.height[border].any()


def test_scene_content():
    num_objects = 6
    heightmap = synthetic_heightmap(11, num_objects)
    blocks = sample_blocks(np.random.default_rng(11), num_objects)
    assert heightmap.shape == DEFAULT_WORKSPACE.shape
    assert set(np.unique(heightmap.height)) <= {0.0} | {np.float32(s.size[2]) for s in BLOCK_SHAPES}
    # Palette colours in order, each block where it is, the table black and flat.
    for index, block in enumerate(blocks):
        assert block.color == PALETTE[index]
        seen = (heightmap.color == block.color).all(axis=-1)
        assert seen.sum() > 0.5 * block.shape.size[0] * block.shape.size[1] / DEFAULT_WORKSPACE.resolution ** 2
        rows, cols = np.nonzero(seen)
        centre = DEFAULT_WORKSPACE.pixel_to_base(rows.mean(), cols.mean())
        assert np.hypot(centre[0] - block.x, centre[1] - block.y) < 0.01
        assert (heightmap.height[seen] == np.float32(block.shape.size[2])).all()
    empty = heightmap.height == 0
    assert (heightmap.color[empty] == 0).all()
    assert 0.05 < (~empty).mean() < 0.6


def test_footprint_orientation():
    # A plank along x: 50 columns by 25 rows at 2 mm (centred off the cell-centre grid, so no ties).
    block = PlacedBlock(shape=BLOCK_SHAPES[1], color=PALETTE[0], x=0.5005, y=0.0005, yaw=0.0)
    heightmap = render_blocks([block], DEFAULT_WORKSPACE)
    rows, cols = np.nonzero(heightmap.height)
    assert (cols.max() - cols.min() + 1, rows.max() - rows.min() + 1) == (50, 25)
    assert heightmap.height.max() == np.float32(0.025)
    turned = render_blocks([PlacedBlock(BLOCK_SHAPES[1], PALETTE[0], 0.5005, 0.0005, np.pi / 2)], DEFAULT_WORKSPACE)
    rows, cols = np.nonzero(turned.height)
    assert (cols.max() - cols.min() + 1, rows.max() - rows.min() + 1) == (25, 50)


def test_goal_mask_marks_the_goal_block():
    heightmap = synthetic_heightmap(5, 4, goal=2)
    assert heightmap.goal_mask is not None and heightmap.goal_mask.any()
    np.testing.assert_array_equal(heightmap.goal_mask, (heightmap.color == PALETTE[2]).all(axis=-1))
    with pytest.raises(ValueError, match='goal index'):
        synthetic_heightmap(5, 4, goal=4)


def test_other_workspace_and_no_objects():
    workspace = Workspace(0.0, 0.3, 0.0, 0.2, 0.0, 0.3, 0.004)
    heightmap = synthetic_heightmap(1, 3, workspace)
    assert heightmap.shape == (50, 75) and heightmap.height.any()
    assert not synthetic_heightmap(1, 0).height.any()
    with pytest.raises(ValueError, match='too small'):
        synthetic_heightmap(1, 3, Workspace(0.0, 0.08, 0.0, 0.08, 0.0, 0.3, 0.004))


def test_npz_round_trip(tmp_path):
    original = synthetic_heightmap(2, 5, goal=0)
    original.stamp_ns = 1_700_000_000_123_456_789
    path = tmp_path / 'scene'  # no suffix: the exact name is used
    save_heightmap_npz(path, original)
    assert path.exists()
    loaded = load_heightmap_npz(path)
    assert isinstance(loaded, Heightmap)
    np.testing.assert_array_equal(loaded.color, original.color)
    np.testing.assert_array_equal(loaded.height, original.height)
    np.testing.assert_array_equal(loaded.goal_mask, original.goal_mask)
    assert loaded.workspace == original.workspace and loaded.stamp_ns == original.stamp_ns
    plain = Heightmap.empty(Workspace(0.0, 0.1, 0.0, 0.2, 0.0, 0.1, 0.01))
    save_heightmap_npz(tmp_path / 'plain.npz', plain)
    loaded = load_heightmap_npz(str(tmp_path / 'plain.npz'))
    assert loaded.goal_mask is None and loaded.shape == (20, 10) and loaded.workspace == plain.workspace


def _arrays(heightmap):
    return {'color': heightmap.color, 'height': heightmap.height,
            'bounds': np.array(heightmap.workspace.bounds()), 'resolution': np.array(heightmap.workspace.resolution)}


@pytest.mark.parametrize('change, message', [
    (lambda a: a.pop('height'), r"missing arrays \['height'\]"),
    (lambda a: a.update(color=a['color'].astype(np.float32)), 'color must be'),
    (lambda a: a.update(color=a['color'][:-1]), 'does not match'),
    (lambda a: a.update(height=a['height'][0]), 'height must be a 2-D'),
    (lambda a: a.update(height=np.full_like(a['height'], np.nan)), 'NaN'),
    (lambda a: a.update(bounds=np.array([0.0, 1.0])), 'bounds must be 6'),
    (lambda a: a.update(bounds=np.array([1.0, 0.0, 0.0, 1.0, 0.0, 1.0])), 'increasing'),
    (lambda a: a.update(resolution=np.array([0.002, 0.002])), 'resolution must be a single number'),
    (lambda a: a.update(resolution=np.array(0.004)), 'does not match the workspace'),
    (lambda a: a.update(goal_mask=np.zeros((3, 3), bool)), 'goal mask shape'),
])
def test_malformed_npz_raises(tmp_path, change, message):
    arrays = _arrays(synthetic_heightmap(0, 2))
    change(arrays)
    path = tmp_path / 'bad.npz'
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=message) as error:
        load_heightmap_npz(path)
    assert str(path) in str(error.value)


def test_not_an_npz_raises(tmp_path):
    text = tmp_path / 'text.npz'
    text.write_text('not a heightmap\n')
    with pytest.raises(ValueError, match='not an .npz archive'):
        load_heightmap_npz(text)
    good = tmp_path / 'good.npz'
    save_heightmap_npz(good, synthetic_heightmap(0, 1))
    truncated = tmp_path / 'truncated.npz'
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ValueError, match='damaged'):
        load_heightmap_npz(truncated)
    with pytest.raises(FileNotFoundError):
        load_heightmap_npz(tmp_path / 'missing.npz')

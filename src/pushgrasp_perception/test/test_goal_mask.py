# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Goal masks without the simulator: label projection, colour segmentation, mask images, the one entry point.

The IoU of colour segmentation against the simulator's identity masks on rendered scenes is tested in
pushgrasp_sim/test/test_sim_goal_masks.py.
"""

import numpy as np
import pytest

from pushgrasp_perception.goal_mask import (
    DEFAULT_COLOR_TOLERANCE, NO_LABEL, GoalColor, GoalError, GoalNotVisible, GoalSpec, GoalType, clean_mask,
    color_mask, goal_mask_from_spec, goal_spec_from_message, label_heightmap, mask_from_image, parse_goal_color,
    shading_distance)
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.palette import COLOR_NAMES, PALETTE, color_by_name, color_name
from pushgrasp_perception.projection import project_rgbd
from pushgrasp_perception.synthetic import BLOCK_SHAPES, PlacedBlock, render_blocks
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE

SHAPE = DEFAULT_WORKSPACE.shape


def test_goal_types_are_select_primitives_constants():
    from pushgrasp_interfaces.action import SelectPrimitive
    goal = SelectPrimitive.Goal
    assert (GoalType.NONE, GoalType.MASK, GoalType.COLOR, GoalType.ID) == (
        goal.GOAL_NONE, goal.GOAL_MASK, goal.GOAL_COLOR, goal.GOAL_ID)


# --- palette and colour parsing --------------------------------------------------------------------------
def test_palette_names_and_lookup():
    assert COLOR_NAMES == ('blue', 'green', 'brown', 'orange', 'yellow', 'grey', 'red', 'purple', 'cyan', 'pink')
    assert color_by_name(' RED ').rgb255 == (255, 87, 89) and color_by_name('gray').name == 'grey'
    assert color_name((0.305882, 0.474510, 0.654902)) == 'blue'  # as test-case files write it
    assert color_name((0.3, 0.47, 0.65)) is None
    with pytest.raises(KeyError, match='known: blue, green'):
        color_by_name('magenta')


def test_goal_colours_parse_from_names_and_rgb_with_clear_errors():
    assert parse_goal_color('Cyan') == GoalColor((118, 183, 178), 'cyan')
    assert parse_goal_color(' 10, 20 ,30 ') == GoalColor((10, 20, 30), None)
    assert parse_goal_color('255,87,89') == GoalColor((255, 87, 89), 'red')  # a palette colour keeps its name
    with pytest.raises(GoalError, match="'magenta' is neither a colour name .*blue.*nor \"R,G,B\""):
        parse_goal_color('magenta')
    with pytest.raises(GoalError, match='0..255'):
        parse_goal_color('10,300,0')
    for bad in ('1,2', '1,2,3,4', '-1,2,3', ''):
        with pytest.raises(GoalError):
            parse_goal_color(bad)


# --- shading-corrected distance ------------------------------------------------------------------------
def test_shading_distance_ignores_brightness_within_range_and_handles_saturation():
    red = np.array([[255, 87, 89]])
    brown = np.array([[156, 117, 95]])
    darker_brown = (0.7 * brown).round()
    brighter_brown = (1.33 * brown).round()  # (207, 156, 126): as the simulator's lights show it
    d = shading_distance(np.vstack([darker_brown, brighter_brown, [[255, 116, 118]]]), np.vstack([brown, red]))
    assert d[0, 0] < 1.5 and d[1, 0] < 1.5
    assert d[2, 1] < 1.5  # red 1.33 times as bright: red saturates, green and blue scale
    assert d[0, 1] > 40 and d[1, 1] > 40
    # Brightness outside the range counts: black is not every colour.
    assert shading_distance([[0, 0, 0]], brown)[0, 0] == pytest.approx(0.3 * np.linalg.norm(brown), rel=1e-4)
    # Exact, not a grid search: a fine brute force over k never beats it.
    rng = np.random.default_rng(0)
    colors, refs = rng.integers(0, 256, (200, 3)), rng.integers(1, 256, (5, 3))
    k = np.linspace(0.3, 2.0, 3401)[:, None, None, None]
    brute = np.sqrt(((colors[None, :, None] - np.minimum(255, k * refs[None, None])) ** 2).sum(-1).min(0))
    fast = shading_distance(colors, refs)
    assert np.all(fast <= brute + 1e-3) and np.all(brute - fast < 0.5)


# --- clean-up --------------------------------------------------------------------------------------------
def test_clean_mask_drops_specks_fills_holes_with_object_cells_and_keeps_all_pieces():
    mask = np.zeros((40, 60), bool)
    mask[5:20, 5:20] = True          # piece A, 225 cells
    mask[10, 10] = False             # a one-cell hole on the object
    mask[5:20:3, 30:45] = True       # piece B: striped rows (stripes of empty cells between them)
    mask[30, 50] = True              # a stray cell
    allowed = np.ones_like(mask)
    allowed[6:20:3, 30:45] = False   # the stripes are empty cells, never filled
    allowed[7:20:3, 30:45] = False
    cleaned = clean_mask(mask, allowed, min_cells=20)
    assert cleaned[10, 10]                       # hole filled
    assert not cleaned[30, 50]                   # speck gone
    assert cleaned[5:20:3, 30:45].all()          # the striped piece survives as one piece
    assert not cleaned[6:20:3, 30:45].any()      # and its empty stripes stay empty
    largest = clean_mask(mask, allowed, min_cells=20, components='largest')
    assert largest[5:20, 5:20].all() and not largest[:, 30:45].any()
    with pytest.raises(ValueError, match='components'):
        clean_mask(mask, components='biggest')


# --- colour segmentation on a heightmap ------------------------------------------------------------------
def scene_heightmap(brightness=1.0):
    """Four blocks in palette colours, shown `brightness` times as bright (clipped), on a grey table."""
    colors = {'brown': (0.40, -0.10), 'grey': (0.40, 0.10), 'pink': (0.60, -0.10), 'purple': (0.60, 0.10)}
    blocks = [PlacedBlock(BLOCK_SHAPES[0], color_by_name(name).rgb255, x, y, 0.3) for name, (x, y) in colors.items()]
    heightmap = render_blocks(blocks, DEFAULT_WORKSPACE, table_color=(66, 66, 71))
    truth = {name: render_blocks(blocks, DEFAULT_WORKSPACE, goal=i).goal_mask for i, name in enumerate(colors)}
    heightmap.color = np.minimum(255, heightmap.color * brightness).astype(np.uint8)
    heightmap.color[heightmap.height == 0] = (66, 66, 71)  # the table is not lit differently
    return heightmap, truth


@pytest.mark.parametrize('brightness', [0.75, 1.0, 1.35])
def test_colour_masks_find_each_close_palette_colour_under_any_lighting(brightness):
    heightmap, truth = scene_heightmap(brightness)
    for name, expected in truth.items():
        found = color_mask(heightmap, name)
        assert np.array_equal(found, expected), name


def test_a_grey_goal_never_matches_the_grey_table_and_unknown_colours_match_nothing():
    heightmap, truth = scene_heightmap()
    heightmap.color[heightmap.height == 0] = color_by_name('grey').rgb255  # a table painted like the block
    assert np.array_equal(color_mask(heightmap, 'grey'), truth['grey'])
    assert not color_mask(heightmap, 'green').any()


def test_rgb_goals_use_the_tolerance_only():
    heightmap, truth = scene_heightmap()
    brownish = '160,115,95'  # not a palette colour: no competition, only the tolerance
    assert np.array_equal(color_mask(heightmap, brownish, tolerance=10), truth['brown'])
    assert not color_mask(heightmap, '0,255,0', tolerance=DEFAULT_COLOR_TOLERANCE).any()


def test_split_objects_keep_both_pieces_unless_the_largest_is_asked_for():
    heightmap, truth = scene_heightmap()
    rows = np.flatnonzero(truth['pink'].any(axis=1))
    cut = rows[len(rows) // 3]
    heightmap.color[cut - 2:cut + 2][truth['pink'][cut - 2:cut + 2]] = color_by_name('green').rgb255  # an occluder
    both = color_mask(heightmap, 'pink')
    largest = color_mask(heightmap, 'pink', components='largest')
    assert both[:cut - 2].any() and both[cut + 2:].any()
    assert largest.sum() < both.sum() and (largest & ~both).sum() == 0


# --- mask images -----------------------------------------------------------------------------------------
def test_mask_images_are_validated_with_clear_errors():
    image = np.zeros(SHAPE, np.uint8)
    image[10:20, 30:40] = 255
    assert mask_from_image(image, SHAPE).sum() == 100
    assert mask_from_image(image[:, :, None] // 255, SHAPE).sum() == 100  # (H, W, 1) of 0 / 1
    assert mask_from_image(image > 0, SHAPE).sum() == 100
    with pytest.raises(GoalError, match=r'goal mask is 100x50 \(WxH\) but the heightmap is 224x224'):
        mask_from_image(np.zeros((50, 100), np.uint8), SHAPE)
    with pytest.raises(GoalError, match='single-channel'):
        mask_from_image(np.zeros((*SHAPE, 3), np.uint8), SHAPE)
    with pytest.raises(GoalError, match='uint8'):
        mask_from_image(np.zeros(SHAPE, np.float32), SHAPE)
    image[0, 0] = 128
    with pytest.raises(GoalError, match='binary.*holds 0, 128, 255'):
        mask_from_image(image, SHAPE)


# --- label projection ------------------------------------------------------------------------------------
def test_labels_project_onto_the_cells_whose_colour_they_gave(box_scene):
    """Label every pixel with its own index: each cell's label must be the pixel its colour came from."""
    height, width = box_scene.depth.shape
    pixel_ids = np.arange(height * width, dtype=np.int64).reshape(height, width)
    labels = label_heightmap(pixel_ids, box_scene.depth, box_scene.intrinsics, box_scene.camera_pose,
                             DEFAULT_WORKSPACE)
    result = project_rgbd(box_scene.color, box_scene.depth, box_scene.intrinsics, box_scene.camera_pose,
                          DEFAULT_WORKSPACE)
    assert labels.shape == SHAPE and labels.dtype == np.int32
    assert np.array_equal(labels != NO_LABEL, result.valid)
    valid = result.valid
    assert np.array_equal(box_scene.color.reshape(-1, 3)[labels[valid]], result.color[valid])
    with pytest.raises(ValueError, match="depth image's size"):
        label_heightmap(pixel_ids[:-1], box_scene.depth, box_scene.intrinsics, box_scene.camera_pose,
                        DEFAULT_WORKSPACE)
    with pytest.raises(ValueError, match='integers'):
        label_heightmap(pixel_ids.astype(float), box_scene.depth, box_scene.intrinsics, box_scene.camera_pose,
                        DEFAULT_WORKSPACE)


# --- one entry point -------------------------------------------------------------------------------------
def test_goal_mask_from_spec_serves_every_goal_type():
    heightmap, truth = scene_heightmap()
    labels = np.full(SHAPE, NO_LABEL, np.int32)
    for index, mask in enumerate(truth.values()):
        labels[mask] = index
    image = truth['pink'].astype(np.uint8) * 255

    assert goal_mask_from_spec(GoalSpec(), heightmap) is None
    assert np.array_equal(goal_mask_from_spec(GoalSpec(GoalType.MASK, mask=image), heightmap), truth['pink'])
    assert np.array_equal(goal_mask_from_spec(GoalSpec(GoalType.COLOR, color='purple'), heightmap), truth['purple'])
    spec = GoalSpec(2, color='155,117,95', color_tolerance=5.0)  # plain ints work as types, as from a message
    assert spec.type is GoalType.COLOR
    assert np.array_equal(goal_mask_from_spec(spec, heightmap), truth['brown'])
    assert np.array_equal(goal_mask_from_spec(GoalSpec(GoalType.ID, object_id=1), heightmap, labels), truth['grey'])


@pytest.mark.parametrize('spec, labels, message', [
    (GoalSpec(GoalType.MASK), None, 'GOAL_MASK needs a mask image'),
    (GoalSpec(GoalType.MASK, mask=np.zeros((10, 10), np.uint8)), None, 'at heightmap resolution'),
    (GoalSpec(GoalType.COLOR), None, 'GOAL_COLOR needs a colour name'),
    (GoalSpec(GoalType.COLOR, color='magenta'), None, 'neither a colour name'),
    (GoalSpec(GoalType.ID, object_id=1), None, 'GOAL_ID needs the object labels'),
    (GoalSpec(GoalType.ID, object_id=-1), np.zeros(SHAPE, np.int32), 'must be >= 0'),
    (GoalSpec(GoalType.ID, object_id=1), np.zeros((5, 5), np.int32), 'do not match the heightmap'),
])
def test_goal_mask_from_spec_rejects_malformed_goals(spec, labels, message):
    heightmap, _ = scene_heightmap()
    with pytest.raises(GoalError, match=message):
        goal_mask_from_spec(spec, heightmap, labels)


def test_unknown_goal_types_and_invisible_goals_are_reported():
    with pytest.raises(GoalError, match=r'unknown goal type 7; known: 0 \(NONE\), 1 \(MASK\)'):
        GoalSpec(7)
    heightmap, _ = scene_heightmap()
    with pytest.raises(GoalNotVisible, match='the green object is not visible'):
        goal_mask_from_spec(GoalSpec(GoalType.COLOR, color='green'), heightmap)
    with pytest.raises(GoalNotVisible, match='marks no cell'):
        goal_mask_from_spec(GoalSpec(GoalType.MASK, mask=np.zeros(SHAPE, np.uint8)), heightmap)
    empty = goal_mask_from_spec(GoalSpec(GoalType.ID, object_id=9), heightmap, np.zeros(SHAPE, np.int32),
                                allow_empty=True)
    assert empty.shape == SHAPE and not empty.any()
    assert {c.name for c in PALETTE} == set(COLOR_NAMES)


def test_heightmaps_carry_the_goal_mask():
    heightmap, truth = scene_heightmap()
    with_goal = Heightmap(heightmap.color, heightmap.height, heightmap.workspace, goal_mask=truth['grey'])
    assert with_goal.goal_mask is truth['grey']


def test_select_primitive_goals_become_goal_specs():
    from pushgrasp_interfaces.action import SelectPrimitive
    from sensor_msgs.msg import Image

    heightmap, truth = scene_heightmap()
    goal = SelectPrimitive.Goal(goal_type=SelectPrimitive.Goal.GOAL_MASK)
    rows, cols = SHAPE
    goal.goal_mask = Image(height=rows, width=cols, encoding='mono8', step=cols,
                           data=(truth['grey'].astype(np.uint8) * 255).tobytes())
    assert np.array_equal(goal_mask_from_spec(goal_spec_from_message(goal), heightmap), truth['grey'])

    goal = SelectPrimitive.Goal(goal_type=SelectPrimitive.Goal.GOAL_COLOR, goal_color='pink',
                                goal_color_tolerance=30.0)
    spec = goal_spec_from_message(goal)
    assert (spec.type, spec.color, spec.color_tolerance, spec.mask) == (GoalType.COLOR, 'pink', 30.0, None)
    assert np.array_equal(goal_mask_from_spec(spec, heightmap), truth['pink'])

    spec = goal_spec_from_message(SelectPrimitive.Goal(goal_type=SelectPrimitive.Goal.GOAL_ID, goal_object_id=3))
    assert (spec.type, spec.object_id) == (GoalType.ID, 3)
    assert goal_mask_from_spec(goal_spec_from_message(SelectPrimitive.Goal()), heightmap) is None

    broken = SelectPrimitive.Goal(goal_type=SelectPrimitive.Goal.GOAL_MASK)
    broken.goal_mask = Image(height=rows, width=cols, encoding='mono8', step=cols, data=b'\x00' * 10)
    with pytest.raises(GoalError, match='goal mask image: .*bytes'):
        goal_spec_from_message(broken)
    with pytest.raises(GoalError, match='GOAL_MASK needs a mask image'):
        goal_mask_from_spec(goal_spec_from_message(SelectPrimitive.Goal(goal_type=1)), heightmap)

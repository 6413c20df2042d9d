# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Scenes: random drops, test-case placement, settling, explosion checks and domain randomisation."""

from __future__ import annotations

import dataclasses

import mujoco
import numpy as np
import pytest

from pushgrasp_perception.workspace import DEFAULT_WORKSPACE, Workspace
from pushgrasp_sim.blocks import PALETTE, SHAPE_NAMES
from pushgrasp_sim.randomization import DomainRandomizer, RandomizationOptions
from pushgrasp_sim.physics import ASSETS, load_cell_spec
from pushgrasp_sim.scene import (SceneError, SceneSpec, add_objects, build_scene, check_not_exploded, find_explosions,
                                 object_states, scene_objects, settle)
from pushgrasp_sim.testcases import example_testcases, load_testcase


def poses(scene) -> np.ndarray:
    return np.array([np.concatenate([s.position, s.quaternion]) for s in object_states(scene.model, scene.data)])


@pytest.fixture(scope='module')
def random_scene():
    return build_scene(SceneSpec(num_objects=10, seed=7))


def test_random_scene_settles_inside_the_workspace(random_scene):
    scene = random_scene
    assert len(scene.objects) == 10
    states = object_states(scene.model, scene.data)
    assert all(s.inside_workspace for s in states), [s.position for s in states if not s.inside_workspace]
    assert find_explosions(scene.model, scene.data) == []
    assert scene.report.settled and scene.report.outside == []
    assert scene.report.wall_time < 2.0  # about 0.1 s here
    # At rest: another half second of physics barely moves anything.
    before = poses(scene)
    data = mujoco.MjData(scene.model)
    data.qpos[:] = scene.data.qpos
    mujoco.mj_step(scene.model, data, nstep=250)
    mujoco.mj_forward(scene.model, data)
    after = np.array([s.position for s in object_states(scene.model, data)])
    assert np.abs(after - before[:, :3]).max() < 0.005
    # Every object rests on the table or on another object: nothing hovers, nothing sank.
    assert all(s.position[2] > 0.005 for s in states)


def test_random_scene_object_table_names_and_colours(random_scene):
    scene = random_scene
    for i, obj in enumerate(scene.objects):
        assert obj.index == i and obj.body_name == f'object_{i}'
        assert obj.shape in SHAPE_NAMES
        assert obj.color_rgb01 == pytest.approx(PALETTE[i].rgb)
        assert scene.model.joint(f'object_{i}_joint').type[0] == mujoco.mjtJoint.mjJNT_FREE
    # The table can be recovered from the compiled model alone.
    recovered = scene_objects(scene.model)
    assert [(o.index, o.body_name, o.shape, o.kind) for o in recovered] == [
        (o.index, o.body_name, o.shape, o.kind) for o in scene.objects]
    for got, expected in zip(recovered, scene.objects, strict=True):
        assert got.color_rgb01 == pytest.approx(expected.color_rgb01, abs=1e-6)
    assert len({o.shape for o in scene.objects}) > 1


def test_random_scenes_are_deterministic(random_scene):
    again = build_scene(SceneSpec(num_objects=10, seed=7))
    assert [o.shape for o in again.objects] == [o.shape for o in random_scene.objects]
    np.testing.assert_array_equal(poses(again), poses(random_scene))
    other = build_scene(SceneSpec(num_objects=10, seed=8))
    assert ([o.shape for o in other.objects] != [o.shape for o in random_scene.objects]
            or np.abs(poses(other) - poses(random_scene)).max() > 0.01)


def test_thirty_objects_settle_quickly():
    scene = build_scene(SceneSpec(num_objects=30, seed=3))
    assert all(s.inside_workspace for s in object_states(scene.model, scene.data))
    assert find_explosions(scene.model, scene.data) == []
    assert scene.report.wall_time < 3.0  # about 0.4-0.9 s here


def test_objects_that_land_outside_are_dropped_again():
    # Drop positions reach 6 cm past the edges of a small workspace, so some objects land outside it.
    small = Workspace(x_min=0.4, x_max=0.6, y_min=-0.1, y_max=0.1, z_min=0.0, z_max=0.4)
    spec = SceneSpec(num_objects=8, seed=1, workspace=small, drop_margin=-0.06, max_redrop_rounds=30)
    scene = build_scene(spec)
    assert scene.report.redrops > 0
    assert scene.report.outside == []
    assert all(s.inside_workspace for s in object_states(scene.model, scene.data, small))
    no_redrop = build_scene(dataclasses.replace(spec, max_redrop_rounds=0))
    assert no_redrop.report.outside  # the same drops without re-dropping leave objects outside


def test_an_object_caught_on_the_robot_is_dropped_again():
    # Thirty objects released over the reference's 25 cm square, each before the ones below have landed: one
    # cube comes to rest on the wrist, 0.75 m above the table, over the workspace but not in it.
    spec = SceneSpec(num_objects=30, seed=4158717079, drop_margin=0.1)
    no_redrop = build_scene(dataclasses.replace(spec, max_redrop_rounds=0))
    caught = [s for s in object_states(no_redrop.model, no_redrop.data)
              if DEFAULT_WORKSPACE.contains(s.position[0], s.position[1]) and s.position[2] > DEFAULT_WORKSPACE.z_max]
    assert [s.index for s in caught] == [11] and not caught[0].inside_workspace
    assert 11 in no_redrop.report.outside
    scene = build_scene(spec)
    states = object_states(scene.model, scene.data)
    assert scene.report.outside == [] and all(s.inside_workspace for s in states)
    assert max(s.position[2] for s in states) < 0.2


def test_testcase_scene_places_objects_at_file_poses():
    path = next(p for p in example_testcases() if p.name == 'parked_outside.txt')
    case = load_testcase(path)
    scene = build_scene(SceneSpec(testcase=path))
    assert [o.shape for o in scene.objects] == [p.shape for p in case.placements]
    assert [o.color_rgb01 for o in scene.objects] == [p.color_rgb01 for p in case.placements]
    assert [s.line_number for s in scene.report.skipped_lines] == [7]
    for state, placement in zip(object_states(scene.model, scene.data), case.placements, strict=True):
        np.testing.assert_allclose(state.position, placement.position, atol=0.001)
        assert abs(np.dot(state.quaternion, placement.quaternion)) > 0.9999
    assert find_explosions(scene.model, scene.data) == []


def test_interpenetrating_testcase_objects_are_separated_not_exploded(tmp_path):
    # Two cubes overlapping by 10 mm and one sunk 10 mm into the table.
    path = tmp_path / 'overlap.txt'
    path.write_text('4.obj 1 0 0 -0.5 0.0 0.025 0 0 0\n4.obj 0 1 0 -0.5 0.04 0.025 0 0 0\n'
                    '4.obj 0 0 1 -0.4 -0.1 0.015 0 0 0\n')
    scene = build_scene(SceneSpec(testcase=path))
    states = object_states(scene.model, scene.data)
    assert find_explosions(scene.model, scene.data) == []
    assert all(s.inside_workspace for s in states)
    assert states[2].position[2] == pytest.approx(0.025, abs=0.001)
    assert abs(states[1].position[1] - states[0].position[1]) >= 0.049
    assert min(c.dist for c in scene.data.contact[:scene.data.ncon]) > -0.001


def test_settle_and_explosion_checks():
    spec = load_cell_spec()
    objects = add_objects(spec, ['4.obj', '8.obj'])
    model = spec.compile()
    data = mujoco.MjData(model)
    for k, obj in enumerate(objects):
        adr = model.jnt_qposadr[model.body(obj.body_name).jntadr[0]]
        data.qpos[adr:adr + 7] = [0.4 + 0.2 * k, 0.0, 0.2, 1.0, 0.0, 0.0, 0.0]
    result = settle(model, data, max_steps=50)
    assert not result.settled and result.max_linear_speed > 0.5  # still falling after 0.1 s
    result = settle(model, data)
    assert result.settled and result.max_linear_speed < 0.005 and result.max_angular_speed < 0.05
    mujoco.mj_forward(model, data)
    check_not_exploded(model, data)
    adr = model.jnt_dofadr[model.body('object_1').jntadr[0]]
    data.qvel[adr] = 5.0
    assert any('object_1' in p and 'm/s' in p for p in find_explosions(model, data))
    data.qvel[adr] = 0.0
    data.qpos[model.jnt_qposadr[model.body('object_0').jntadr[0]] + 2] = -0.3
    mujoco.mj_forward(model, data)
    with pytest.raises(SceneError, match='object_0 .* below the table'):
        check_not_exploded(model, data)


def test_add_objects_works_with_any_spec_including_objects_xml(tmp_path):
    xml = tmp_path / 'minimal.xml'
    xml.write_text(f'<mujoco><include file="{ASSETS / "objects.xml"}"/>'
                   '<worldbody><geom type="plane" size="1 1 0.1"/></worldbody></mujoco>')
    spec = mujoco.MjSpec.from_file(str(xml))
    first = add_objects(spec, ['0.obj', '1.obj'])
    more = add_objects(spec, ['7.obj'], colors=[(0.1, 0.2, 0.3)])
    assert [o.body_name for o in first + more] == ['object_0', 'object_1', 'object_2']
    assert more[0].color_rgb01 == (0.1, 0.2, 0.3)
    model = spec.compile()
    assert [o.kind for o in scene_objects(model)] == ['roof', 'arch', 'half_cylinder']
    with pytest.raises(ValueError, match='objects.xml'):
        add_objects(mujoco.MjSpec.from_string('<mujoco/>'), ['4.obj'])
    with pytest.raises(KeyError, match='9.obj'):
        add_objects(spec, ['9.obj'])


def test_domain_randomisation_applies_ranges_and_restores():
    scene = build_scene(SceneSpec(num_objects=4, seed=2))
    model = scene.model
    nominal = {name: getattr(model, name).copy() for name in
               ('cam_pos', 'cam_quat', 'light_diffuse', 'light_dir', 'geom_rgba', 'geom_friction', 'body_mass')}
    off = DomainRandomizer(model)
    assert off.apply(model, np.random.default_rng(0)) == {}
    for name, value in nominal.items():
        np.testing.assert_array_equal(getattr(model, name), value)

    options = RandomizationOptions(camera_position_mm=10.0, camera_angle_deg=2.0, light_intensity_scale=(0.5, 1.5),
                                   light_direction_deg=10.0, object_color_jitter=0.05, friction=(0.4, 0.8),
                                   mass_scale=(0.8, 1.2))
    randomizer = DomainRandomizer(model, options)
    drawn = randomizer.apply(model, np.random.default_rng(1))
    cam = model.camera('rgbd_camera').id
    offset = model.cam_pos[cam] - nominal['cam_pos'][cam]
    assert 0 < np.abs(offset).max() <= 0.010
    angle = 2 * np.degrees(np.arccos(min(1.0, abs(np.dot(model.cam_quat[cam], nominal['cam_quat'][cam])))))
    assert 0 < angle <= 2.0 + 1e-6
    bodies = [model.body(o.body_name).id for o in scene.objects]
    geoms = [g for g in range(model.ngeom) if model.geom_bodyid[g] in bodies]
    others = [g for g in range(model.ngeom) if model.geom_bodyid[g] not in bodies]
    assert np.all((model.geom_friction[geoms, 0] >= 0.4) & (model.geom_friction[geoms, 0] <= 0.8))
    np.testing.assert_array_equal(model.geom_friction[others], nominal['geom_friction'][others])
    assert np.abs(model.geom_rgba[geoms] - nominal['geom_rgba'][geoms]).max() <= 0.05 + 1e-9
    assert np.abs(model.geom_rgba[geoms] - nominal['geom_rgba'][geoms]).max() > 0
    scale = model.body_mass[bodies] / nominal['body_mass'][bodies]
    assert np.all((scale >= 0.8) & (scale <= 1.2)) and np.ptp(scale) > 0
    assert drawn['light_intensity_scale'] == pytest.approx(
        model.light_diffuse.max() / nominal['light_diffuse'].max())
    assert not np.allclose(model.light_dir, nominal['light_dir'])
    # Effects do not accumulate, the same generator state gives the same draw, and restore() undoes all.
    again = randomizer.apply(model, np.random.default_rng(1))
    np.testing.assert_array_equal(again['object_friction'], drawn['object_friction'])
    randomizer.restore(model)
    for name, value in nominal.items():
        np.testing.assert_array_equal(getattr(model, name), value)
    # The randomised model still simulates.
    randomizer.apply(model, np.random.default_rng(3))
    mujoco.mj_step(model, scene.data, nstep=100)
    assert find_explosions(model, scene.data) == []
    assert all(s.inside_workspace for s in object_states(model, scene.data, DEFAULT_WORKSPACE))

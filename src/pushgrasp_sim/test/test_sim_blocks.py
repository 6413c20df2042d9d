# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The toy blocks: sizes, masses and contact behaviour of assets/objects.xml, and the data in blocks.py."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from pushgrasp_sim.blocks import (BLOCK_SHAPES, PALETTE, PALETTE_RGB255, SHAPE_NAMES, block_shape,
                                  palette_color)
from pushgrasp_sim.physics import load_cell_spec
from pushgrasp_sim.scene import add_objects, object_body_name, settle

# The benchmark's block table (mm): the assets must reproduce it.
BENCHMARK_SIZES_MM = {
    '0.obj': (93, 50, 49), '1.obj': (100, 50, 50), '2.obj': (25, 60, 60), '3.obj': (100, 50, 25),
    '4.obj': (50, 50, 50), '6.obj': (50, 50, 100), '7.obj': (50, 50, 25), '8.obj': (45, 45, 50),
}


def geom_points(model: mujoco.MjModel, data: mujoco.MjData, geom: int) -> np.ndarray:
    """World-frame points on the hull of a collision geom (mesh vertices, box corners, cylinder rims)."""
    kind, size = model.geom_type[geom], model.geom_size[geom]
    if kind == mujoco.mjtGeom.mjGEOM_MESH:
        mesh = model.geom_dataid[geom]
        local = model.mesh_vert[model.mesh_vertadr[mesh]:model.mesh_vertadr[mesh] + model.mesh_vertnum[mesh]]
    elif kind == mujoco.mjtGeom.mjGEOM_BOX:
        local = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]) * size
    elif kind == mujoco.mjtGeom.mjGEOM_CYLINDER:
        angle = np.linspace(0, 2 * np.pi, 720, endpoint=False)
        rim = np.stack([size[0] * np.cos(angle), size[0] * np.sin(angle)], axis=1)
        local = np.concatenate([np.column_stack([rim, np.full(len(rim), z)]) for z in (-size[1], size[1])])
    else:
        raise AssertionError(f'unexpected geom type {kind}')
    return local @ data.geom_xmat[geom].reshape(3, 3).T + data.geom_xpos[geom]


def body_points(model: mujoco.MjModel, data: mujoco.MjData, body: int) -> np.ndarray:
    geoms = range(model.body_geomadr[body], model.body_geomadr[body] + model.body_geomnum[body])
    return np.concatenate([geom_points(model, data, g) for g in geoms])


@pytest.fixture(scope='module')
def one_of_each():
    """A cell with one block of every shape, compiled."""
    spec = load_cell_spec()
    objects = add_objects(spec, SHAPE_NAMES)
    model = spec.compile()
    return model, objects


def test_shape_table_and_palette():
    assert SHAPE_NAMES == ('0.obj', '1.obj', '2.obj', '3.obj', '4.obj', '6.obj', '7.obj', '8.obj')
    expected = {name: tuple(float(v) for v in size) for name, size in BENCHMARK_SIZES_MM.items()}
    assert {shape.name: shape.size_mm for shape in BLOCK_SHAPES} == expected
    assert len({s.kind for s in BLOCK_SHAPES}) == 8
    assert block_shape('cube') is block_shape('4.obj')
    with pytest.raises(KeyError, match='5.obj'):
        block_shape('5.obj')
    assert PALETTE_RGB255 == ((78, 121, 167), (89, 161, 79), (156, 117, 95), (242, 142, 43), (237, 201, 72),
                              (186, 176, 172), (255, 87, 89), (176, 122, 161), (118, 183, 178), (255, 157, 167))
    assert [c.name for c in PALETTE][:3] == ['blue', 'green', 'brown']
    assert palette_color(10) == PALETTE[0] and palette_color(13) == PALETTE[3]
    assert PALETTE[6].rgb == pytest.approx((1.0, 87 / 255, 89 / 255))


@pytest.mark.parametrize('shape', SHAPE_NAMES)
def test_collision_bounds_match_benchmark_size(one_of_each, shape):
    """In the block frame, the collision geometry spans exactly the benchmark's size (1 mm)."""
    model, objects = one_of_each
    data = mujoco.MjData(model)
    index = SHAPE_NAMES.index(shape)
    body = model.body(object_body_name(index))
    adr = model.jnt_qposadr[body.jntadr[0]]
    data.qpos[adr:adr + 7] = [0.5, 0.0, 0.3, 1.0, 0.0, 0.0, 0.0]
    mujoco.mj_kinematics(model, data)
    points = body_points(model, data, body.id) - [0.5, 0.0, 0.3]
    extent_mm = (points.max(axis=0) - points.min(axis=0)) * 1000
    np.testing.assert_allclose(extent_mm, BENCHMARK_SIZES_MM[shape], atol=1.0)
    # The block frame is at the centre of the bounding box.
    np.testing.assert_allclose((points.max(axis=0) + points.min(axis=0)) / 2, 0.0, atol=0.001)
    assert objects[index].shape == shape


def test_masses_are_plastic_blocks(one_of_each):
    model, objects = one_of_each
    for obj in objects:
        mass = model.body(obj.body_name).mass[0]
        assert 0.01 <= mass <= 0.5, (obj.kind, mass)
    masses = {obj.kind: model.body(obj.body_name).mass[0] for obj in objects}
    assert masses['cube'] == pytest.approx(1050 * 0.05 ** 3, rel=0.01)
    assert masses['pillar'] == pytest.approx(2 * masses['cube'], rel=0.01)
    # The arch is a 100x50x50 block minus a half-cylinder of radius 25 mm (chords add a little back).
    arch = 1050 * (0.1 * 0.05 * 0.05 - np.pi * 0.025 ** 2 / 2 * 0.05)
    assert masses['arch'] == pytest.approx(arch, rel=0.03)
    for geom in range(model.ngeom):
        if model.geom_bodyid[geom] in {model.body(o.body_name).id for o in objects}:
            assert 0.5 <= model.geom_friction[geom, 0] <= 0.7


def test_arch_has_a_tunnel(one_of_each):
    """A ray along y under the arch's crown passes through; one through a leg or the crown hits."""
    model, _ = one_of_each
    data = mujoco.MjData(model)
    body = model.body(object_body_name(SHAPE_NAMES.index('1.obj')))
    adr = model.jnt_qposadr[body.jntadr[0]]
    data.qpos[adr:adr + 7] = [0.5, 0.0, 0.6, 1.0, 0.0, 0.0, 0.0]
    mujoco.mj_kinematics(model, data)
    geom_id = np.zeros(1, dtype=np.int32)

    def hits(x: float, z: float) -> bool:
        distance = mujoco.mj_ray(model, data, np.array([0.5 + x, -0.2, 0.6 + z]), np.array([0.0, 1.0, 0.0]),
                                 None, 1, -1, geom_id)
        return distance >= 0 and model.geom_bodyid[geom_id[0]] == body.id

    assert not hits(0.0, -0.02) and not hits(0.015, -0.02) and not hits(-0.015, -0.02)
    assert hits(0.005, 0.01) and hits(-0.005, 0.01) and hits(0.035, -0.02) and hits(-0.035, -0.02)


@pytest.mark.parametrize('shape', SHAPE_NAMES)
def test_block_rests_on_table_without_jitter(shape):
    """Set down 1 mm above the table, a block settles flat on it, does not sink and then stays still."""
    spec = load_cell_spec()
    add_objects(spec, [shape])
    model = spec.compile()
    data = mujoco.MjData(model)
    body = model.body(object_body_name(0))
    adr = model.jnt_qposadr[body.jntadr[0]]
    height = BENCHMARK_SIZES_MM[shape][2] / 1000
    data.qpos[adr:adr + 7] = [0.5, 0.05, height / 2 + 0.001, 1.0, 0.0, 0.0, 0.0]
    result = settle(model, data, 2000)
    assert result.settled, result
    before = data.qpos[adr:adr + 7].copy()
    mujoco.mj_step(model, data, nstep=500)
    assert np.abs(data.qpos[adr:adr + 3] - before[:3]).max() < 2e-4
    mujoco.mj_forward(model, data)
    points = body_points(model, data, body.id)
    assert points[:, 2].min() == pytest.approx(0.0, abs=5e-4)  # no sinking, no hovering
    assert points[:, 2].max() == pytest.approx(height, abs=1e-3)  # still upright, full height
    assert np.linalg.norm(data.qpos[adr:adr + 2] - [0.5, 0.05]) < 1e-3

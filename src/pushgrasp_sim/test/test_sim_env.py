# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The environment API: grasps and pushes executed in physics, scene bookkeeping, determinism."""

import numpy as np
import pytest

from pushgrasp_control.primitives import PrimitiveType, primitive_from_pixel
from pushgrasp_perception import DEFAULT_WORKSPACE
from pushgrasp_perception.projection import heightmap_from_rgbd
from pushgrasp_sim.env import PushGraspEnv

CUBE_AT_CENTRE = '4.obj 0.3 0.47 0.65 -0.500000 0.000000 0.025000 0 0 0\n'


@pytest.fixture
def env():
    environment = PushGraspEnv()
    yield environment
    environment.close()


def write_case(tmp_path, text):
    path = tmp_path / 'case.txt'
    path.write_text(text)
    return str(path)


def heights(observation):
    return heightmap_from_rgbd(observation.color, observation.depth, observation.intrinsics,
                               observation.camera_pose, DEFAULT_WORKSPACE)[1]


def at(kind, x, y, height, rotation=0):
    row, col = DEFAULT_WORKSPACE.base_to_pixel(x, y)
    return primitive_from_pixel(kind, rotation, row, col, height, DEFAULT_WORKSPACE)


def test_grasp_of_an_isolated_block_succeeds_and_removes_it(env, tmp_path):
    observation = env.reset(0, write_case(tmp_path, CUBE_AT_CENTRE))
    assert len(env.object_states()) == 1
    x, y, _ = env.object_states()[0].position
    observation, info = env.step(at(PrimitiveType.GRASP, x, y, heights(observation)))
    assert info.executed and info.error == ''
    assert info.grasp_success and info.grasped_object == 0
    assert info.scene_changed and info.objects_remaining == 0
    assert env.object_states() == []
    assert heights(observation).max() < 0.01, 'the picked block is gone from the camera view'


# A plank with a half-cylinder lying on its middle: a grasp across the plank beside the rider lifts both.
PLANK_WITH_RIDER = ('3.obj 0.3 0.4 0.6 -0.500000 0.000000 0.012500 0 0 0\n'
                    '7.obj 0.9 0.4 0.3 -0.500000 0.000000 0.038000 0 0 0\n')


def test_an_object_riding_on_the_grasped_one_goes_to_the_bin_with_it(env, tmp_path):
    observation = env.reset(0, write_case(tmp_path, PLANK_WITH_RIDER))
    assert env.carried_objects() == [], 'nothing is lifted on the table'
    x, y, _ = env.object_states()[0].position
    observation, info = env.step(at(PrimitiveType.GRASP, x + 0.035, y, heights(observation), rotation=4))
    assert info.grasp_success and info.grasped_object == 0
    # Left behind, the rider would hang 20 cm up where the lift ended, and fall on the next primitive.
    assert info.picked_objects == [0, 1]
    assert env.object_states() == [] and info.objects_remaining == 0
    assert heights(observation).max() < 0.01


def test_grasp_at_empty_table_fails(env, tmp_path):
    observation = env.reset(0, write_case(tmp_path, CUBE_AT_CENTRE))
    _, info = env.step(at(PrimitiveType.GRASP, 0.4, 0.15, heights(observation)))
    assert not info.grasp_success and info.grasped_object is None
    assert not info.scene_changed and info.objects_remaining == 1


def test_push_moves_a_block_in_the_commanded_direction(env, tmp_path):
    observation = env.reset(0, write_case(tmp_path, CUBE_AT_CENTRE))
    start = env.object_states()[0].position.copy()
    # Start 6 cm before the block (in -y) and push along +y (rotation 4 of 16 = 90 degrees).
    _, info = env.step(at(PrimitiveType.PUSH, start[0], start[1] - 0.06, heights(observation), rotation=4))
    assert info.executed, info.error
    moved = env.object_states()[0].position - start
    assert info.scene_changed
    assert moved[1] > 0.02, f'the block moved {moved} (expected along +y)'
    assert abs(moved[0]) < 0.5 * moved[1]


def test_a_primitive_outside_the_workspace_is_refused_without_moving(env, tmp_path):
    observation = env.reset(0, write_case(tmp_path, CUBE_AT_CENTRE))
    primitive = at(PrimitiveType.GRASP, 0.5, 0.0, heights(observation))
    primitive.position = primitive.position + np.array([0.5, 0.0, 0.0])
    joints_before = env.joint_state()[1]
    _, info = env.step(primitive)
    assert not info.executed and info.error.startswith('refused')
    np.testing.assert_allclose(env.joint_state()[1], joints_before)


def test_same_seed_same_episode(tmp_path):
    def episode(seed):
        with PushGraspEnv() as environment:
            observation = environment.reset(seed, 6)
            height = heights(observation)
            row, col = np.unravel_index(np.argmax(height), height.shape)
            primitive = primitive_from_pixel(PrimitiveType.GRASP, 0, row, col, height, DEFAULT_WORKSPACE)
            observation, info = environment.step(primitive)
            poses = np.array([s.position for s in environment.object_states()])
            return observation.depth, info, poses

    depth_a, info_a, poses_a = episode(5)
    depth_b, info_b, poses_b = episode(5)
    np.testing.assert_array_equal(depth_a, depth_b)
    np.testing.assert_array_equal(poses_a, poses_b)
    assert info_a == info_b
    _, _, poses_c = episode(6)
    assert poses_c.shape != poses_a.shape or not np.allclose(poses_c, poses_a)


def _explosions_reported(monkeypatch, env, runs_unstable):
    """Make the first `runs_unstable` explosion checks report a blow-up; the timestep each check saw."""
    import pushgrasp_sim.env as env_module
    seen = []

    def find_explosions(model, data, objects=None, **limits):
        seen.append((float(model.opt.timestep), env.robot.config.control_decimation))
        return ['object_0 (cube) moves at 9.99 m/s'] if len(seen) <= runs_unstable else []
    monkeypatch.setattr(env_module, 'find_explosions', find_explosions)
    return seen


def test_a_blow_up_is_simulated_again_from_the_state_before_with_finer_steps(env, tmp_path, monkeypatch):
    observation = env.reset(0, write_case(tmp_path, CUBE_AT_CENTRE))
    x, y, _ = env.object_states()[0].position
    seen = _explosions_reported(monkeypatch, env, runs_unstable=1)
    observation, info = env.step(at(PrimitiveType.GRASP, x, y, heights(observation)))
    # The first run picked the cube and "blew up"; the second started again with the cube on the table
    # (collidable again, else it could not be grasped) at half the timestep and twice the steps per tick.
    assert seen == [(0.002, 5), (0.001, 10)]
    assert info.resimulated == 2 and not info.unstable and info.error == ''
    assert info.grasp_success and info.grasped_object == 0 and info.picked_objects == [0]
    assert env.object_states() == [] and heights(observation).max() < 0.01
    assert env.physics.timestep == 0.002 and env.robot.config.control_decimation == 5


def test_a_blow_up_that_finer_steps_do_not_cure_is_reported(env, tmp_path, monkeypatch):
    observation = env.reset(0, write_case(tmp_path, CUBE_AT_CENTRE))
    x, y, _ = env.object_states()[0].position
    seen = _explosions_reported(monkeypatch, env, runs_unstable=4)
    _, info = env.step(at(PrimitiveType.GRASP, x, y, heights(observation)))
    assert [dt for dt, _ in seen] == [0.002, 0.001, 0.0005, 0.00025]
    assert info.resimulated == 8 and info.unstable and 'simulation unstable' in info.error
    assert env.physics.timestep == 0.002 and env.robot.config.control_decimation == 5


def test_a_stable_primitive_runs_once(env, tmp_path, monkeypatch):
    observation = env.reset(0, write_case(tmp_path, CUBE_AT_CENTRE))
    x, y, _ = env.object_states()[0].position
    seen = _explosions_reported(monkeypatch, env, runs_unstable=0)
    _, info = env.step(at(PrimitiveType.PUSH, x, y - 0.06, heights(observation), rotation=4))
    assert len(seen) == 1 and info.resimulated == 1 and info.executed


def test_a_block_flung_during_a_primitive_is_a_blow_up_although_at_rest_at_its_end(env, tmp_path):
    """Real physics: a second cube, 15 cm from the grasped one, is launched straight up at 4 m/s.

    By the end of the grasp (about 2 s of simulated time) it lies still, so the state at the end looks sound;
    the peak speed during the primitive gives it away, and each finer re-run (from the same launched state)
    does too.
    """
    observation = env.reset(0, write_case(tmp_path, CUBE_AT_CENTRE + CUBE_AT_CENTRE.replace('0.000000', '0.150000')))
    x, y, _ = env.object_states()[0].position
    grasp = at(PrimitiveType.GRASP, x, y, heights(observation))
    physics = env.physics
    flung = physics.model.body(env.scene.objects[1].body_name)
    dof = physics.model.jnt_dofadr[flung.jntadr[0]]
    physics.data.qvel[dof:dof + 3] = (0.0, 0.0, 4.0)  # straight up (0.8 m): it lands where it was
    _, info = env.step(grasp)
    assert np.linalg.norm(physics.data.qvel[dof:dof + 3]) < 0.5, 'the flung cube is at rest again'
    assert info.unstable and 'm/s during the primitive' in info.unstable[-1], info.unstable
    assert info.resimulated == 8 and env.physics.timestep == 0.002

    # The same grasp without the launch: nothing near the limit (the arm moves at 0.25 m/s).
    observation = env.reset(0, write_case(tmp_path, CUBE_AT_CENTRE + CUBE_AT_CENTRE.replace('0.000000', '0.150000')))
    _, info = env.step(grasp)
    assert info.grasp_success and not info.unstable and info.resimulated == 1
    assert env.physics.peak_free_body_speed < 1.0


def test_a_block_shot_across_the_table_is_a_blow_up_below_the_overall_speed_limit(env, tmp_path):
    """Real physics: the second cube slides off at 1.5 m/s, under the 3 m/s limit that falls need, over the
    1 m/s no push or toppling block reaches across the table (a squeezed pile at the 2 ms step can do that)."""
    observation = env.reset(0, write_case(tmp_path, CUBE_AT_CENTRE + CUBE_AT_CENTRE.replace('0.000000', '0.150000')))
    x, y, _ = env.object_states()[0].position
    physics = env.physics
    shot = physics.model.body(env.scene.objects[1].body_name)
    dof = physics.model.jnt_dofadr[shot.jntadr[0]]
    physics.data.qvel[dof:dof + 3] = (1.5, 0.0, 0.0)
    _, info = env.step(at(PrimitiveType.GRASP, x, y, heights(observation)))
    assert info.unstable and 'across the table' in info.unstable[-1], info.unstable
    assert not any('m/s during the primitive (more than 3' in p for p in info.unstable)
    assert info.resimulated == 8


def test_a_snapshot_restores_the_scene_a_grasp_changed(env, tmp_path):
    """Counterfactual use: try a grasp, go back, and the scene (the picked cube included) is as it was."""
    observation = env.reset(0, write_case(tmp_path, CUBE_AT_CENTRE + CUBE_AT_CENTRE.replace('0.000000', '0.150000')))
    before = [(s.index, s.position.copy()) for s in env.object_states()]
    snapshot = env.snapshot()
    x, y, _ = before[0][1]
    grasp = at(PrimitiveType.GRASP, x, y, heights(observation))
    _, tried = env.step(grasp)
    assert tried.grasp_success and [s.index for s in env.object_states()] == [1]
    restored = env.restore(snapshot)
    assert [s.index for s in env.object_states()] == [0, 1]
    for (_, position), state in zip(before, env.object_states(), strict=True):
        np.testing.assert_allclose(state.position, position, atol=1e-9)
    np.testing.assert_array_equal(heights(restored), heights(observation))
    # The same grasp again does the same thing: the cube collides and is picked again.
    _, again = env.step(grasp)
    assert again.grasp_success and again.picked_objects == tried.picked_objects == [0]
    env.reset(1, write_case(tmp_path, CUBE_AT_CENTRE))
    with pytest.raises(ValueError, match='another scene'):
        env.restore(snapshot)

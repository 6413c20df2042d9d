# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""UR5 kinematics: DH forward kinematics against the MuJoCo model, and closed-form inverse kinematics."""

import math

import numpy as np
import pytest

from pushgrasp_sim import kinematics
from pushgrasp_sim.physics import Physics


@pytest.fixture(scope='module')
def physics():
    return Physics.from_xml()


def random_joints(rng, count):
    limits = np.asarray(kinematics.UR5.joint_limits)
    return rng.uniform(-limits, limits, (count, 6))


def test_forward_kinematics_matches_the_mujoco_model(physics):
    rng = np.random.default_rng(1)
    site = physics.site_id('tool0')
    for q in random_joints(rng, 50):
        for name, angle in zip(kinematics.JOINT_NAMES, q, strict=True):
            physics.data.joint(name).qpos = angle
        physics.forward()
        np.testing.assert_allclose(physics.tcp_pose(), kinematics.forward_tcp(q), atol=1e-6)
        flange = kinematics.forward(q)
        np.testing.assert_allclose(physics.data.site_xpos[site], flange[:3, 3], atol=1e-6)
        np.testing.assert_allclose(physics.data.site_xmat[site].reshape(3, 3), flange[:3, :3], atol=1e-6)
    physics.reset()


def test_batched_forward_equals_single():
    q = random_joints(np.random.default_rng(2), 5)
    batch = kinematics.forward_tcp(q)
    for i in range(5):
        np.testing.assert_allclose(batch[i], kinematics.forward_tcp(q[i]), atol=1e-12)


def test_tcp_is_the_tool_length_down_the_flange_axis():
    q = random_joints(np.random.default_rng(3), 1)[0]
    flange, tcp = kinematics.forward(q), kinematics.forward_tcp(q)
    np.testing.assert_allclose(tcp[:3, 3] - flange[:3, 3], 0.15 * flange[:3, 2], atol=1e-12)
    np.testing.assert_allclose(kinematics.flange_from_tcp(tcp), flange, atol=1e-12)


def test_inverse_all_contains_the_joints_that_made_the_pose():
    q = random_joints(np.random.default_rng(4), 300)
    solutions, valid = kinematics.inverse_all(kinematics.forward(q))
    wrapped = np.abs((solutions - q[:, None] + math.pi) % (2 * math.pi) - math.pi).max(axis=-1)
    wrapped[~valid] = np.inf
    assert wrapped.min(axis=-1).max() < 1e-8
    # Every valid branch reproduces the pose.
    poses = kinematics.forward(solutions)
    errors = np.abs(poses - kinematics.forward(q)[:, None]).max(axis=(-1, -2))
    assert errors[valid].max() < 1e-9


def test_down_pointing_inverse_round_trip_over_the_workspace():
    rng = np.random.default_rng(5)
    home = Physics.from_xml().keyframe_arm_qpos()
    home_branch = kinematics.branch_of(home)
    for _ in range(300):
        position = rng.uniform([0.276, -0.224, 0.01], [0.724, 0.224, 0.3])
        yaw = rng.uniform(-math.pi, math.pi)
        q = kinematics.inverse_down(position, yaw, home)
        assert kinematics.within_limits(q)
        assert kinematics.branch_of(q) == home_branch  # elbow up, wrist down: the home configuration
        pose = kinematics.forward_tcp(q)
        assert np.linalg.norm(pose[:3, 3] - position) < 1e-3
        assert math.degrees(math.acos(min(1.0, -pose[2, 2]))) < 1.0
        jaw = math.atan2(pose[1, 0], pose[0, 0])
        assert abs(math.degrees((jaw - yaw + math.pi / 2) % math.pi - math.pi / 2)) < 1.0


def test_inverse_picks_the_solution_closest_to_the_present_joints():
    home = Physics.from_xml().keyframe_arm_qpos()
    q = kinematics.inverse_down(np.array([0.5, 0.0, 0.45]), 0.0, home)
    np.testing.assert_allclose(q, home, atol=1e-5)
    # Yaw is taken mod pi: turning by pi asks for no wrist turn at all.
    np.testing.assert_allclose(kinematics.inverse_down(np.array([0.5, 0.0, 0.45]), math.pi, home), home, atol=1e-5)
    small = kinematics.inverse_down(np.array([0.52, 0.01, 0.44]), 0.05, home)
    assert np.abs(small - home).max() < 0.2


@pytest.mark.parametrize('position, reason', [
    ((1.2, 0.0, 0.1), 'reach'),
    ((0.0, 0.0, 0.3), 'shoulder axis'),
])
def test_unreachable_targets_raise_with_a_reason(position, reason):
    home = Physics.from_xml().keyframe_arm_qpos()
    with pytest.raises(kinematics.Unreachable, match=reason):
        kinematics.inverse_down(np.array(position), 0.0, home)


def test_rotation_path_turns_at_constant_rate_about_the_shortest_axis():
    r0, r1 = kinematics.down_rotation(0.2), kinematics.down_rotation(1.2)
    path = kinematics.rotation_path(r0, r1, np.linspace(0.0, 1.0, 11))
    np.testing.assert_allclose(path[0], r0, atol=1e-12)
    np.testing.assert_allclose(path[-1], r1, atol=1e-12)
    yaws = [kinematics.tool_yaw(r) for r in path]
    np.testing.assert_allclose(yaws, np.linspace(0.2, 1.2, 11), atol=1e-9)
    assert kinematics.rotation_angle(r0, r1) == pytest.approx(1.0)

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The Q-networks' rotation bookkeeping, the Q-learning update, change detection and surprise replay."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pushgrasp_control.primitives import PrimitiveType, primitive_from_pixel
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE
from pushgrasp_policy.checkpoint import CheckpointError, save_checkpoint
from pushgrasp_policy.networks import PushGraspQNet, QNetConfig, rotate
from pushgrasp_policy.replay import SurpriseReplay, Transition
from pushgrasp_policy.change import changed_cells
from pushgrasp_policy.vpg import VPGAgent, VPGConfig, VPGPolicy, agent_from_checkpoint

SIZE = 224


def block_scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A colour and height heightmap with a few random boxes."""
    rng = np.random.default_rng(seed)
    color = np.full((SIZE, SIZE, 3), 40, np.uint8)
    height = np.zeros((SIZE, SIZE), np.float32)
    for _ in range(4):
        r, c = rng.integers(30, SIZE - 60, 2)
        h, w = rng.integers(12, 40, 2)
        height[r:r + h, c:c + w] = rng.uniform(0.02, 0.08)
        color[r:r + h, c:c + w] = rng.integers(0, 255, 3)
    return color, height


def rotate_quarter_turn(image: np.ndarray) -> np.ndarray:
    """The image of the scene turned +90 degrees about the workspace centre (+x onto +y, i.e. +col onto +row)."""
    return np.ascontiguousarray(np.rot90(image, k=-1, axes=(0, 1)))


def test_q_maps_have_one_map_per_rotation_at_heightmap_resolution() -> None:
    net = PushGraspQNet()
    color, height = block_scene()
    push_q, grasp_q = net.q_maps(color, height)
    assert push_q.shape == grasp_q.shape == (16, SIZE, SIZE)
    assert push_q.dtype == np.float32 and np.isfinite(push_q).all() and np.isfinite(grasp_q).all()
    assert not np.allclose(push_q[0], push_q[3])  # the rotations really differ


@pytest.mark.parametrize('index', [0, 3, 5, 12])
def test_rotating_an_image_brings_rotation_directions_onto_plus_columns(index: int) -> None:
    size, centre = 65, 32
    angle = 2 * math.pi * index / 16
    image = torch.zeros(1, 1, size, size)
    row, col = round(centre + 20 * math.sin(angle)), round(centre + 20 * math.cos(angle))
    image[0, 0, row, col] = 1.0  # a mark 20 px from the centre along rotation `index`'s direction
    rotated = rotate(image, torch.tensor([angle]))
    peak = np.unravel_index(int(rotated[0, 0].argmax()), (size, size))
    assert abs(peak[0] - centre) <= 1 and abs(peak[1] - (centre + 20)) <= 1
    back = rotate(rotated, torch.tensor([angle]), inverse=True)
    assert np.unravel_index(int(back[0, 0].argmax()), (size, size)) == (row, col)


def test_rotation_i_of_a_scene_is_rotation_i_plus_4_of_the_scene_turned_a_quarter() -> None:
    """The action (i, pixel p) on a scene is the action (i + 4, R90 p) on the scene turned by 90 degrees."""
    net = PushGraspQNet()
    color, height = block_scene(1)
    push_q, grasp_q = net.q_maps(color, height)
    push_turned, grasp_turned = net.q_maps(rotate_quarter_turn(color), rotate_quarter_turn(height))
    for i in (0, 1, 6):
        np.testing.assert_allclose(push_turned[(i + 4) % 16], rotate_quarter_turn(push_q[i]), atol=1e-4)
        np.testing.assert_allclose(grasp_turned[(i + 4) % 16], rotate_quarter_turn(grasp_q[i]), atol=1e-4)


def test_rotation_index_and_pixel_map_to_yaw_push_direction_and_base_position() -> None:
    height = np.zeros((SIZE, SIZE), np.float32)
    height[100, 150] = 0.05
    push = primitive_from_pixel(PrimitiveType.PUSH, 4, 100, 150, height, DEFAULT_WORKSPACE)
    assert push.yaw == pytest.approx(math.pi / 2)
    np.testing.assert_allclose(push.push_direction, [0.0, 1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(push.position, [0.276 + 150.5 * 0.002, -0.224 + 100.5 * 0.002, 0.05], atol=1e-9)
    grasp = primitive_from_pixel(PrimitiveType.GRASP, 2, 100, 150, height, DEFAULT_WORKSPACE)
    assert grasp.yaw == pytest.approx(math.pi / 4) and grasp.push_length == 0.0


def make_transition(color, height, net, kind=PrimitiveType.GRASP, rotation=3, row=80, col=120, label=1.0,
                    reward=1.0) -> Transition:
    small_color, small_height = net.prepare(color, height)
    return Transition(small_color, small_height, kind, rotation, row, col, reward, label)


def test_learning_moves_q_toward_the_label_through_the_executed_pixel_only() -> None:
    agent = VPGAgent(VPGConfig(learning_rate=1e-3), seed=0)
    color, height = block_scene(2)
    transition = make_transition(color, height, agent.net, kind=PrimitiveType.GRASP, rotation=3, label=1.0)
    seen = {}
    forward = agent.net.forward

    def spy(*args, **kwargs):
        out = forward(*args, **kwargs)
        if out.requires_grad:
            out.retain_grad()
            seen['q'] = out
        return out

    before = agent.net.q_maps(color, height)[1][3, 80, 120]
    agent.net.forward = spy
    predictions, loss = agent.learn([transition], (SIZE, SIZE))
    assert predictions[0] == pytest.approx(before, abs=1e-5)
    grad = seen['q'].grad  # (2 rotations, 2 primitives, rows, cols)
    nonzero = torch.nonzero(grad).tolist()
    # The grasp at rotation 3 and its symmetric twin (rotation 11), grasp channel, pixel (80, 120) only.
    assert nonzero == [[0, 1, 80, 120], [1, 1, 80, 120]]
    for _ in range(20):
        agent.learn([transition], (SIZE, SIZE))
    after = agent.net.q_maps(color, height)[1]
    assert abs(after[3, 80, 120] - 1.0) < abs(before - 1.0) / 2
    assert abs(after[11, 80, 120] - 1.0) < abs(before - 1.0) / 2


def test_a_push_label_trains_the_push_map_at_its_rotation() -> None:
    agent = VPGAgent(VPGConfig(learning_rate=1e-3), seed=0)
    color, height = block_scene(3)
    transition = make_transition(color, height, agent.net, kind=PrimitiveType.PUSH, rotation=5, label=0.5,
                                 reward=0.5)
    push_before, grasp_before = agent.net.q_maps(color, height)
    for _ in range(20):
        agent.learn([transition], (SIZE, SIZE))
    push_after, grasp_after = agent.net.q_maps(color, height)
    assert abs(push_after[5, 80, 120] - 0.5) < abs(push_before[5, 80, 120] - 0.5) / 2


def test_rewards_labels_and_change_detection_follow_the_reference() -> None:
    agent = VPGAgent(seed=0)
    assert agent.reward(PrimitiveType.GRASP, True, True) == 1.0
    assert agent.reward(PrimitiveType.GRASP, False, True) == 0.0
    assert agent.reward(PrimitiveType.PUSH, False, True) == 0.5
    assert agent.reward(PrimitiveType.PUSH, False, False) == 0.0
    assert agent.reward(PrimitiveType.PUSH, False, True, swept_out=True) == 0.5  # the reference: a change is a change
    assert agent.label(0.5, True, 0.8) == pytest.approx(0.9)
    assert agent.label(0.0, False, 0.8) == 0.0  # no change: no future term
    before = np.zeros((SIZE, SIZE), np.float32)
    after = before.copy()
    after[:10, :30] = 0.05  # 300 cells: not more than 300
    assert changed_cells(before, after) == 300
    after[10, 0] = 0.05
    assert changed_cells(before, after) == 301
    after[50:60, 50:60] = 0.5  # too large a jump to be real, and below 1 cm: ignored
    after[70, 70] = 0.005
    assert changed_cells(before, after) == 301
    assert agent.epsilon(0) == 0.5 and agent.epsilon(10**6) == 0.1
    assert agent.epsilon(1000) == pytest.approx(0.5 * 0.9998 ** 1000)


def test_a_push_that_sweeps_an_object_out_earns_the_push_out_reward_when_set() -> None:
    agent = VPGAgent(VPGConfig(push_out_reward=-0.5), seed=0)
    assert agent.reward(PrimitiveType.PUSH, False, True, swept_out=True) == -0.5
    assert agent.reward(PrimitiveType.PUSH, False, True) == 0.5
    assert agent.reward(PrimitiveType.GRASP, True, True, swept_out=True) == 1.0  # only pushes are judged so
    assert VPGConfig.from_dict(agent.config.to_dict()).push_out_reward == -0.5  # kept in checkpoints


def test_replay_prefers_surprising_transitions_and_opposite_rewards() -> None:
    replay = SurpriseReplay(power=2.0)
    color, height = np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.float16)
    for i in range(100):
        replay.add(Transition(color, height, PrimitiveType.GRASP, 0, 0, 0, float(i % 2), 0.0, surprise=float(i)))
    rng = np.random.default_rng(0)
    draws = np.array([replay.sample(rng) for _ in range(4000)])
    assert draws.mean() > 60  # uniform would be 49.5
    assert np.sum(draws >= 90) > 5 * np.sum(draws < 10)
    successes = [replay.sample(rng, PrimitiveType.GRASP, 1.0) for _ in range(200)]
    assert all(replay.transitions[i].reward == 1.0 for i in successes)
    assert replay.sample(rng, PrimitiveType.PUSH) is None
    agent = VPGAgent(seed=0)
    chosen = agent.replay_indices(replay, 99, rng)  # the newest (index 99) is a success: replay a failure
    assert len(chosen) == 1 and replay.transitions[chosen[0]].reward == 0.0


def test_checkpoints_round_trip_and_refuse_corrupt_or_foreign_files(tmp_path) -> None:
    agent = VPGAgent(VPGConfig(grasp_only=True), seed=4)
    path = tmp_path / 'policy.pt'
    save_checkpoint(path, agent.state())
    loaded = agent_from_checkpoint(str(path))
    color, height = block_scene(4)
    heightmap = Heightmap(color=color, height=height, workspace=DEFAULT_WORKSPACE)
    np.testing.assert_array_equal(loaded.q_maps(heightmap)[1], agent.q_maps(heightmap)[1])
    assert np.isneginf(VPGPolicy(loaded).q_maps(heightmap)[0]).all()  # grasping-only never pushes
    assert VPGPolicy(loaded).decide(heightmap).primitive.type == PrimitiveType.GRASP

    truncated = tmp_path / 'truncated.pt'
    truncated.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match='corrupt'):
        agent_from_checkpoint(str(truncated))
    with pytest.raises(CheckpointError, match='does not exist'):
        agent_from_checkpoint(str(tmp_path / 'missing.pt'))
    wider = VPGAgent(VPGConfig(network=QNetConfig(width=8)), seed=0)
    state = wider.state()
    state['agent_config'] = agent.config.to_dict()  # claims width 32, holds width-8 weights
    save_checkpoint(tmp_path / 'mismatch.pt', state)
    with pytest.raises(CheckpointError, match='does not fit'):
        agent_from_checkpoint(str(tmp_path / 'mismatch.pt'))


def test_the_shipped_weights_are_a_vpg_policy_trained_with_the_push_out_reward() -> None:
    from pushgrasp_policy.checkpoint import SHIPPED, load_checkpoint
    from pushgrasp_policy.registry import policy_from_spec
    assert SHIPPED['shipped'] == SHIPPED['push-out']
    payload = load_checkpoint(SHIPPED['shipped'], required=('agent_config', 'network'))
    config = VPGConfig.from_dict(payload['agent_config'])
    assert config.push_out_reward == -0.5 and not config.grasp_only
    assert isinstance(policy_from_spec('shipped', seed=0), VPGPolicy)
    # The same training with the reference's reward rule alone is shipped beside it.
    reference = load_checkpoint(SHIPPED['reference-reward'], required=('agent_config', 'network'))
    assert VPGConfig.from_dict(reference['agent_config']).push_out_reward is None


def test_a_checkpoints_fingerprint_names_its_file_and_bytes(tmp_path) -> None:
    import hashlib
    from pushgrasp_policy.checkpoint import SHIPPED, checkpoint_fingerprint
    shipped = checkpoint_fingerprint('shipped')
    assert shipped == {'file': str(SHIPPED['shipped']),
                       'sha256': hashlib.sha256(SHIPPED['shipped'].read_bytes()).hexdigest()}
    assert checkpoint_fingerprint('reference-reward')['sha256'] != shipped['sha256']
    assert checkpoint_fingerprint('heuristic') == {} and checkpoint_fingerprint(tmp_path / 'missing.pt') == {}

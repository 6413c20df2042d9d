# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""On-robot learning without ROS: labels, one step per transition, checkpoints every K steps, resume."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from pushgrasp_control.primitives import PrimitiveType
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.workspace import Workspace
from pushgrasp_policy.bags import BagTransition
from pushgrasp_policy.checkpoint import CheckpointError, load_checkpoint
from pushgrasp_policy.networks import QNetConfig
from pushgrasp_policy.online import OnlineConfig, OnlineLearner, transition_from_message
from pushgrasp_policy.registry import policy_from_spec
from pushgrasp_policy.vpg import VPGAgent, VPGConfig, agent_from_checkpoint

SIZE = 32  # cells per side of the test heightmaps (2 mm)
WORKSPACE = Workspace(0.3, 0.3 + SIZE * 0.002, 0.0, SIZE * 0.002, 0.0, 0.3, 0.002)
AGENT = VPGConfig(network=QNetConfig(width=4), learning_rate=1e-3, extra_replays=1)


def scene(rng, rows=SIZE):
    """(colour, height) of a random block on the table."""
    height = np.zeros((rows, SIZE), np.float32)
    top, left = rng.integers(0, rows - 8), rng.integers(0, SIZE - 8)
    height[top:top + 8, left:left + 8] = 0.05
    return rng.integers(0, 255, (rows, SIZE, 3), dtype=np.uint8), height


def record(rng, step, *, kind=None, reward=None, changed=True, done=False, rotations=16, rows=SIZE):
    """A transition: pushes and grasps, with and without reward, alternating."""
    kind = PrimitiveType(step % 2) if kind is None else kind
    reward = [0.5, 1.0, 0.0, 0.0][step % 4] if reward is None else reward
    (color, height), (color_after, height_after) = scene(rng, rows), scene(rng, rows)
    return BagTransition(color, height, kind, step % rotations, 5 + step, 7, reward, changed, color_after,
                         height_after, WORKSPACE if rows == SIZE else Workspace(0.3, 0.364, 0.0, rows * 0.002, 0, 0.3),
                         rotations, kind == PrimitiveType.GRASP and reward > 0, done)


def weights(agent):
    return {k: v.detach().clone() for k, v in agent.net.state_dict().items()}


def same(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def test_each_transition_is_one_step_and_checkpoints_are_written_exactly_every_k_steps(tmp_path):
    agent = VPGAgent(AGENT, seed=1)
    initial = weights(agent)
    learner = OnlineLearner(agent, tmp_path / 'learning', OnlineConfig(checkpoint_every=3, base_checkpoint='x.pt'))
    assert not learner.resumed and learner.steps == 0
    rng = np.random.default_rng(0)
    written_at = []
    for i in range(7):
        step = learner.learn(record(rng, i))
        assert step.step == i + 1 and np.isfinite(step.loss) and np.isfinite(step.prediction)
        if step.checkpoint_written:
            written_at.append(step.step)
            saved = load_checkpoint(learner.checkpoint_path, required=('optimizer', 'replay', 'counters'))
            assert saved['counters']['steps'] == step.step and len(saved['replay']['label']) == step.step
            assert same(saved['network'], weights(agent))
        elif step.step < 3:
            assert not learner.checkpoint_path.exists() and not learner.policy_path.exists()
        else:
            assert load_checkpoint(learner.checkpoint_path)['counters']['steps'] == 3 * (step.step // 3)
    assert written_at == [3, 6] and learner.pending == 1
    assert not same(initial, weights(agent)), 'learning did not change the weights'
    # Atomic writes leave no temporary files; every transition's heightmap is kept for the replay.
    files = sorted(p.name for p in learner.directory.iterdir())
    assert files == ['checkpoint.pt', 'policy.pt', 'replay']
    assert len(list((learner.directory / 'replay').glob('*.npz'))) == 7
    # policy.pt is what `pushgrasp eval --policy` and the policy node's checkpoint parameter load.
    loaded = agent_from_checkpoint(str(learner.policy_path))
    assert same(weights(loaded), load_checkpoint(learner.checkpoint_path)['network'])
    assert load_checkpoint(learner.policy_path)['online_steps'] == 6
    assert policy_from_spec(str(learner.policy_path), 0).name == 'vpg'
    assert load_checkpoint(learner.checkpoint_path)['online_config']['base_checkpoint'] == 'x.pt'
    assert learner.flush() and load_checkpoint(learner.policy_path)['online_steps'] == 7
    assert not learner.flush()


def test_labels_count_the_future_only_when_the_scene_changed_and_the_episode_goes_on(tmp_path):
    agent = VPGAgent(AGENT, seed=2)
    learner = OnlineLearner(agent, tmp_path, OnlineConfig(checkpoint_every=100))
    rng = np.random.default_rng(1)
    going_on = record(rng, 0, kind=PrimitiveType.PUSH, reward=0.5)
    after = Heightmap(going_on.color_after, going_on.height_after, WORKSPACE)
    expected = 0.5 + AGENT.gamma * agent.best_value(after, *agent.q_maps(after))
    assert expected != pytest.approx(0.5)
    assert learner.learn(going_on).label == pytest.approx(expected, rel=1e-5)
    assert learner.learn(record(rng, 1, kind=PrimitiveType.GRASP, reward=1.0, done=True)).label == 1.0
    assert learner.learn(record(rng, 2, kind=PrimitiveType.PUSH, reward=0.0, changed=False)).label == 0.0
    assert [t.label for t in learner.replay.transitions][1:] == [1.0, 0.0]
    # The second push is replayed with the first (the opposite reward of the same primitive).
    assert learner.learn(record(rng, 3, kind=PrimitiveType.PUSH, reward=0.0, changed=False)).replayed >= 1


def test_a_learner_continues_the_checkpoint_of_an_earlier_session_exactly(tmp_path):
    rng = np.random.default_rng(3)
    records = [record(rng, i) for i in range(6)]
    first = OnlineLearner(VPGAgent(AGENT, seed=1), tmp_path, OnlineConfig(checkpoint_every=2))
    for r in records[:4]:
        first.learn(r)
    # The session that was never stopped goes on; the checkpoint on disk holds step 4.
    first.learn(records[4])
    uninterrupted = weights(first.agent)

    resumed = OnlineLearner(VPGAgent(AGENT, seed=99), tmp_path, OnlineConfig(checkpoint_every=2))
    assert resumed.resumed and resumed.steps == 4 and resumed.pending == 0 and len(resumed.replay) == 4
    assert resumed.full_shape == (SIZE, SIZE)
    assert same(weights(resumed.agent), load_checkpoint(tmp_path / 'checkpoint.pt')['network'])
    assert resumed.agent.optimizer.state_dict()['state'], 'the optimiser state was not restored'
    assert [t.label for t in resumed.replay.transitions] == [t.label for t in first.replay.transitions[:4]]
    step = resumed.learn(records[4])
    assert step.step == 5 and not step.checkpoint_written
    for key, value in weights(resumed.agent).items():
        torch.testing.assert_close(value, uninterrupted[key])
    assert resumed.learn(records[5]).checkpoint_written
    assert load_checkpoint(tmp_path / 'policy.pt')['online_steps'] == 6


def test_records_that_do_not_fit_are_refused_and_change_nothing(tmp_path):
    agent = VPGAgent(AGENT, seed=1)
    learner = OnlineLearner(agent, tmp_path, OnlineConfig(checkpoint_every=1))
    rng = np.random.default_rng(4)
    with pytest.raises(ValueError, match='8 rotations; the network has 16'):
        learner.learn(record(rng, 0, rotations=8))
    learner.learn(record(rng, 0))
    before = weights(agent)
    with pytest.raises(ValueError, match=f'heightmap is 16x{SIZE}, but this learner learns from {SIZE}x{SIZE}'):
        learner.learn(record(rng, 1, rows=16))
    with pytest.raises(ValueError, match='reward nan is not finite'):
        learner.learn(record(rng, 1, reward=float('nan')))
    assert learner.steps == 1 and len(learner.replay) == 1 and same(before, weights(agent))
    with pytest.raises(ValueError, match='checkpoint_every must be positive'):
        OnlineLearner(agent, tmp_path / 'other', OnlineConfig(checkpoint_every=0))


def test_a_checkpoint_of_another_network_or_with_missing_replay_files_is_refused(tmp_path):
    learner = OnlineLearner(VPGAgent(AGENT, seed=1), tmp_path, OnlineConfig(checkpoint_every=1))
    learner.learn(record(np.random.default_rng(5), 0))
    wider = VPGConfig(network=QNetConfig(width=8))
    with pytest.raises(CheckpointError, match='was written for the network'):
        OnlineLearner(VPGAgent(wider), tmp_path)
    (tmp_path / 'replay' / '000000.npz').unlink()
    with pytest.raises(CheckpointError, match='replay heightmap replay/000000.npz'):
        OnlineLearner(VPGAgent(AGENT), tmp_path)
    (tmp_path / 'checkpoint.pt').write_bytes(b'garbage')
    with pytest.raises(CheckpointError, match='corrupt'):
        OnlineLearner(VPGAgent(AGENT), tmp_path)


def image(array, encoding, channels, itemsize):
    return SimpleNamespace(height=array.shape[0], width=array.shape[1], encoding=encoding, is_bigendian=0,
                           step=array.shape[1] * channels * itemsize, data=array.tobytes())


def heightmap_message(color, height):
    w = WORKSPACE
    return SimpleNamespace(
        header=SimpleNamespace(stamp=SimpleNamespace(sec=1, nanosec=0), frame_id='base_link'),
        workspace=SimpleNamespace(x_min=w.x_min, x_max=w.x_max, y_min=w.y_min, y_max=w.y_max, z_min=w.z_min,
                                  z_max=w.z_max),
        resolution=w.resolution, color=image(color, 'rgb8', 3, 1), height=image(height, '32FC1', 1, 4),
        goal_mask=SimpleNamespace(width=0, height=0))


def test_transition_messages_convert_or_say_why_not():
    rng = np.random.default_rng(6)
    before, after = scene(rng), scene(rng)
    action = SimpleNamespace(type=1, rotation_index=3, row=4, col=5, num_rotations=16)
    msg = SimpleNamespace(state=heightmap_message(*before), next_state=heightmap_message(*after), action=action,
                          reward=1.0, scene_changed=True, grasp_success=True, episode_done=False)
    converted = transition_from_message(msg)
    assert converted.primitive == PrimitiveType.GRASP
    assert (converted.rotation, converted.row, converted.col) == (3, 4, 5)
    np.testing.assert_array_equal(converted.height_after, after[1])
    nan = before[1].copy()
    nan[0, 0] = np.nan
    msg.state = heightmap_message(before[0], nan)
    with pytest.raises(ValueError, match='not finite'):
        transition_from_message(msg)
    msg.state = heightmap_message(before[0][:16], before[1][:16])
    with pytest.raises(ValueError, match='wrong size'):
        transition_from_message(msg)

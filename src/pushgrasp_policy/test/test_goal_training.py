# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The goal-oriented training stages in the real simulator: their run files, the frozen discriminator, the push
reward in the log, exact resumption after a kill, and the stage's policy in a goal trial."""

from __future__ import annotations

import csv
from dataclasses import replace

import numpy as np
import pytest
import torch

from pushgrasp_policy.checkpoint import CheckpointError, load_checkpoint
from pushgrasp_policy.evaluation import EvaluationConfig
from pushgrasp_policy.goal_agent import GoalAgentConfig, GoalConditionedPolicy, push_reward
from pushgrasp_policy.goal_evaluation import GoalCase, run_goal_trial
from pushgrasp_policy.goal_policy import goal_policy_from_spec
from pushgrasp_policy.goal_trainer import GoalTrainConfig, GoalTrainer, with_network_of
from pushgrasp_policy.networks import QNetConfig
from pushgrasp_sim.env import PushGraspEnv, SimConfig

torch.set_num_threads(1)
AGENT = GoalAgentConfig(network=QNetConfig(width=8, extra_channels=1), learning_rate=1e-3, extra_replays=1)
COMPARED = ('transition', 'episode', 'scene', 'phase', 'goal', 'primitive', 'rotation', 'row', 'col', 'explored',
            'grasp_success', 'picked', 'goal_picked', 'relabelled', 'reward', 'label', 'goal_value')
NETS = ('grasp_network', 'push_network')
THREE_APART = """\
4.obj 0.305882 0.474510 0.654902 -0.600000 -0.120000 0.025000 0 0 0
3.obj 0.349020 0.631373 0.309804 -0.450000 0.000000 0.012500 0 0 0.5
8.obj 0.611765 0.458824 0.372549 -0.380000 0.130000 0.025000 0 0 0
"""


def quiet(line: str) -> None:
    """Drop progress lines."""


def rows_of(run_dir) -> list[dict]:
    """The rows of a run's transitions.csv."""
    with open(run_dir / 'transitions.csv', newline='') as log:
        return list(csv.DictReader(log))


@pytest.fixture(scope='module')
def grasp_run(tmp_path_factory):
    run = tmp_path_factory.mktemp('grasp_stage')
    config = GoalTrainConfig(stage='grasp', seed=2, transitions=6, num_objects=3, max_no_change=3,
                             checkpoint_every=2, agent=AGENT, torch_threads=0)
    figures = GoalTrainer(config, run, progress=quiet).run()
    return run, figures


def test_the_grasp_stage_writes_its_run_and_learns_only_grasps_with_relabelling(grasp_run):
    run, figures = grasp_run
    files = {'checkpoint.pt', 'policy.pt', 'config.json', 'transitions.csv', 'replay'}
    assert files <= {p.name for p in run.iterdir()}
    rows = rows_of(run)
    assert figures['transitions'] == len(rows) == 6 and figures['trained'] == {'grasp': 6, 'push': 0}
    assert all(r['primitive'] == 'grasp' and r['phase'] == 'grasp' for r in rows)
    for r in rows:
        picked = [int(i) for i in r['picked'].split()]
        assert float(r['reward']) == float(int(r['goal']) in picked) == float(r['goal_picked'])
        assert float(r['label']) == float(r['reward'])  # grasp_gamma 0: the grasp Q is the immediate success
        assert int(r['relabelled']) == len([i for i in picked if i != int(r['goal'])])
    # The stage's success rate is the goal grasp success of the grasps so far.
    goal_picked = [int(r['goal_picked']) for r in rows]
    assert [float(r['success_rate']) for r in rows] == pytest.approx(
        [np.mean(goal_picked[:i + 1]) for i in range(6)], abs=1e-3)
    # Every example (the goal's own and the relabelled ones) is in the replay, heightmap and goal mask on disk.
    checkpoint = load_checkpoint(run / 'checkpoint.pt', required=('replays', 'counters'))
    examples = len(rows) + sum(int(r['relabelled']) for r in rows)
    assert len(checkpoint['replays']['grasp']['reward']) == examples == len(list((run / 'replay' / 'grasp').iterdir()))
    assert len(checkpoint['replays']['push']['reward']) == 0
    # Its policy: the goal-conditioned grasping-only baseline.
    policy = goal_policy_from_spec(str(run / 'policy.pt'), seed=0)
    assert isinstance(policy, GoalConditionedPolicy) and policy.grasp_only


def test_later_stages_need_the_previous_stages_checkpoint_and_runs_keep_their_stage(grasp_run, tmp_path):
    with pytest.raises(ValueError, match='starts from the previous stage'):
        GoalTrainer(GoalTrainConfig(stage='push', agent=AGENT, torch_threads=0), tmp_path / 'push', progress=quiet)
    with pytest.raises(CheckpointError, match='checkpoint of the grasp stage, not of the push stage'):
        GoalTrainer(GoalTrainConfig(stage='push', agent=AGENT, torch_threads=0), grasp_run[0], resume=True,
                    progress=quiet)
    with pytest.raises(ValueError, match='stage must be one of'):
        GoalTrainConfig(stage='clear')
    # A later stage takes the networks of the stage it starts from (their settings need not be repeated) ...
    later = with_network_of(GoalTrainConfig(stage='push', init_from=str(grasp_run[0] / 'policy.pt')))
    assert later.agent.network == AGENT.network != GoalAgentConfig().network
    # ... and refuses to start from networks of another architecture.
    with pytest.raises(CheckpointError, match='does not fit'):
        GoalTrainer(GoalTrainConfig(stage='push', init_from=str(grasp_run[0] / 'policy.pt'), torch_threads=0),
                    tmp_path / 'wider', progress=quiet)


def test_the_push_stage_learns_pushes_from_the_frozen_discriminator(grasp_run, tmp_path):
    grasp_dir, _ = grasp_run
    run = tmp_path / 'push'
    config = GoalTrainConfig(stage='push', seed=3, transitions=8, num_objects=6, checkpoint_every=4,
                             agent=replace(AGENT, max_pushes=3), init_from=str(grasp_dir / 'checkpoint.pt'),
                             torch_threads=0)
    figures = GoalTrainer(config, run, progress=quiet).run()
    rows = rows_of(run)
    pushes = [r for r in rows if r['primitive'] == 'push']
    grasps = [r for r in rows if r['primitive'] == 'grasp']
    assert pushes and grasps and figures['trained'] == {'grasp': 6, 'push': len(pushes)}
    for r in pushes:  # every push is learned, with the discriminator's reward
        changed = int(r['changed_cells']) > AGENT.change_cells or bool(r['picked'])
        before, after = float(r['goal_value']), float(r['goal_value_after'])
        if abs(after - before - AGENT.value_improvement) > 1e-3:  # the log rounds to 4 decimals
            assert float(r['reward']) == push_reward(before, after, changed)
        assert r['label'] != ''
    for r in grasps:  # the episode's grasp ends it and is not learned from: the grasp network is frozen
        assert r['label'] == '' and r['loss'] == ''
    pushes_per_episode = [sum(r['primitive'] == 'push' for r in rows if r['episode'] == episode)
                          for episode in {r['episode'] for r in rows}]
    assert max(pushes_per_episode) <= 3  # max_pushes, then the grasp
    frozen = load_checkpoint(grasp_dir / 'policy.pt', required=NETS)['grasp_network']
    after = load_checkpoint(run / 'policy.pt', required=NETS)['grasp_network']
    assert all(torch.equal(tensor, after[name]) for name, tensor in frozen.items())

    # The stage's policy pushes and grasps in a goal trial, as `pushgrasp eval --method goal --policy` runs it.
    policy = goal_policy_from_spec(str(run / 'policy.pt'), seed=0)
    assert isinstance(policy, GoalConditionedPolicy) and not policy.grasp_only
    scene = tmp_path / 'three_apart.txt'
    scene.write_text(THREE_APART)
    with PushGraspEnv(SimConfig(segmentation=True)) as env:
        result = run_goal_trial(env, policy, GoalCase(scene=scene, goal_line=2), seed=1,
                                config=EvaluationConfig(max_actions=4))
    assert result.goal_object == 2 and 1 <= result.actions <= 4 and result.reason


def test_the_push_stage_can_also_reward_room_made_around_the_goal(grasp_run, tmp_path):
    run = tmp_path / 'clearance'
    agent = replace(AGENT, max_pushes=3, clearance_improvement=0.05)
    config = GoalTrainConfig(stage='push', seed=5, transitions=8, num_objects=6, checkpoint_every=4, agent=agent,
                             init_from=str(grasp_run[0] / 'checkpoint.pt'), torch_threads=0)
    GoalTrainer(config, run, progress=quiet).run()
    pushes = [r for r in rows_of(run) if r['primitive'] == 'push']
    assert pushes
    for r in pushes:  # the logged room before and after the push decides the reward with the value
        changed = int(r['changed_cells']) > AGENT.change_cells or bool(r['picked'])
        before, after = float(r['goal_value']), float(r['goal_value_after'])
        room, room_after = float(r['goal_clearance']), float(r['goal_clearance_after'])
        assert 0.0 <= room <= 1.0 and 0.0 <= room_after <= 1.0
        gain = room_after - room
        if abs(after - before - AGENT.value_improvement) > 1e-3 and abs(gain - 0.05) > 1e-3:  # log rounding
            assert float(r['reward']) == push_reward(before, after, changed, clearance_gain=gain,
                                                     clearance_improvement=0.05)
    assert load_checkpoint(run / 'policy.pt', required=NETS)['goal_agent_config']['clearance_improvement'] == 0.05


def test_a_stage_can_start_its_network_from_goal_agnostic_weights(grasp_run, tmp_path):
    from pushgrasp_policy.checkpoint import save_checkpoint
    from pushgrasp_policy.vpg import VPGAgent, VPGConfig
    save_checkpoint(tmp_path / 'vpg.pt', VPGAgent(VPGConfig(network=QNetConfig(width=8)), seed=1).state())
    lines = []
    config = GoalTrainConfig(stage='push', seed=5, transitions=2, num_objects=4, agent=AGENT,
                             init_from=str(grasp_run[0] / 'checkpoint.pt'), vpg_init=str(tmp_path / 'vpg.pt'),
                             torch_threads=0)
    trainer = GoalTrainer(config, tmp_path / 'run', progress=lines.append)
    assert any('push network starting from the goal-agnostic weights' in line for line in lines)
    vpg_first = load_checkpoint(tmp_path / 'vpg.pt')['network']['push_trunk.0.0.weight']
    first = trainer.agent.nets['push'].state_dict()['push_trunk.0.0.weight']
    assert torch.equal(first[:, :4], vpg_first) and not first[:, 4].any()  # the goal channel weighted zero
    stage = load_checkpoint(grasp_run[0] / 'checkpoint.pt', required=NETS)['grasp_network']
    assert all(torch.equal(t, trainer.agent.nets['grasp'].state_dict()[k]) for k, t in stage.items())
    trainer.run()
    assert load_checkpoint(tmp_path / 'run' / 'checkpoint.pt', required=NETS)['goal_train_config']['vpg_init']


@pytest.mark.parametrize('switch_explore', [0.0, 1.0])
def test_grasp_phases_can_grasp_the_goal_before_the_switch_would(grasp_run, tmp_path, switch_explore):
    """With switch_explore 1 every grasp-phase step grasps (and learns) the goal; push phases keep the switch."""
    agent = replace(AGENT, max_pushes=2, grasp_threshold=2.0)  # the switch itself grasps only after 2 pushes
    config = GoalTrainConfig(stage='alternate', seed=6, transitions=10, num_objects=4, checkpoint_every=5,
                             alternate_push_episodes=1, alternate_grasp_episodes=2, agent=agent,
                             init_from=str(grasp_run[0] / 'checkpoint.pt'), switch_explore=switch_explore,
                             torch_threads=0)
    GoalTrainer(config, tmp_path / 'run', progress=quiet).run()
    rows = rows_of(tmp_path / 'run')
    by_phase = {phase: [r['primitive'] for r in rows if r['phase'] == phase] for phase in ('push', 'grasp')}
    assert 'push' in by_phase['push']  # the push phases push before their grasp, as the switch says
    if switch_explore:
        assert set(by_phase['grasp']) == {'grasp'}
        assert all(r['label'] != '' for r in rows if r['phase'] == 'grasp')  # learned, every one
    else:
        assert 'push' in by_phase['grasp']
    with pytest.raises(ValueError, match='switch_explore is a setting of the alternate stage'):
        GoalTrainConfig(stage='push', switch_explore=0.5)
    with pytest.raises(ValueError, match=r'switch_explore must be in \[0, 1\]'):
        GoalTrainConfig(stage='alternate', switch_explore=1.5)


def test_a_stage_resumes_after_a_kill_exactly_like_an_uninterrupted_run(grasp_run, tmp_path):
    config = GoalTrainConfig(stage='alternate', seed=4, transitions=14, num_objects=4, checkpoint_every=1,
                             alternate_push_episodes=1, alternate_grasp_episodes=1, agent=replace(AGENT, max_pushes=2),
                             init_from=str(grasp_run[0] / 'checkpoint.pt'), torch_threads=0)
    reference, killed = tmp_path / 'reference', tmp_path / 'killed'
    GoalTrainer(config, reference, progress=quiet).run()

    class Killed(Exception):
        pass

    def kill_at_8(line: str) -> None:
        if f'] 8/{config.transitions} ' in line:
            raise Killed  # like a SIGKILL after transition 8: nothing is saved on the way out
    with pytest.raises(Killed):
        GoalTrainer(config, killed, progress=kill_at_8).run()
    stopped_at = load_checkpoint(killed / 'checkpoint.pt', required=('counters',))['counters']['transition']
    assert 0 < stopped_at < 8  # the transitions after the checkpoint are lost and must be redone identically

    lines = []
    GoalTrainer(config, killed, resume=True, progress=lines.append).run()
    assert f'resumed {killed} (alternate stage) at transition {stopped_at}, episode' in lines[0]
    expected, got = rows_of(reference), rows_of(killed)
    assert len(expected) == len(got) == 14
    assert {r['phase'] for r in expected} == {'push', 'grasp'}  # both networks learned in this run
    assert [{k: r[k] for k in COMPARED} for r in got] == [{k: r[k] for k in COMPARED} for r in expected]
    for name in ('grasp_network', 'push_network'):
        reference_weights = load_checkpoint(reference / 'policy.pt', required=NETS)[name]
        resumed_weights = load_checkpoint(killed / 'policy.pt', required=NETS)[name]
        assert all(torch.equal(tensor, resumed_weights[key]) for key, tensor in reference_weights.items()), name


def test_packed_training_scenes_are_written_as_test_cases_and_used(tmp_path):
    config = GoalTrainConfig(stage='grasp', seed=3, transitions=2, num_objects=3, packed_fraction=1.0,
                             checkpoint_every=2, agent=AGENT, torch_threads=0)
    trainer = GoalTrainer(config, tmp_path, progress=quiet)
    trainer.run()
    scenes = sorted((tmp_path / 'scenes').glob('scene_*.txt'))
    assert scenes and scenes[0].name == 'scene_000000.txt'
    objects = [line for line in scenes[0].read_text().splitlines() if line.strip() and not line.startswith('#')]
    assert len(scenes) == trainer.scene and len(objects) == len(trainer.env.scene.objects) >= 3
    with pytest.raises(ValueError, match='packed_fraction'):
        GoalTrainConfig(packed_fraction=1.5)

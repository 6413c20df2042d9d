# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The trainer's experience as rosbag2 bags: read back like a graph recording, cut back to checkpoints, resumed
from, trained on offline, and the start of an online run after an offline one."""

from __future__ import annotations

import csv
import json
import shutil
from itertools import pairwise

import numpy as np
import torch
from rosbags.highlevel import AnyReader

from pushgrasp.cli import main
from pushgrasp_control.primitives import PrimitiveType, primitive_from_pixel
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.workspace import Workspace
from pushgrasp_policy.bags import read_transitions
from pushgrasp_policy.checkpoint import load_checkpoint
from pushgrasp_policy.experience import ExperienceLog, segments
from pushgrasp_policy.networks import QNetConfig
from pushgrasp_policy.offline import OfflineConfig, OfflineTrainer
from pushgrasp_policy.trainer import Trainer, TrainConfig
from pushgrasp_policy.vpg import VPGConfig

AGENT = VPGConfig(network=QNetConfig(width=4), learning_rate=1e-3)


def small_run(run_dir, transitions: int, **extra) -> Trainer:
    """A trainer on two-object scenes with a tiny network, checkpoints every 2 transitions."""
    config = TrainConfig(seed=4, transitions=transitions, num_objects=2, checkpoint_every=2, agent=AGENT, **extra)
    return Trainer(config, run_dir, progress=lambda line: None)


def csv_rows(run_dir) -> list[dict]:
    with open(run_dir / 'transitions.csv', newline='') as log:
        return list(csv.DictReader(log))


def test_the_trainers_bag_reads_back_like_a_graph_recording_and_rebuilds_the_replay(tmp_path):
    run = tmp_path / 'run'
    trainer = small_run(run, 4)
    trainer.run()
    found = segments(run / 'experience')
    assert sum(count for _, count, _ in found) == 4 and found[0][0] == 0
    assert not (run / 'replay').exists()  # the bag is the only store of the replay's heightmaps

    messages = []
    for _, _, path in found:
        with AnyReader([path]) as reader:
            assert {c.topic: c.msgtype for c in reader.connections} == {
                '/transitions': 'pushgrasp_interfaces/msg/Transition'}
            assert all('pushgrasp_interfaces/Heightmap' in c.msgdef.data for c in reader.connections)
            messages += [reader.deserialize(raw, c.msgtype) for c, _, raw in reader.messages()]
    rows = csv_rows(run)
    assert [(m.episode_id, m.action.type, m.action.rotation_index, m.action.row, m.action.col, m.reward)
            for m in messages] == [(int(r['episode']), PrimitiveType[r['primitive'].upper()], int(r['rotation']),
                                    int(r['row']), int(r['col']), float(r['reward'])) for r in rows]
    first = messages[0]
    assert first.state.height.encoding == '32FC1' and (first.state.height.height, first.state.height.width) == (
        224, 224)
    assert first.header.frame_id == 'base_link' and first.action.num_rotations == 16
    assert messages[-1].episode_done  # the budget ends the last episode
    steps = [m.step_id for m in messages]
    assert steps[0] == 0 and all(b in (a + 1, 0) for a, b in pairwise(steps))

    records, skipped = read_transitions([run / 'experience'])  # the folder of segments, as --from-bag takes it
    assert len(records) == 4 and skipped == {}
    offline = OfflineTrainer(OfflineConfig(seed=1, steps=2, checkpoint_every=2, agent=AGENT), tmp_path / 'offline',
                             progress=lambda line: None)
    assert offline.run(records)['steps'] == 2

    # --resume rebuilds exactly the replay the run had, from the bag and the checkpoint's labels and surprises.
    resumed = Trainer(trainer.config, run, resume=True, progress=lambda line: None)
    assert len(resumed.replay) == len(trainer.replay) == 4
    for before, after in zip(trainer.replay.transitions, resumed.replay.transitions, strict=True):
        assert np.array_equal(before.color, after.color) and np.array_equal(before.height, after.height)
        assert (before.primitive, before.row, before.col, before.label, before.surprise) == (
            after.primitive, after.row, after.col, after.label, after.surprise)
    assert resumed.run()['transitions'] == 4  # nothing left to do: the bag is not written again
    assert sum(count for _, count, _ in segments(run / 'experience')) == 4

    # A run of an earlier version kept the replay's heightmaps in replay/NNNNNN.npz: it still resumes exactly.
    shutil.rmtree(run / 'experience')
    (run / 'replay').mkdir()
    for i, entry in enumerate(trainer.replay.transitions):
        np.savez_compressed(run / 'replay' / f'{i:06d}.npz', color=entry.color, height=entry.height)
    config = trainer.config
    config.transitions = 5
    legacy = Trainer(config, run, resume=True, progress=lambda line: None)
    for before, after in zip(trainer.replay.transitions, legacy.replay.transitions, strict=True):
        assert np.array_equal(before.height, after.height) and before.label == after.label
    legacy.run()
    assert [(start, count) for start, count, _ in segments(run / 'experience')] == [(4, 1)]


def heightmap(seed: int) -> Heightmap:
    rng = np.random.default_rng(seed)
    workspace = Workspace(0.3, 0.3 + 32 * 0.002, 0.0, 32 * 0.002, 0.0, 0.3)
    height = np.zeros((32, 32), np.float32)
    height[rng.integers(0, 24):, :8] = 0.05
    return Heightmap(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8), height, workspace, stamp_ns=seed)


def write(log: ExperienceLog, index: int) -> None:
    state = heightmap(index)
    primitive = primitive_from_pixel(PrimitiveType.PUSH, index % 16, 3, index % 32, state.height, state.workspace)
    log.write(episode_id=0, step_id=index, state=state, primitive=primitive, reward=0.5,
              next_state=heightmap(index + 1), grasp_success=False, scene_changed=True, episode_done=False)


def test_experience_after_the_last_checkpoint_is_dropped_so_redone_transitions_are_not_duplicated(tmp_path):
    folder = tmp_path / 'experience'
    log = ExperienceLog(folder, 0)
    for i in range(3):
        write(log, i)
    log.commit()  # checkpoint at 3
    for i in range(3, 5):
        write(log, i)  # then killed: the pending segment is never published
    assert [count for _, count, _ in segments(folder)] == [3]

    log = ExperienceLog(folder, 3)  # resumed at the checkpoint
    assert not (folder / '.pending').exists()
    for i in range(3, 6):
        write(log, i)
    log.commit()  # published, but killed before checkpoint.pt was written: the checkpoint still says 3
    assert [start for start, _, _ in segments(folder)] == [0, 3]

    log = ExperienceLog(folder, 3)
    assert [start for start, _, _ in segments(folder)] == [0]
    for i in range(3, 7):
        write(log, i)
    log.commit()
    log.close()
    records, skipped = read_transitions([folder])
    assert skipped == {} and [r.col for r in records] == [i % 32 for i in range(7)]
    assert np.array_equal(records[5].height_before, heightmap(5).height)
    ExperienceLog(folder, 0).close()  # a new run in the folder starts a new bag
    assert segments(folder) == []


def test_online_training_continues_from_an_offline_run_with_its_replay_preloaded(tmp_path, capsys):
    small_run(tmp_path / 'recorded', 3).run()
    bag = str(tmp_path / 'recorded' / 'experience')
    records, _ = read_transitions([bag])
    offline = OfflineTrainer(OfflineConfig(seed=2, steps=3, checkpoint_every=3, agent=AGENT), tmp_path / 'offline',
                             progress=lambda line: None)
    offline.run(records)
    saved = load_checkpoint(tmp_path / 'offline' / 'checkpoint.pt', required=('optimizer',))

    online = small_run(tmp_path / 'online', 1, init_from=str(tmp_path / 'offline' / 'checkpoint.pt'), preload=[bag])
    for name, tensor in online.agent.net.state_dict().items():
        assert torch.equal(tensor, saved['network'][name]), name
    assert online.agent.optimizer.state_dict()['state'][0]['step'] == 3  # Adam's state came along
    assert online.preloaded == len(online.replay) == 3
    online.run()
    assert len(online.replay) == 4
    counters = load_checkpoint(tmp_path / 'online' / 'checkpoint.pt', required=('counters',))['counters']
    assert counters['preloaded'] == 3 and counters['transition'] == 1

    config = online.config
    config.transitions = 2
    resumed = Trainer(config, tmp_path / 'online', resume=True, progress=lambda line: None)
    assert resumed.preloaded == 3 and len(resumed.replay) == 4
    for before, after in zip(online.replay.transitions, resumed.replay.transitions, strict=True):
        assert np.array_equal(before.height, after.height) and before.label == after.label
    assert resumed.run()['transitions'] == 2

    # The command line keeps the checkpoint's network and refuses another one.
    assert main(['train', '--init-from', str(tmp_path / 'offline' / 'checkpoint.pt'), '--width', '8',
                 '--out', str(tmp_path / 'refused')]) == 2
    assert 'leave out --trunk and --width' in capsys.readouterr().err
    assert main(['train', '--from-bag', bag, '--init-from', 'shipped', '--out', str(tmp_path / 'refused')]) == 2
    # An offline checkpoint is not resumed as an online run.
    assert main(['train', '--out', str(tmp_path / 'offline'), '--resume', '--width', '4']) == 2
    assert 'offline run' in capsys.readouterr().err


def test_bench_bags_reports_read_and_recording_figures(tmp_path):
    out = tmp_path / 'bags.json'
    assert main(['bench', 'bags', '--bag-transitions', '12', '--transitions', '2', '--json', str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures['transitions'] == 12 and figures['read_s'] > 0 and figures['kb_per_transition'] > 1
    assert figures['trainer_transitions'] == 2 and 0 < figures['recording_share'] < 1
    assert figures['label_ms'] > 0

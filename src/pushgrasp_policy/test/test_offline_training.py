# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Offline training from bags: transitions read back (skipping bad records), training changes the weights."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess

import numpy as np
import pytest
import torch
from rosbags.rosbag2 import StoragePlugin, Writer

from pushgrasp.recording import DEFAULT_TOPICS, BagRecorder
from pushgrasp_control.primitives import PrimitiveType
from pushgrasp_policy.bags import read_transitions
from pushgrasp_policy.checkpoint import load_checkpoint
from pushgrasp_policy.networks import QNetConfig
from pushgrasp_policy.offline import OfflineConfig, OfflineTrainer
from pushgrasp_policy.vpg import VPGAgent, VPGConfig

SIZE = 32  # cells per side of the test heightmaps (2 mm)
AGENT = VPGConfig(network=QNetConfig(width=4), learning_rate=1e-3)


def heightmap_msg(store, rng, rows=SIZE, cols=SIZE, nan=False):
    """A Heightmap message (rosbags object) with a random block on it."""
    ns = store.types
    time = ns['builtin_interfaces/msg/Time'](sec=1, nanosec=0)
    header = ns['std_msgs/msg/Header'](stamp=time, frame_id='base_link')
    height = np.zeros((rows, cols), np.float32)
    height[rng.integers(0, rows - 8):, :8] = 0.05
    if nan:
        height[0, 0] = np.nan
    color = rng.integers(0, 255, (rows, cols, 3), dtype=np.uint8)

    def image(array, encoding, channels, itemsize):
        return ns['sensor_msgs/msg/Image'](header=header, height=array.shape[0], width=array.shape[1],
                                           encoding=encoding, is_bigendian=0, step=array.shape[1] * channels * itemsize,
                                           data=np.frombuffer(array.tobytes(), np.uint8))
    workspace = ns['pushgrasp_interfaces/msg/Workspace'](x_min=0.3, x_max=0.3 + SIZE * 0.002, y_min=0.0,
                                                         y_max=SIZE * 0.002, z_min=0.0, z_max=0.3)
    empty = ns['sensor_msgs/msg/Image'](header=header, height=0, width=0, encoding='', is_bigendian=0, step=0,
                                        data=np.zeros(0, np.uint8))
    return ns['pushgrasp_interfaces/msg/Heightmap'](header=header, workspace=workspace, resolution=0.002,
                                                    color=image(color, 'rgb8', 3, 1),
                                                    height=image(height, '32FC1', 1, 4), goal_mask=empty)


def transition_msg(store, rng, step, kind=0, row=5, col=5, state=None, reward=0.5):
    """A Transition message (rosbags object)."""
    ns = store.types
    header = ns['std_msgs/msg/Header'](stamp=ns['builtin_interfaces/msg/Time'](sec=step, nanosec=0),
                                       frame_id='base_link')
    action = ns['pushgrasp_interfaces/msg/Primitive'](
        header=header, type=kind, row=row, col=col, rotation_index=step % 16, num_rotations=16,
        rotation_angle=0.0, position=ns['geometry_msgs/msg/Point'](x=0.0, y=0.0, z=0.0), yaw=0.0,
        push_direction=ns['geometry_msgs/msg/Vector3'](x=1.0, y=0.0, z=0.0), push_length=0.1, q_value=0.0)
    return ns['pushgrasp_interfaces/msg/Transition'](
        header=header, episode_id=0, step_id=step, state=state or heightmap_msg(store, rng), action=action,
        reward=reward, next_state=heightmap_msg(store, rng), grasp_success=kind == 1 and reward > 0,
        scene_changed=reward > 0, episode_done=False)


def write_bag(path, transitions):
    """Write `transitions` (a function of the typestore and an rng) to an MCAP bag at `path`."""
    with BagRecorder(path) as bag:
        for topic in DEFAULT_TOPICS[:2]:
            bag.add_topic(topic)
        rng = np.random.default_rng(0)
        for i, msg in enumerate(transitions(bag.typestore, rng)):
            bag.write('/transitions', (i + 1) * 10**9,
                      bag.typestore.serialize_cdr(msg, 'pushgrasp_interfaces/msg/Transition'))


def good(store, rng):
    """Six consistent transitions: pushes and grasps, with and without reward."""
    return [transition_msg(store, rng, i, kind=i % 2, reward=[0.5, 1.0, 0.0, 0.0, 0.5, 1.0][i]) for i in range(6)]


def test_offline_training_from_a_bag_changes_the_weights(tmp_path):
    write_bag(tmp_path / 'bag', good)
    records, skipped = read_transitions([tmp_path / 'bag'])
    assert len(records) == 6 and skipped == {}
    assert records[1].primitive == PrimitiveType.GRASP and records[1].color_before.shape == (SIZE, SIZE, 3)
    assert records[0].height_before.dtype == np.float32 and records[0].height_before.max() == pytest.approx(0.05)

    before = {k: v.clone() for k, v in VPGAgent(AGENT, seed=1).net.state_dict().items()}
    trainer = OfflineTrainer(OfflineConfig(seed=1, steps=4, checkpoint_every=2, agent=AGENT), tmp_path / 'run',
                             progress=lambda line: None)
    figures = trainer.run(records)
    assert figures['steps'] == 4 and figures['transitions'] == 6 and np.isfinite(figures['final_loss'])
    saved = load_checkpoint(tmp_path / 'run' / 'policy.pt')['network']
    assert saved.keys() == before.keys()
    assert any(not torch.equal(before[k], saved[k]) for k in before)
    with open(tmp_path / 'run' / 'steps.csv', newline='') as log:
        rows = list(csv.DictReader(log))
    assert [int(r['step']) for r in rows] == [1, 2, 3, 4] and all(np.isfinite(float(r['loss'])) for r in rows)
    assert load_checkpoint(tmp_path / 'run' / 'checkpoint.pt', required=('optimizer', 'replay'))['counters'][
        'step'] == 4
    assert all(np.isfinite(t.surprise) for t in trainer.replay.transitions if t.surprise != float('inf'))


def test_inconsistent_records_are_skipped_and_counted(tmp_path):
    def mixed(store, rng):
        small = heightmap_msg(store, rng, rows=SIZE // 2)  # a state that disagrees with its workspace
        return good(store, rng)[:2] + [
            transition_msg(store, rng, 2, state=small),
            transition_msg(store, rng, 3, kind=7),
            transition_msg(store, rng, 4, row=SIZE),
            transition_msg(store, rng, 5, state=heightmap_msg(store, rng, nan=True)),
            transition_msg(store, rng, 6, reward=float('nan')),
        ]
    write_bag(tmp_path / 'bag', mixed)
    records, skipped = read_transitions([tmp_path / 'bag'])
    assert len(records) == 2
    assert skipped == {'wrong size': 1, 'unknown primitive type': 1, 'pixel outside the map': 1, 'not finite': 2}


def test_foreign_and_truncated_bags_give_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match='does not exist'):
        read_transitions([tmp_path / 'nothing'])
    (tmp_path / 'folder').mkdir()
    with pytest.raises(ValueError, match='not a rosbag2 bag: no metadata.yaml'):
        read_transitions([tmp_path / 'folder'])
    (tmp_path / 'notes.txt').write_text('not a bag\n')
    with pytest.raises(ValueError, match='cannot read bag'):
        read_transitions([tmp_path / 'notes.txt'])

    write_bag(tmp_path / 'bag', good)
    truncated = tmp_path / 'truncated'
    shutil.copytree(tmp_path / 'bag', truncated)
    data = (truncated / 'bag.mcap').read_bytes()
    (truncated / 'bag.mcap').write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match='cannot read bag'):
        read_transitions([truncated])

    writer = Writer(tmp_path / 'unknown', version=9, storage_plugin=StoragePlugin.MCAP)  # a type with no definition
    writer.open()
    connection = writer.add_connection('/widget', 'acme_msgs/msg/Widget', msgdef='', rihs01='RIHS01_' + '0' * 64)
    writer.write(connection, 1, bytes(8))
    writer.close()
    with pytest.raises(ValueError, match='cannot read bag .* unknown type'):
        read_transitions([tmp_path / 'unknown'])

    with BagRecorder(tmp_path / 'strings') as bag:  # a bag without transitions
        bag.add_topic(DEFAULT_TOPICS[2])
    with pytest.raises(ValueError, match='holds no pushgrasp_interfaces/msg/Transition topic'):
        read_transitions([tmp_path / 'strings'])


def test_the_cli_trains_from_a_bag(tmp_path):
    write_bag(tmp_path / 'bag', good)
    report = tmp_path / 'figures.json'
    run = subprocess.run([shutil.which('pushgrasp'), 'train', '--from-bag', str(tmp_path / 'bag'), '--steps', '2',
                          '--width', '4', '--out', str(tmp_path / 'run'), '--json', str(report)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert 'read 6 transitions from 1 bag(s); skipped 0' in run.stdout and 'final loss' in run.stdout
    figures = json.loads(report.read_text())
    assert figures['steps'] == 2 and figures['transitions_read'] == 6
    assert (tmp_path / 'run' / 'policy.pt').exists()
    bad = subprocess.run([shutil.which('pushgrasp'), 'train', '--from-bag', str(tmp_path / 'missing'), '--out',
                          str(tmp_path / 'run2')], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and 'does not exist' in bad.stderr


def step_rows(run_dir) -> list[dict]:
    """steps.csv of an offline run without its wall times."""
    with open(run_dir / 'steps.csv', newline='') as log:
        return [{k: v for k, v in row.items() if k != 'wall_time_s'} for row in csv.DictReader(log)]


def test_an_offline_run_resumes_exactly_from_its_checkpoint(tmp_path):
    write_bag(tmp_path / 'bag', good)
    records, _ = read_transitions([tmp_path / 'bag'])
    quiet = {'progress': lambda line: None}
    OfflineTrainer(OfflineConfig(seed=3, steps=6, checkpoint_every=2, agent=AGENT), tmp_path / 'reference',
                   **quiet).run(records)

    stopped = tmp_path / 'stopped'
    OfflineTrainer(OfflineConfig(seed=3, steps=4, checkpoint_every=2, agent=AGENT), stopped, **quiet).run(records)
    with open(stopped / 'steps.csv', 'a') as log:  # a step logged after the last checkpoint, then killed
        log.write('5,0,push,0.5,0.5,0.1,0.1,1.0\n')
    resumed = OfflineTrainer(OfflineConfig(seed=3, steps=6, checkpoint_every=2, agent=AGENT), stopped, resume=True,
                             **quiet)
    figures = resumed.run(records)
    assert figures['steps'] == 6
    assert step_rows(stopped) == step_rows(tmp_path / 'reference')  # the same draws, labels, predictions, losses
    reference = load_checkpoint(tmp_path / 'reference' / 'policy.pt')['network']
    for name, tensor in load_checkpoint(stopped / 'policy.pt')['network'].items():
        assert torch.equal(tensor, reference[name]), name

    other = tmp_path / 'other'  # a resume with other bags is refused
    write_bag(other, lambda store, rng: good(store, rng)[::-1])
    others, _ = read_transitions([other])
    with pytest.raises(ValueError, match='differs from the transitions the checkpoint was trained on'):
        OfflineTrainer(OfflineConfig(seed=3, steps=8, agent=AGENT), stopped, resume=True, **quiet).run(others)

    run = subprocess.run([shutil.which('pushgrasp'), 'train', '--from-bag', str(tmp_path / 'bag'), '--steps', '7',
                          '--width', '4', '--lr', '1e-3', '--seed', '3', '--out', str(stopped), '--resume'],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f'resumed {stopped} at step 6' in run.stderr and 'steps: 7' in run.stdout

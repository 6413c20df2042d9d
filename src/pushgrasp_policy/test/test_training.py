# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The trainer end to end in the real simulator: it learns to grasp, and resumes exactly after a kill."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from pushgrasp_control.primitives import PrimitiveType, primitive_from_pixel
from pushgrasp_policy.bags import read_transitions
from pushgrasp_policy.checkpoint import load_checkpoint
from pushgrasp_policy.decision import grasp_mask
from pushgrasp_policy.networks import QNetConfig
from pushgrasp_policy.trainer import Trainer, TrainConfig, heightmap_of
from pushgrasp_policy.vpg import VPGConfig, VPGPolicy, agent_from_checkpoint
from pushgrasp_sim.env import PushGraspEnv

COMPARED = ('transition', 'episode', 'primitive', 'rotation', 'row', 'col', 'explored', 'grasp_success', 'reward',
            'label')


def first_grasp_success(env: PushGraspEnv, choose, seeds) -> float:
    """Fraction of single-object scenes whose first grasp (chosen by `choose(heightmap, rng)`) succeeds."""
    successes = []
    for seed in seeds:
        heightmap = heightmap_of(env.reset(seed, 1), env)
        primitive = choose(heightmap, np.random.default_rng(seed))
        successes.append(env.step(primitive)[1].grasp_success)
    return float(np.mean(successes))


def random_grasp(heightmap, rng):
    """A grasp at a random pixel with something underneath, at a random rotation (chance level)."""
    rows, cols = np.nonzero(grasp_mask(heightmap))
    k = int(rng.integers(len(rows)))
    return primitive_from_pixel(PrimitiveType.GRASP, int(rng.integers(16)), int(rows[k]), int(cols[k]),
                                heightmap.height, heightmap.workspace)


def test_a_short_run_on_one_isolated_block_learns_to_grasp_well_above_chance(tmp_path):
    config = TrainConfig(seed=3, transitions=250, num_objects=1, checkpoint_every=50,
                         agent=VPGConfig(grasp_only=True, learning_rate=5e-4, extra_replays=3))
    figures = Trainer(config, tmp_path, progress=lambda line: None).run()
    assert figures["transitions"] == 250
    policy = VPGPolicy(agent_from_checkpoint(str(tmp_path / 'policy.pt')))
    held_out = range(500, 540)
    with PushGraspEnv() as env:
        learned = first_grasp_success(env, lambda hm, rng: policy.decide(hm).primitive, held_out)
        chance = first_grasp_success(env, random_grasp, held_out)
    print(f'first-grasp success: learned {learned:.2f}, chance {chance:.2f}')
    # Chance is high on one block (a random grasp on the block often works): the learned policy must fail
    # at most half as often.
    assert learned >= 0.8 and 1.0 - learned <= 0.5 * (1.0 - chance)


def test_training_curve_is_the_running_grasp_success(tmp_path):
    from pushgrasp_policy.curves import plot_curves, training_curve, write_curve_csv
    run = tmp_path / 'run'
    run.mkdir()
    kinds = ['grasp', 'push'] * 50  # grasps at even transitions; the first 20 grasps fail, the rest succeed
    with open(run / 'transitions.csv', 'w', newline='') as log:
        writer = csv.DictWriter(log, fieldnames=['transition', 'primitive', 'grasp_success'])
        writer.writeheader()
        for i, kind in enumerate(kinds):
            writer.writerow({'transition': i + 1, 'primitive': kind,
                             'grasp_success': int(kind == 'grasp' and i >= 40)})
    curve = training_curve(run, window=20, every=20)
    assert [row['transition'] for row in curve] == [20, 40, 60, 80, 100]
    assert [row['grasp_success_rate'] for row in curve] == [0.0, 0.0, 1.0, 1.0, 1.0]
    assert all(row['push_fraction'] == 0.5 and row['grasp_attempts'] == 10 for row in curve)
    write_curve_csv(curve, tmp_path / 'curve.csv')
    plot_curves(curve, tmp_path / 'curve.png')
    assert (tmp_path / 'curve.png').read_bytes()[:4] == b'\x89PNG'
    assert len((tmp_path / 'curve.csv').read_text().splitlines()) == 6


def read_rows(run_dir) -> list[dict]:
    """The compared columns of a run's transitions.csv."""
    with open(run_dir / 'transitions.csv', newline='') as log:
        return [{k: row[k] for k in COMPARED} for row in csv.DictReader(log)]


def train_command(run_dir, *extra: str) -> list[str]:
    """`pushgrasp train` on two-object scenes with a small network (as a separate process)."""
    return [sys.executable, '-m', 'pushgrasp.cli', 'train', '--out', str(run_dir), '--seed', '5', '--objects', '2',
            '--transitions', '24', '--checkpoint-every', '4', '--width', '8', '--extra-replays', '1',
            '--eval-every', '4', '--eval-trials', '1', '--eval-objects', '1', *extra]


@pytest.mark.timeout(600)
def test_resume_after_a_kill_continues_exactly_like_an_uninterrupted_run(tmp_path):
    reference, killed = tmp_path / 'reference', tmp_path / 'killed'
    subprocess.run(train_command(reference), check=True, capture_output=True, timeout=300)

    process = subprocess.Popen(train_command(killed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    checkpoint = killed / 'checkpoint.pt'
    while time.monotonic() < deadline and process.poll() is None:
        if checkpoint.exists() and load_checkpoint(checkpoint, required=('counters',))['counters']['transition'] >= 4:
            break
        time.sleep(0.2)
    assert process.poll() is None, 'the run ended before it could be killed'
    time.sleep(1.0)  # let it go on past the checkpoint: that work is lost and must be redone identically
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    stopped_at = load_checkpoint(checkpoint, required=('counters',))['counters']['transition']
    assert 4 <= stopped_at < 24

    resumed = subprocess.run(train_command(killed, '--resume'), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f'resumed {killed} at transition {stopped_at}' in resumed.stderr
    expected, got = read_rows(reference), read_rows(killed)
    assert len(expected) == len(got) == 24
    assert got == expected  # the same actions, rewards and labels, including the next action after the resume
    reference_weights = load_checkpoint(reference / 'policy.pt')['network']
    resumed_weights = load_checkpoint(killed / 'policy.pt')['network']
    for name, tensor in reference_weights.items():
        assert (tensor == resumed_weights[name]).all(), name
    # Evaluations after the checkpoint were run again, not logged twice.
    assert (killed / 'evaluations.csv').read_text() == (reference / 'evaluations.csv').read_text()
    assert len((reference / 'evaluations.csv').read_text().splitlines()) == 1 + 24 // 4
    # The experience bag holds every transition once and in order, though those after the checkpoint were redone.
    records, skipped = read_transitions([killed / 'experience'])
    assert skipped == {}
    assert [(r.primitive.name.lower(), str(r.rotation), str(r.row), str(r.col), r.reward) for r in records] == [
        (row['primitive'], row['rotation'], row['row'], row['col'], float(row['reward'])) for row in expected]


def test_resume_of_a_run_with_another_network_is_refused(tmp_path):
    Trainer(TrainConfig(seed=1, transitions=2, num_objects=1,
                        agent=VPGConfig(network=QNetConfig(width=8))), tmp_path, progress=lambda line: None).run()
    with pytest.raises(ValueError, match='does not fit'):
        Trainer(TrainConfig(seed=1, transitions=4, num_objects=1), tmp_path, resume=True, progress=lambda line: None)

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""`pushgrasp bench policy`: decision time, peak memory and training speed of the learned policy."""

from __future__ import annotations

import os
import resource
import tempfile
import time

import numpy as np
import torch

from pushgrasp_policy.checkpoint import SHIPPED
from pushgrasp_policy.trainer import Trainer, TrainConfig, heightmap_of
from pushgrasp_policy.vpg import VPGAgent, VPGPolicy, agent_from_checkpoint
from pushgrasp_sim.env import PushGraspEnv


def run_policy_benchmark(seed: int = 0, decisions: int = 20, train_transitions: int = 40) -> dict:
    """Measure the learned policy (the shipped weights, or an untrained network when none are shipped).

    Figures: `decision_ms` (median of one greedy decision, 16 rotations x push and grasp at 224x224,
    Q-maps to primitive), `peak_rss_mb`, and `train_transitions_per_s` (simulation, inference and
    learning of a fresh 10-object training run).
    """
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    shipped = SHIPPED['shipped'].exists()
    agent = agent_from_checkpoint('shipped', seed) if shipped else VPGAgent(seed=seed)
    policy = VPGPolicy(agent)
    with PushGraspEnv() as env:
        heightmap = heightmap_of(env.reset(seed, 10), env)
    policy.decide(heightmap)  # warm-up: first-call allocations are not part of a decision
    times = []
    for _ in range(decisions):
        start = time.perf_counter()
        policy.decide(heightmap)
        times.append(time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(TrainConfig(seed=seed, transitions=train_transitions, checkpoint_every=10**9), run_dir,
                          progress=lambda line: None)
        figures = trainer.run()
    return {'decision_ms': round(1000 * float(np.median(times)), 1),
            'decision_ms_p90': round(1000 * float(np.percentile(times, 90)), 1),
            'peak_rss_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
            'train_transitions_per_s': figures['transitions_per_s'],
            'torch_threads': torch.get_num_threads(), 'weights': 'shipped' if shipped else 'untrained',
            'seed': seed}

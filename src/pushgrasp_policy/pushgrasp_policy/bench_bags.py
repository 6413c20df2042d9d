# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""`pushgrasp bench bags`: how fast transitions recorded as rosbag2 bags are written and read back.

Figures:
- `write_ms`: building, serialising and writing one Transition message (two 224 x 224 heightmaps from the
  simulator) into the trainer's experience bag (MCAP, zstd chunks), segments published every 100 transitions;
  `kb_per_transition` is the bag's size on disk per transition.
- `read_s`: reading the `transitions`-transition bag back into a replay buffer: every message deserialised and
  checked (`iter_transitions`), its `state` reduced to network resolution (`prepare`) and added to a
  SurpriseReplay; this is what `pushgrasp train --resume` does (labels and surprises come from the checkpoint).
- `label_ms`: what the offline trainer adds per transition that changed the scene, to label it once
  (`build_replay`: the Q-maps of its next heightmap, 16 rotations x push and grasp), median over a few.
- `recorder_write_ms`: what the graph's recorder node does per transition: write one Transition message and one
  Heightmap message, already serialised as CDR (as a `raw=True` subscription delivers them), into an MCAP bag
  without compression (the `pushgrasp record` default), closing the bag included. The task node does not wait for
  it (the recorder is another process), so this is CPU the recording takes from the graph per action.
- `trainer_*`: a short fresh training run (`Trainer`, 10-object scenes, the default network): milliseconds per
  transition of the whole loop, and of recording its transitions (`ExperienceLog.write_s`), and their ratio
  `recording_share`.
"""

from __future__ import annotations

import os
import tempfile
import time
from itertools import islice

import numpy as np
import torch

from pushgrasp_control.primitives import PrimitiveType, primitive_from_pixel
from pushgrasp_policy.bags import TRANSITIONS_TOPIC, BagRecorder, TopicSpec, iter_transitions
from pushgrasp_policy.decision import grasp_mask
from pushgrasp_policy.evaluation import heightmap_of
from pushgrasp_policy.experience import ExperienceLog, build_replay
from pushgrasp_policy.replay import SurpriseReplay, Transition
from pushgrasp_policy.trainer import Trainer, TrainConfig
from pushgrasp_policy.vpg import VPGAgent
from pushgrasp_sim.env import PushGraspEnv

SCENES = 6
"""Distinct simulated (state, next_state) pairs the synthetic bag cycles through."""


def _scene_pairs(seed: int) -> list:
    """Return SCENES (heightmap, primitive, next heightmap) of random pushes and grasps on 10-block scenes."""
    rng = np.random.default_rng(seed)
    pairs = []
    with PushGraspEnv() as env:
        for k in range(SCENES):
            heightmap = heightmap_of(env.reset(seed * 1000 + k, 10), env)
            rows, cols = np.nonzero(grasp_mask(heightmap))
            pick = int(rng.integers(len(rows)))
            kind = PrimitiveType.GRASP if k % 2 else PrimitiveType.PUSH
            primitive = primitive_from_pixel(kind, int(rng.integers(16)), int(rows[pick]), int(cols[pick]),
                                             heightmap.height, heightmap.workspace)
            observation, _ = env.step(primitive)
            pairs.append((heightmap, primitive, heightmap_of(observation, env)))
    return pairs


def _recorder_write_ms(log: ExperienceLog, pairs: list, path: str, count: int = 200) -> float:
    """Return milliseconds per transition to write CDR Transition + Heightmap messages as the recorder node does."""
    encoder = log.encoder
    state, primitive, next_state = pairs[0]
    transition = encoder.transition(stamp_ns=1, episode_id=0, step_id=0, state=state, primitive=primitive,
                                    reward=0.5, next_state=next_state, grasp_success=False, scene_changed=True,
                                    episode_done=False)
    heightmap = encoder.typestore.serialize_cdr(encoder.heightmap(next_state), 'pushgrasp_interfaces/msg/Heightmap')
    started = time.perf_counter()
    with BagRecorder(path, 'mcap', typestore=encoder.typestore) as bag:
        bag.add_topic(TRANSITIONS_TOPIC)
        bag.add_topic(TopicSpec('heightmap', 'pushgrasp_interfaces/msg/Heightmap', depth=5))
        for i in range(count):
            bag.write('/heightmap', 2 * i + 1, heightmap)
            bag.write('/transitions', 2 * i + 2, transition)
    return 1000 * (time.perf_counter() - started) / count


def run_bags_benchmark(seed: int = 0, transitions: int = 1000, trainer_transitions: int = 10) -> dict:
    """Write a `transitions`-transition experience bag, read it back into a replay, and time a short training run."""
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    rng = np.random.default_rng(seed)
    pairs = _scene_pairs(seed)
    agent = VPGAgent(seed=seed)
    with tempfile.TemporaryDirectory() as folder:
        log = ExperienceLog(os.path.join(folder, 'experience'), 0)
        for i in range(transitions):
            state, primitive, next_state = pairs[i % len(pairs)]
            reward = float(rng.choice([0.0, 0.5, 1.0]))
            log.write(episode_id=i // 20, step_id=i % 20, state=state, primitive=primitive, reward=reward,
                      next_state=next_state, grasp_success=reward == 1.0, scene_changed=reward > 0,
                      episode_done=i % 20 == 19)
            if (i + 1) % 100 == 0:
                log.commit()
        log.commit()
        log.close()
        size = sum(os.path.getsize(os.path.join(root, name))
                   for root, _, names in os.walk(log.folder) for name in names)
        recorder_ms = _recorder_write_ms(log, pairs, os.path.join(folder, 'recorded'))

        started = time.perf_counter()
        replay = SurpriseReplay(agent.config.replay_power)
        for record in iter_transitions([log.folder]):
            color, height = agent.net.prepare(record.color_before, record.height_before)
            replay.add(Transition(color, height, record.primitive, record.rotation, record.row, record.col,
                                  record.reward, record.reward))
        read_s = time.perf_counter() - started

        changed = list(islice((r for r in iter_transitions([log.folder]) if r.scene_changed), 6))
        build_replay(agent, changed[:1])  # warm-up: first-call allocations are not part of a label
        label_times = []
        for record in changed[1:]:
            started = time.perf_counter()
            build_replay(agent, [record])
            label_times.append(time.perf_counter() - started)

        trainer = Trainer(TrainConfig(seed=seed, transitions=trainer_transitions),
                          os.path.join(folder, 'run'), progress=lambda line: None)
        trainer.run()
        trainer_ms = 1000 * trainer.elapsed / max(trainer.transition, 1)
        recording_ms = 1000 * trainer.experience.write_s / max(trainer.transition, 1)
    return {'transitions': len(replay), 'read_s': round(read_s, 2),
            'read_ms_per_transition': round(1000 * read_s / max(len(replay), 1), 2),
            'write_ms': round(1000 * log.write_s / transitions, 2),
            'recorder_write_ms': round(recorder_ms, 2),
            'kb_per_transition': round(size / 1024 / transitions, 1),
            'label_ms': round(1000 * float(np.median(label_times)), 1) if label_times else None,
            'trainer_transitions': trainer.transition, 'trainer_ms_per_transition': round(trainer_ms, 1),
            'trainer_recording_ms_per_transition': round(recording_ms, 2),
            'recording_share': round(recording_ms / trainer_ms, 4) if trainer_ms else None,
            'torch_threads': torch.get_num_threads(), 'seed': seed}

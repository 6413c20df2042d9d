# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Offline training of the VPG-style agent from transitions recorded in rosbag2 bags.

The transitions read by `pushgrasp_policy.bags.read_transitions` fill a surprise replay; each transition's label
is y = reward + gamma * max Q(next heightmap) when the scene changed (the reward alone otherwise), computed ONCE,
with the network as it is when the replay is built (as the online trainer computes a label once, when the
transition happens); labels are not recomputed while training. Then every learning step draws one transition by
surprise rank (SurpriseReplay.sample), adds the agent's usual replays for it (the opposite-reward transition of the
same primitive, plus `extra_replays`), runs one `VPGAgent.learn` step on them and updates their surprise.

The run directory holds checkpoint.pt and policy.pt (written atomically, the same formats as the online
trainer's, so `pushgrasp eval --policy DIR/policy.pt` works), steps.csv (one line per learning step, with the
loss) and config.json.

A run resumes from checkpoint.pt (`OfflineTrainer(..., resume=True)`, `pushgrasp train --from-bag ... --resume`)
exactly as if it had not stopped: weights, optimiser, random generators, step counter, and the replay rebuilt
from the same bags with the labels and surprises the checkpoint saved (the bags are checked against them: other
bags are refused). Steps after the last checkpoint are done again, and steps.csv is cut back to the checkpoint.
An online run can start from an offline checkpoint (`TrainConfig.init_from`, `pushgrasp train --init-from`).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from pushgrasp_policy.bags import BagTransition
from pushgrasp_policy.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from pushgrasp_policy.experience import build_replay, restore_heightmaps
from pushgrasp_policy.learning_step import learn_with_replays
from pushgrasp_policy.replay import SurpriseReplay
from pushgrasp_policy.trainer import RunLog
from pushgrasp_policy.vpg import VPGAgent, VPGConfig

__all__ = ['STEP_FIELDS', 'OfflineConfig', 'OfflineTrainer', 'build_replay']  # build_replay: see experience

STEP_FIELDS = ('step', 'transitions', 'primitive', 'reward', 'label', 'prediction', 'loss', 'wall_time_s')


@dataclass
class OfflineConfig:
    """One offline training run."""

    seed: int = 0
    steps: int = 1000
    """Learning steps (optimiser updates)."""
    checkpoint_every: int = 100
    """Steps between checkpoints (and one at the end)."""
    agent: VPGConfig = field(default_factory=VPGConfig)
    bags: list[str] = field(default_factory=list)
    """The bags the records were read from (recorded in config.json and the checkpoint)."""

    def to_dict(self) -> dict:
        """Return plain values (config.json)."""
        return asdict(self)


class OfflineTrainer:
    """Train an agent on recorded transitions in `run_dir`; `run(records)` does `config.steps` learning steps."""

    def __init__(self, config: OfflineConfig, run_dir: str | os.PathLike[str], resume: bool = False,
                 progress: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.run_dir = Path(run_dir)
        self.progress = progress or (lambda line: print(line, file=sys.stderr, flush=True))
        if config.steps < 1:
            raise ValueError(f'steps must be positive, got {config.steps}')
        self.run_dir.mkdir(parents=True, exist_ok=True)
        torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
        self.agent = VPGAgent(config.agent, config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.replay = SurpriseReplay(config.agent.replay_power)
        self.step = 0
        self.loss = float('nan')
        self.elapsed = 0.0
        self.resume = resume

    def run(self, records: Iterable[BagTransition]) -> dict:
        """Fill the replay with `records` and train; return the final figures.

        `records` may be a generator (`bags.iter_transitions`): the replay keeps network-resolution heightmaps only,
        so the full-resolution records are read one at a time.
        """
        cfg, agent = self.config, self.agent
        shapes: list[tuple[int, ...]] = []

        def first_shape(items: Iterable[BagTransition]) -> Iterator[BagTransition]:
            for record in items:
                if not shapes:
                    shapes.append(record.height_before.shape)
                yield record
        checkpoint = self.run_dir / 'checkpoint.pt'
        filling = time.monotonic()
        if self.resume and checkpoint.exists():
            self._restore(checkpoint, first_shape(records))
            self.progress(f'resumed {self.run_dir} at step {self.step}')
        else:
            if self.resume:
                self.progress(f'no checkpoint in {self.run_dir}; starting a new run')
            self.replay = build_replay(agent, first_shape(records))
        if not shapes:
            raise ValueError('no transitions to train on')
        started = time.monotonic() - self.elapsed
        full_shape = shapes[0]
        self.progress(f'replay filled with {len(self.replay)} transitions in {time.monotonic() - filling:.1f} s')
        (self.run_dir / 'config.json').write_text(json.dumps(cfg.to_dict(), indent=2) + '\n')
        log = RunLog(self.run_dir / 'steps.csv', STEP_FIELDS, keep_rows=self.step)
        try:
            while self.step < cfg.steps:
                first = self.replay.sample(self.rng)
                batch, predictions, self.loss = learn_with_replays(agent, self.replay, first, full_shape, self.rng)
                self.step += 1
                self.elapsed = time.monotonic() - started
                head = self.replay.transitions[first]
                log.write({'step': self.step, 'transitions': ' '.join(map(str, batch)),
                           'primitive': head.primitive.name.lower(), 'reward': head.reward,
                           'label': f'{head.label:.4f}', 'prediction': f'{predictions[0]:.4f}',
                           'loss': f'{self.loss:.5f}', 'wall_time_s': f'{self.elapsed:.1f}'})
                if self.step % cfg.checkpoint_every == 0 or self.step == cfg.steps:
                    self.save()
                    self.progress(f'step {self.step}/{cfg.steps} loss {self.loss:.5f}')
        finally:
            log.close()
        return self.figures()

    def figures(self) -> dict:
        """Return the counters of the run so far."""
        return {'steps': self.step, 'transitions': len(self.replay), 'final_loss': round(self.loss, 6),
                'wall_time_s': round(self.elapsed, 1)}

    def save(self) -> None:
        """Write checkpoint.pt and policy.pt atomically (the online trainer's formats)."""
        state = self.agent.state()
        save_checkpoint(self.run_dir / 'checkpoint.pt', {
            **state, 'offline_config': self.config.to_dict(),
            'replay': {k: torch.from_numpy(v) for k, v in self.replay.metadata().items()},
            'numpy_rng': json.dumps(self.rng.bit_generator.state), 'torch_rng': torch.get_rng_state(),
            'counters': {'step': self.step, 'transitions': len(self.replay), 'elapsed': self.elapsed,
                         'loss': self.loss}})
        save_checkpoint(self.run_dir / 'policy.pt', {
            'network_config': state['network_config'], 'agent_config': state['agent_config'],
            'network': state['network'], 'trained_transitions': len(self.replay)})

    def _restore(self, path: Path, records: Iterable[BagTransition]) -> None:
        """Continue from the checkpoint at `path`; the replay is rebuilt from `records` (which must be its bags)."""
        payload = load_checkpoint(path, required=('network', 'optimizer', 'replay', 'numpy_rng', 'counters'))
        if 'offline_config' not in payload:
            raise CheckpointError(f'{path} is not the checkpoint of an offline run; start an offline run from its '
                                  'weights in another folder, or continue it online (without --from-bag)')
        self.agent.load_state(payload)
        counters = payload['counters']
        self.step, self.elapsed = int(counters['step']), float(counters['elapsed'])
        self.loss = float(counters.get('loss', float('nan')))
        self.rng.bit_generator.state = json.loads(payload['numpy_rng'])
        torch.set_rng_state(payload['torch_rng'])
        metadata = {k: v.numpy() for k, v in payload['replay'].items()}
        heightmaps = restore_heightmaps(self.agent, records, metadata, 'the bags')
        if len(heightmaps) != len(metadata['primitive']):
            raise ValueError(f'the bags hold {len(heightmaps)} transitions; the checkpoint was trained on '
                             f'{len(metadata["primitive"])}')
        self.replay = SurpriseReplay.from_metadata(metadata, heightmaps, self.config.agent.replay_power)

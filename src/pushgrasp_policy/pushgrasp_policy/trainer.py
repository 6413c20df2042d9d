# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Online self-supervised training of the VPG-style agent in the embedded simulator, in-process.

A run directory holds everything of one training run:
  checkpoint.pt     the latest training checkpoint (weights, optimiser, replay metadata, RNG states,
                    counters), written atomically at an episode boundary;
  policy.pt         the latest weights alone (what `pushgrasp eval --policy` and the policy node load);
  replay/NNNNNN.npz the network-resolution heightmap of every transition (written once, atomically);
  transitions.csv   one line per transition (action, reward, label, running grasp success, ...);
  evaluations.csv   periodic greedy evaluations;
  tensorboard/      TensorBoard scalars;
  config.json       the settings of the run.
`--resume` continues from checkpoint.pt exactly: the same scenes, the same random draws, the same
next action as a run that was never stopped. Transitions after the last checkpoint are done again.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from pushgrasp_control.primitives import PrimitiveType
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_policy.change import changed_cells, workspace_empty
from pushgrasp_policy.checkpoint import atomic_write_bytes, load_checkpoint, save_checkpoint
from pushgrasp_policy.evaluation import evaluate, heightmap_of, summarize
from pushgrasp_policy.replay import SurpriseReplay, Transition
from pushgrasp_policy.vpg import VPGAgent, VPGConfig, VPGPolicy
from pushgrasp_sim.env import PushGraspEnv, SimConfig
from pushgrasp_sim.packs import random_pack_testcase

TRANSITION_FIELDS = ('transition', 'episode', 'primitive', 'rotation', 'row', 'col', 'explored', 'q_value',
                     'epsilon', 'changed_cells', 'grasp_success', 'reward', 'label', 'loss', 'grasp_success_rate',
                     'objects_remaining', 'error', 'wall_time_s')


@dataclass
class TrainConfig:
    """One training run."""

    seed: int = 0
    transitions: int = 2500
    """Stop after this many transitions."""
    num_objects: int = 10
    """Random objects per training scene."""
    scene: str = ''
    """A test-case file to train on instead of random scenes (every episode resets to it)."""
    packed_fraction: float = 0.0
    """Share of the episodes (of random scenes) that start from a random tightly packed group and 1-2 blocks
    alone (pushgrasp_sim.packs) instead of `num_objects` dropped objects; the scene files go to scenes/."""
    max_no_change: int = 10
    """Reset the scene after this many consecutive actions that changed nothing."""
    checkpoint_every: int = 100
    """Transitions between checkpoints (taken at the next episode boundary)."""
    eval_every: int = 0
    """Transitions between greedy evaluations (0: none)."""
    eval_trials: int = 3
    eval_objects: int = 10
    success_window: int = 100
    """Grasp attempts in the running grasp success."""
    agent: VPGConfig = field(default_factory=VPGConfig)

    def to_dict(self) -> dict:
        """Plain values (config.json)."""
        return asdict(self)


class RunLog:
    """The CSV log of transitions: one flushed line each; cut back to a checkpoint on resume."""

    def __init__(self, path: Path, fields: tuple[str, ...], keep_rows: int | None) -> None:
        self.path, self.fields = path, fields
        rows = []
        if keep_rows is not None and path.exists():
            with open(path, newline='') as existing:
                rows = list(csv.DictReader(existing))[:keep_rows]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_bytes(path, buffer.getvalue().encode())
        self.file = open(path, 'a', newline='')
        self.writer = csv.DictWriter(self.file, fieldnames=fields)

    def write(self, row: dict) -> None:
        """Append one row and flush it to disk."""
        self.writer.writerow(row)
        self.file.flush()

    def close(self) -> None:
        """Close the file."""
        self.file.close()


class Trainer:
    """Runs `TrainConfig` in `run_dir`; `run()` trains until the transition budget is spent."""

    def __init__(self, config: TrainConfig, run_dir: str | os.PathLike, resume: bool = False,
                 progress: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.run_dir = Path(run_dir)
        self.progress = progress or (lambda line: print(line, file=sys.stderr, flush=True))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / 'replay').mkdir(exist_ok=True)
        torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
        self.agent = VPGAgent(config.agent, config.seed)
        self.replay = SurpriseReplay(config.agent.replay_power)
        self.rng = np.random.default_rng(config.seed)
        self.transition = 0
        self.episode = 0
        self.grasp_window: deque[bool] = deque(maxlen=config.success_window)
        self.elapsed = 0.0
        checkpoint = self.run_dir / 'checkpoint.pt'
        if resume and checkpoint.exists():
            self._restore(checkpoint)
        elif resume:
            self.progress(f'no checkpoint in {self.run_dir}; starting a new run')
        (self.run_dir / 'config.json').write_text(json.dumps(config.to_dict(), indent=2) + '\n')
        self.log = RunLog(self.run_dir / 'transitions.csv', TRANSITION_FIELDS, keep_rows=self.transition)
        from torch.utils.tensorboard import SummaryWriter  # tensorboard is heavy; only training needs it
        self.board = SummaryWriter(str(self.run_dir / 'tensorboard'), purge_step=self.transition or None)
        self.env = PushGraspEnv(SimConfig(default_num_objects=config.num_objects))

    # --- the loop -------------------------------------------------------------------------------------
    def run(self) -> dict:
        """Train until `config.transitions`; returns the final figures."""
        cfg, agent = self.config, self.agent
        started = time.monotonic() - self.elapsed
        last_checkpoint = self.transition
        heightmap, q = self._reset()
        no_change = 0
        try:
            while self.transition < cfg.transitions:
                epsilon = agent.epsilon(self.transition)
                decision = agent.select(heightmap, q, epsilon, self.rng)
                primitive = decision.primitive
                observation, info = self.env.step(primitive)
                next_heightmap = heightmap_of(observation, self.env)
                cells = changed_cells(heightmap.height, next_heightmap.height, agent.config.change_min,
                                      agent.config.change_max)
                changed = cells > agent.config.change_cells or info.grasp_success
                no_change = 0 if changed else no_change + 1
                # A scene whose physics blew up is reset like an empty one (no future term for its label).
                episode_over = (info.objects_remaining == 0 or workspace_empty(next_heightmap.height)
                                or no_change >= cfg.max_no_change or bool(info.unstable))
                next_q = None if episode_over else agent.q_maps(next_heightmap)
                future = 0.0 if next_q is None else agent.best_value(next_heightmap, *next_q)
                reward = agent.reward(primitive.type, info.grasp_success, changed)
                label = agent.label(reward, changed, future)

                color, height = agent.net.prepare(heightmap.color, heightmap.height)
                index = self.replay.add(Transition(color, height, primitive.type, primitive.rotation_index,
                                                   primitive.row, primitive.col, reward, label))
                self._save_replay_heightmap(index, color, height)
                batch = [index] + agent.replay_indices(self.replay, index, self.rng)
                predictions, loss = agent.learn([self.replay.transitions[i] for i in batch], heightmap.shape)
                for i, predicted in zip(batch, predictions, strict=True):
                    self.replay.set_surprise(i, abs(predicted - self.replay.transitions[i].label))

                if primitive.type == PrimitiveType.GRASP:
                    self.grasp_window.append(info.grasp_success)
                self.transition += 1
                self.elapsed = time.monotonic() - started
                self._record(decision, primitive, epsilon, cells, info, reward, label, loss)

                if cfg.eval_every and self.transition % cfg.eval_every == 0:
                    self._evaluate()
                if episode_over:
                    self.episode += 1
                    no_change = 0
                    if self.transition - last_checkpoint >= cfg.checkpoint_every:
                        self.save()
                        last_checkpoint = self.transition
                    if self.transition < cfg.transitions:
                        heightmap, q = self._reset()
                else:
                    heightmap, q = next_heightmap, next_q
            self.episode += 1  # the budget ends the episode
            self.save()
        finally:
            self.log.close()
            self.board.close()
            self.env.close()
        return self.figures()

    def figures(self) -> dict:
        """Counters and rates of the run so far."""
        return {'transitions': self.transition, 'episodes': self.episode,
                'grasp_success_rate': self._success_rate(), 'wall_time_s': round(self.elapsed, 1),
                'transitions_per_s': round(self.transition / self.elapsed, 3) if self.elapsed else 0.0}

    # --- pieces ---------------------------------------------------------------------------------------
    def _reset(self) -> tuple[Heightmap, tuple[np.ndarray, np.ndarray]]:
        scene_seed = self.config.seed * 100_000 + self.episode
        scene = self.config.scene or self.config.num_objects
        if not self.config.scene and self.config.packed_fraction > 0:
            # Drawn from the episode's own seed, so that a resumed run builds the same scenes.
            draw = np.random.default_rng([scene_seed, 1])
            if draw.random() < self.config.packed_fraction:
                scene = self.run_dir / 'scenes' / f'episode_{self.episode:06d}.txt'
                scene.parent.mkdir(exist_ok=True)
                atomic_write_bytes(scene, random_pack_testcase(draw, self.env.config.workspace).encode())
        heightmap = heightmap_of(self.env.reset(scene_seed, scene), self.env)
        return heightmap, self.agent.q_maps(heightmap)

    def _success_rate(self) -> float:
        return float(np.mean(self.grasp_window)) if self.grasp_window else 0.0

    def _save_replay_heightmap(self, index: int, color: np.ndarray, height: np.ndarray) -> None:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, color=color, height=height)
        atomic_write_bytes(self.run_dir / 'replay' / f'{index:06d}.npz', buffer.getvalue())

    def _record(self, decision, primitive, epsilon, cells, info, reward, label, loss) -> None:
        rate = self._success_rate()
        self.log.write({
            'transition': self.transition, 'episode': self.episode, 'primitive': primitive.type.name.lower(),
            'rotation': primitive.rotation_index, 'row': primitive.row, 'col': primitive.col,
            'explored': int(decision.explored), 'q_value': f'{primitive.q_value:.4f}', 'epsilon': f'{epsilon:.4f}',
            'changed_cells': cells, 'grasp_success': int(info.grasp_success), 'reward': reward,
            'label': f'{label:.4f}', 'loss': f'{loss:.5f}', 'grasp_success_rate': f'{rate:.3f}',
            'objects_remaining': info.objects_remaining, 'error': info.error.replace('\n', ' '),
            'wall_time_s': f'{self.elapsed:.1f}'})
        step = self.transition
        self.board.add_scalar('train/grasp_success_rate', rate, step)
        self.board.add_scalar('train/loss', loss, step)
        self.board.add_scalar('train/epsilon', epsilon, step)
        self.board.add_scalar('train/reward', reward, step)
        self.board.add_scalar('train/q_value', primitive.q_value, step)
        total = self.config.transitions
        done = int(30 * step / total)
        self.progress(f'[{"#" * done}{"." * (30 - done)}] {step}/{total} episode {self.episode} '
                      f'{primitive.type.name.lower():5s} r={reward:.1f} grasp success {rate:.2f} '
                      f'eps {epsilon:.3f} {step / max(self.elapsed, 1e-9):.2f} tr/s')

    def _evaluate(self) -> None:
        cfg = self.config
        # The same scenes at every evaluation (their seeds are hashed, unlike the training scenes').
        trials = evaluate(VPGPolicy(self.agent), [(f'random_{cfg.eval_objects}', cfg.eval_objects)],
                          trials=cfg.eval_trials, seed=cfg.seed)
        figures = summarize(trials)
        keys = ('completion', 'grasp_success', 'action_efficiency')
        row = {'transition': self.transition, **{k: figures.get(k) for k in keys}}
        path = self.run_dir / 'evaluations.csv'
        new = not path.exists()
        with open(path, 'a', newline='') as out:
            writer = csv.DictWriter(out, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)
        for key in ('completion', 'grasp_success', 'action_efficiency'):
            if figures.get(key) is not None:
                self.board.add_scalar(f'eval/{key}', figures[key], self.transition)
        self.progress(f'evaluation at {self.transition}: {row}')

    # --- checkpoints ----------------------------------------------------------------------------------
    def save(self) -> None:
        """Write checkpoint.pt (everything to resume) and policy.pt (weights only), atomically."""
        state = self.agent.state()
        save_checkpoint(self.run_dir / 'checkpoint.pt', {
            **state, 'train_config': self.config.to_dict(),
            'replay': {k: torch.from_numpy(v) for k, v in self.replay.metadata().items()},
            'numpy_rng': json.dumps(self.rng.bit_generator.state), 'torch_rng': torch.get_rng_state(),
            'counters': {'transition': self.transition, 'episode': self.episode, 'elapsed': self.elapsed,
                         'grasp_window': [bool(x) for x in self.grasp_window]}})
        save_checkpoint(self.run_dir / 'policy.pt', {
            'network_config': state['network_config'], 'agent_config': state['agent_config'],
            'network': state['network'], 'trained_transitions': self.transition})

    def _restore(self, path: Path) -> None:
        payload = load_checkpoint(path, required=('network', 'optimizer', 'replay', 'numpy_rng', 'counters'))
        self.agent.load_state(payload)
        counters = payload['counters']
        self.transition, self.episode = int(counters['transition']), int(counters['episode'])
        self.elapsed = float(counters['elapsed'])
        self.grasp_window.extend(counters['grasp_window'])
        self.rng.bit_generator.state = json.loads(payload['numpy_rng'])
        torch.set_rng_state(payload['torch_rng'])
        metadata = {k: v.numpy() for k, v in payload['replay'].items()}
        heightmaps = []
        for i in range(self.transition):
            with np.load(self.run_dir / 'replay' / f'{i:06d}.npz') as saved:
                heightmaps.append((saved['color'], saved['height']))
        self.replay = SurpriseReplay.from_metadata(metadata, heightmaps, self.config.agent.replay_power)
        self.progress(f'resumed {self.run_dir} at transition {self.transition}, episode {self.episode}')

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Online self-supervised training of the VPG-style agent in the embedded simulator, in-process.

A run directory holds everything of one training run:
  checkpoint.pt     the latest training checkpoint (weights, optimiser, replay metadata: actions, rewards,
                    labels and surprises; RNG states, counters), written atomically at an episode boundary;
  policy.pt         the latest weights alone (what `pushgrasp eval --policy` and the policy node load);
  experience/       every transition up to the last checkpoint as a pushgrasp_interfaces/msg/Transition
                    message, in rosbag2 bags (pushgrasp_policy.experience): the replay's heightmaps are
                    rebuilt from them on resume, and `pushgrasp train --from-bag RUN/experience` trains on them;
  transitions.csv   one line per transition (action, reward, label, running grasp success, ...);
  evaluations.csv   periodic greedy evaluations;
  tensorboard/      TensorBoard scalars;
  config.json       the settings of the run.
`--resume` continues from checkpoint.pt exactly: the same scenes, the same random draws, the same
next action as a run that was never stopped. Transitions after the last checkpoint are done again (and
written to experience/ again, not twice). Runs of earlier versions kept the replay's heightmaps in
replay/NNNNNN.npz; resuming such a run still reads them.

A run may start from the weights (and optimiser state) of another checkpoint, e.g. of an offline run
(`init_from`), and with its replay preloaded with the transitions of bags (`preload`), labelled once by
the starting network as the offline trainer labels them; a resumed run reads those bags again.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path

import numpy as np
import torch

from pushgrasp_control.primitives import PrimitiveType
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.workspace import Workspace
from pushgrasp_policy.bags import BagTransition, iter_transitions
from pushgrasp_policy.change import changed_cells, workspace_empty
from pushgrasp_policy.checkpoint import (CheckpointError, atomic_write_bytes, load_checkpoint, resolve_checkpoint,
                                         save_checkpoint)
from pushgrasp_policy.evaluation import evaluate, heightmap_of, summarize
from pushgrasp_policy.experience import ExperienceLog, build_replay, read_experience, restore_heightmaps
from pushgrasp_policy.learning_step import label_of, learn_with_replays
from pushgrasp_policy.replay import SurpriseReplay, Transition
from pushgrasp_policy.vpg import VPGAgent, VPGConfig, VPGPolicy
from pushgrasp_sim.env import PushGraspEnv, SimConfig
from pushgrasp_sim.packs import random_pack_testcase

EVALUATION_FIELDS = ('transition', 'completion', 'grasp_success', 'action_efficiency')
TRANSITION_FIELDS = ('transition', 'episode', 'primitive', 'rotation', 'row', 'col', 'explored', 'q_value',
                     'epsilon', 'changed_cells', 'grasp_success', 'reward', 'label', 'loss', 'grasp_success_rate',
                     'objects_remaining', 'error', 'wall_time_s')


def training_scene(scene_seed: int, num_objects: int, packed_fraction: float, pack_file: Path,
                   workspace: Workspace) -> int | Path:
    """The scene of a training episode (`PushGraspEnv.reset`'s `scene`).

    `num_objects` random objects, or with probability `packed_fraction` a random tightly packed group
    (pushgrasp_sim.packs) written to `pack_file` as a test case. The draw comes from the scene's own seed, so
    that a resumed run builds the same scenes.
    """
    if packed_fraction <= 0:
        return num_objects
    draw = np.random.default_rng([scene_seed, 1])
    if draw.random() >= packed_fraction:
        return num_objects
    pack_file.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(pack_file, random_pack_testcase(draw, workspace).encode())
    return pack_file


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
    init_from: str = ''
    """A checkpoint (path or shipped name) whose weights, and optimiser state when it has one for the same
    optimiser, a new run starts from (an offline run's checkpoint.pt, for instance); ignored on resume."""
    preload: list[str] = field(default_factory=list)
    """rosbag2 bags (or folders of bags) whose transitions fill the replay before the first action."""

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
        torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
        self.agent = VPGAgent(config.agent, config.seed)
        self.replay = SurpriseReplay(config.agent.replay_power)
        self.rng = np.random.default_rng(config.seed)
        self.transition = 0
        self.episode = 0
        self.grasp_window: deque[bool] = deque(maxlen=config.success_window)
        self.elapsed = 0.0
        self.preloaded = 0
        """Replay entries that came from `config.preload` (the run's own transitions follow them)."""
        checkpoint = self.run_dir / 'checkpoint.pt'
        if resume and checkpoint.exists():
            self._restore(checkpoint)
        else:
            if resume:
                self.progress(f'no checkpoint in {self.run_dir}; starting a new run')
            self._initialize()
        self.experience = ExperienceLog(self.run_dir / 'experience', self.transition)
        (self.run_dir / 'config.json').write_text(json.dumps(config.to_dict(), indent=2) + '\n')
        self.log = RunLog(self.run_dir / 'transitions.csv', TRANSITION_FIELDS, keep_rows=self.transition)
        # Evaluations run at multiples of eval_every; those after the checkpoint are run again on resume.
        self.evaluations = RunLog(self.run_dir / 'evaluations.csv', EVALUATION_FIELDS,
                                  keep_rows=self.transition // config.eval_every if config.eval_every else 0)
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
        no_change = step_in_episode = 0
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
                reward = agent.reward(primitive.type, info.grasp_success, changed,
                                      swept_out=bool(info.objects_left_workspace))
                label = label_of(agent, reward, changed, None if episode_over else next_heightmap, next_q)

                color, height = agent.net.prepare(heightmap.color, heightmap.height)
                index = self.replay.add(Transition(color, height, primitive.type, primitive.rotation_index,
                                                   primitive.row, primitive.col, reward, label))
                self.experience.write(episode_id=self.episode, step_id=step_in_episode, state=heightmap,
                                      primitive=primitive, reward=reward, next_state=next_heightmap,
                                      grasp_success=info.grasp_success, scene_changed=changed,
                                      episode_done=episode_over or self.transition + 1 >= cfg.transitions)
                step_in_episode += 1
                _, _, loss = learn_with_replays(agent, self.replay, index, heightmap.shape, self.rng)

                if primitive.type == PrimitiveType.GRASP:
                    self.grasp_window.append(info.grasp_success)
                self.transition += 1
                self.elapsed = time.monotonic() - started
                self._record(decision, primitive, epsilon, cells, info, reward, label, loss)

                if cfg.eval_every and self.transition % cfg.eval_every == 0:
                    self._evaluate()
                if episode_over:
                    self.episode += 1
                    no_change = step_in_episode = 0
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
            self.experience.close()
            self.log.close()
            self.evaluations.close()
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
        scene = self.config.scene or training_scene(scene_seed, self.config.num_objects, self.config.packed_fraction,
                                                    self.run_dir / 'scenes' / f'episode_{self.episode:06d}.txt',
                                                    self.env.config.workspace)
        heightmap = heightmap_of(self.env.reset(scene_seed, scene), self.env)
        return heightmap, self.agent.q_maps(heightmap)

    def _success_rate(self) -> float:
        return float(np.mean(self.grasp_window)) if self.grasp_window else 0.0

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
        self.evaluations.write(row)
        for key in keys:
            if figures.get(key) is not None:
                self.board.add_scalar(f'eval/{key}', figures[key], self.transition)
        self.progress(f'evaluation at {self.transition}: {row}')

    # --- checkpoints ----------------------------------------------------------------------------------
    def save(self) -> None:
        """Publish the experience so far, then write checkpoint.pt (everything to resume) and policy.pt, atomically.

        The experience goes first: a crash between the two leaves experience the next start cuts back (see
        pushgrasp_policy.experience), never a checkpoint whose transitions are missing from the bag.
        """
        self.experience.commit()
        state = self.agent.state()
        save_checkpoint(self.run_dir / 'checkpoint.pt', {
            **state, 'train_config': self.config.to_dict(),
            'replay': {k: torch.from_numpy(v) for k, v in self.replay.metadata().items()},
            'numpy_rng': json.dumps(self.rng.bit_generator.state), 'torch_rng': torch.get_rng_state(),
            'counters': {'transition': self.transition, 'episode': self.episode, 'elapsed': self.elapsed,
                         'grasp_window': [bool(x) for x in self.grasp_window], 'preloaded': self.preloaded}})
        save_checkpoint(self.run_dir / 'policy.pt', {
            'network_config': state['network_config'], 'agent_config': state['agent_config'],
            'network': state['network'], 'trained_transitions': self.transition})

    def _initialize(self) -> None:
        """Start a new run from `config.init_from`'s weights and with `config.preload` in the replay, when given."""
        cfg = self.config
        if cfg.init_from:
            path = resolve_checkpoint(cfg.init_from)
            payload = load_checkpoint(path, required=('network',))
            # An optimiser state is only meaningful to the same kind of optimiser.
            with_optimizer = ('optimizer' in payload
                              and payload.get('agent_config', {}).get('optimizer') == cfg.agent.optimizer)
            self.agent.load_state(payload, with_optimizer=with_optimizer)
            for group in self.agent.optimizer.param_groups:
                group['lr'] = cfg.agent.learning_rate  # the loaded state carries the earlier run's rate
            self.progress(f'starting from the weights{" and optimiser state" if with_optimizer else ""} of {path}')
        if cfg.preload:
            expected = SimConfig(default_num_objects=cfg.num_objects).workspace.shape
            records = self._preload_records(expected)
            self.replay = build_replay(self.agent, records)
            self.preloaded = len(self.replay)
            if not self.preloaded:
                raise ValueError(f'the bags to preload hold no transition to train on: {", ".join(cfg.preload)}')
            self.progress(f'replay preloaded with {self.preloaded} transitions from {len(cfg.preload)} bag(s)')

    def _preload_records(self, shape: tuple[int, int]) -> Iterator[BagTransition]:
        """Yield the records of `config.preload`; ValueError for one whose heightmap is not `shape`."""
        for record in iter_transitions(self.config.preload):
            if record.height_before.shape != shape:
                raise ValueError(f'the bags to preload hold {record.height_before.shape[0]}x'
                                 f'{record.height_before.shape[1]} heightmaps; this simulator makes '
                                 f'{shape[0]}x{shape[1]}')
            yield record

    def _restore(self, path: Path) -> None:
        payload = load_checkpoint(path, required=('network', 'optimizer', 'replay', 'numpy_rng', 'counters'))
        if 'offline_config' in payload:
            raise CheckpointError(f'{path} is the checkpoint of an offline run (pushgrasp train --from-bag): continue '
                                  'it with --from-bag ... --resume, or start an online run from it with --init-from')
        self.agent.load_state(payload)
        counters = payload['counters']
        self.transition, self.episode = int(counters['transition']), int(counters['episode'])
        self.elapsed = float(counters['elapsed'])
        self.grasp_window.extend(counters['grasp_window'])
        self.rng.bit_generator.state = json.loads(payload['numpy_rng'])
        torch.set_rng_state(payload['torch_rng'])
        self.preloaded = int(counters.get('preloaded', 0))
        metadata = {k: v.numpy() for k, v in payload['replay'].items()}
        heightmaps = []
        if self.preloaded:
            records = islice(iter_transitions(self.config.preload), self.preloaded + 1)  # one more: too many?
            heightmaps = restore_heightmaps(self.agent, records, metadata, 'the bags to preload')
            if len(heightmaps) != self.preloaded:
                raise ValueError(f'the bags to preload hold {len(heightmaps)} transitions; the run was started with '
                                 f'{self.preloaded}')
        own = read_experience(self.run_dir / 'experience', self.transition, self.agent, metadata, self.preloaded)
        for i in range(self.transition):
            if i not in own:
                own[i] = self._legacy_replay_heightmap(i)
            heightmaps.append(own[i])
        self.replay = SurpriseReplay.from_metadata(metadata, heightmaps, self.config.agent.replay_power)
        self.progress(f'resumed {self.run_dir} at transition {self.transition}, episode {self.episode}')

    def _legacy_replay_heightmap(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Return the replay heightmap of transition `index` from replay/NNNNNN.npz (runs of earlier versions)."""
        path = self.run_dir / 'replay' / f'{index:06d}.npz'
        if not path.exists():
            raise CheckpointError(f'transition {index} of {self.run_dir} is in neither experience/ nor replay/: '
                                  'the run cannot be resumed exactly')
        with np.load(path) as saved:
            return saved['color'], saved['height']

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""On-robot learning: the VPG-style agent learns from each transition as the robot executes it.

This is how the reference system was trained on its real robot: after every executed primitive, the
transition's label is computed once with the current network (pushgrasp_policy.learning_step.label_of: the
reward, plus gamma * max Q of the next heightmap when the scene changed and the episode goes on), the transition
joins a surprise replay, and one optimiser step runs on it and its replays (the opposite-reward transition of the
same primitive, plus the agent's `extra_replays`). The policy node (pushgrasp_policy.ros.policy_node) feeds an
OnlineLearner with the Transition messages the task node publishes; the learner shares its agent with the policy
the node serves, so the next decision already uses the updated weights. Thread safety is the caller's job.

A learning directory holds:
  checkpoint.pt      weights, optimiser, replay metadata, replay random-generator state and counters;
  policy.pt          the weights alone (what `pushgrasp eval --policy DIR/policy.pt` and the policy node's
                     `checkpoint` parameter load);
  replay/NNNNNN.npz  the network-resolution heightmap of every transition learned from.
Both .pt files are written atomically, in the online trainer's formats, every `checkpoint_every` learning steps
(and by `flush`). A learner started on a directory that holds a checkpoint.pt continues from it: weights,
optimiser, replay, random generator and step counter. Steps taken after the last checkpoint are lost when the
process dies (their replay files are overwritten by the next session).
"""

from __future__ import annotations

import io
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_policy.bags import SKIP_REASONS, BagTransition, _Skip, transition_from_msg
from pushgrasp_policy.checkpoint import CheckpointError, atomic_write_bytes, load_checkpoint, save_checkpoint
from pushgrasp_policy.learning_step import label_of, learn_with_replays
from pushgrasp_policy.replay import SurpriseReplay, Transition
from pushgrasp_policy.vpg import VPGAgent

CHECKPOINT_FILE = 'checkpoint.pt'
POLICY_FILE = 'policy.pt'
REPLAY_DIR = 'replay'


@dataclass
class OnlineConfig:
    """Settings of on-robot learning (the learning rule itself is the agent's VPGConfig)."""

    checkpoint_every: int = 10
    """Learning steps between checkpoints."""
    seed: int = 0
    """Seed of the replay sampling."""
    base_checkpoint: str = ''
    """The checkpoint the weights came from before on-robot learning (recorded, for provenance)."""

    def to_dict(self) -> dict:
        """Return plain values (stored in checkpoint.pt)."""
        return asdict(self)


@dataclass(frozen=True)
class LearnStep:
    """What one learning step did."""

    step: int
    """Learning steps taken so far in this directory, this one included."""
    label: float
    prediction: float
    """The network's Q-value for the transition before the step."""
    loss: float
    replayed: int
    """Earlier transitions trained on with this one."""
    checkpoint_written: bool


def transition_from_message(msg: Any) -> BagTransition:
    """Convert a pushgrasp_interfaces/Transition message (live or from a bag) to a record; ValueError if unusable.

    The error names the reason (a NaN height, sizes that disagree, an unknown primitive type, ...).
    """
    try:
        return transition_from_msg(msg)
    except _Skip as skip:
        reason = skip.args[0]
        raise ValueError(f'{reason} ({SKIP_REASONS.get(reason, reason)})') from None


class OnlineLearner:
    """Learns one transition at a time into `learning_dir`; continues from the checkpoint found there."""

    def __init__(self, agent: VPGAgent, learning_dir: str | os.PathLike[str],
                 config: OnlineConfig | None = None) -> None:
        """Prepare `learning_dir`; CheckpointError when its checkpoint cannot be continued with `agent`."""
        self.agent = agent
        self.config = config or OnlineConfig()
        if self.config.checkpoint_every < 1:
            raise ValueError(f'checkpoint_every must be positive, got {self.config.checkpoint_every}')
        self.directory = Path(learning_dir).expanduser()
        (self.directory / REPLAY_DIR).mkdir(parents=True, exist_ok=True)
        self.replay = SurpriseReplay(agent.config.replay_power)
        self.rng = np.random.default_rng(self.config.seed)
        self.steps = 0
        self.saved_steps = 0
        self.full_shape: tuple[int, int] | None = None
        """(rows, cols) of the heightmaps learned from; fixed by the first one (replayed pixels refer to it)."""
        self.learning_s = 0.0
        self.resumed = (self.directory / CHECKPOINT_FILE).exists()
        if self.resumed:
            self._restore(self.directory / CHECKPOINT_FILE)

    @property
    def checkpoint_path(self) -> Path:
        """Return the path of checkpoint.pt."""
        return self.directory / CHECKPOINT_FILE

    @property
    def policy_path(self) -> Path:
        """Return the path of policy.pt."""
        return self.directory / POLICY_FILE

    @property
    def pending(self) -> int:
        """Learning steps not yet in the checkpoint on disk."""
        return self.steps - self.saved_steps

    def check(self, record: BagTransition) -> None:
        """Raise ValueError, with the reason, when `record` cannot be learned from by this agent."""
        rotations = self.agent.config.network.num_rotations
        if record.num_rotations != rotations:
            raise ValueError(f'the primitive was chosen among {record.num_rotations} rotations; the network has '
                             f'{rotations}')
        shape = tuple(record.height_before.shape)
        if self.full_shape is not None and shape != self.full_shape:
            raise ValueError(f'heightmap is {shape[0]}x{shape[1]}, but this learner learns from '
                             f'{self.full_shape[0]}x{self.full_shape[1]} heightmaps')
        if record.height_after.shape != record.height_before.shape:
            raise ValueError(f'heightmaps before {record.height_before.shape} and after '
                             f'{record.height_after.shape} differ in size')
        stride = self.agent.config.network.input_stride
        if shape[0] % stride or shape[1] % stride:
            raise ValueError(f'heightmap {shape[0]}x{shape[1]} does not divide by the network input stride {stride}')
        if not np.isfinite(record.reward):
            raise ValueError(f'reward {record.reward} is not finite')

    def learn(self, record: BagTransition) -> LearnStep:
        """Label `record`, add it to the replay and take one learning step; checkpoint every K steps.

        Raises ValueError (nothing learned, nothing changed) when the record does not fit (see `check`).
        """
        self.check(record)
        started = time.monotonic()
        after = None if record.episode_done else Heightmap(record.color_after, record.height_after, record.workspace)
        label = label_of(self.agent, record.reward, record.scene_changed, after)
        color, height = self.agent.net.prepare(record.color_before, record.height_before)
        index = self.replay.add(Transition(color, height, record.primitive, record.rotation, record.row, record.col,
                                           record.reward, label))
        self._save_replay_heightmap(index, color, height)
        full_shape = tuple(record.height_before.shape)
        batch, predictions, loss = learn_with_replays(self.agent, self.replay, index, full_shape, self.rng)
        self.full_shape = full_shape
        self.steps += 1
        self.learning_s += time.monotonic() - started
        written = self.steps % self.config.checkpoint_every == 0
        if written:
            self.save()
        return LearnStep(self.steps, label, predictions[0], loss, len(batch) - 1, written)

    def flush(self) -> bool:
        """Write the checkpoint if steps were taken since the last one; return whether it was written."""
        if not self.pending:
            return False
        self.save()
        return True

    def save(self) -> None:
        """Write checkpoint.pt (everything to continue) and policy.pt (the weights alone), atomically."""
        state = self.agent.state()
        save_checkpoint(self.checkpoint_path, {
            **state, 'online_config': self.config.to_dict(),
            'replay': {k: torch.from_numpy(v) for k, v in self.replay.metadata().items()},
            'numpy_rng': json.dumps(self.rng.bit_generator.state),
            'counters': {'steps': self.steps, 'full_shape': list(self.full_shape or ()),
                         'learning_s': self.learning_s}})
        # policy.pt last: a reader of policy.pt never sees weights newer than those of checkpoint.pt.
        save_checkpoint(self.policy_path, {
            'network_config': state['network_config'], 'agent_config': state['agent_config'],
            'network': state['network'], 'trained_transitions': self.steps, 'online_steps': self.steps})
        self.saved_steps = self.steps

    def _save_replay_heightmap(self, index: int, color: np.ndarray, height: np.ndarray) -> None:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, color=color, height=height)
        atomic_write_bytes(self.directory / REPLAY_DIR / f'{index:06d}.npz', buffer.getvalue())

    def _restore(self, path: Path) -> None:
        payload = load_checkpoint(path, required=('network_config', 'network', 'optimizer', 'replay', 'numpy_rng',
                                                  'counters', 'online_config'))
        network = self.agent.config.network.to_dict()
        if payload['network_config'] != network:
            raise CheckpointError(f'{path} was written for the network {payload["network_config"]}, but the policy '
                                  f'has {network}; use another learning directory')
        self.agent.load_state(payload)
        counters = payload['counters']
        self.steps = self.saved_steps = int(counters['steps'])
        self.full_shape = tuple(int(n) for n in counters['full_shape']) or None
        self.learning_s = float(counters.get('learning_s', 0.0))
        self.rng.bit_generator.state = json.loads(payload['numpy_rng'])
        metadata = {k: v.numpy() for k, v in payload['replay'].items()}
        heightmaps = []
        for i in range(self.steps):
            try:
                with np.load(self.directory / REPLAY_DIR / f'{i:06d}.npz') as saved:
                    heightmaps.append((saved['color'], saved['height']))
            except (OSError, KeyError, ValueError) as error:
                raise CheckpointError(f'{path} needs the replay heightmap {REPLAY_DIR}/{i:06d}.npz, which cannot '
                                      f'be read: {error}') from error
        try:
            self.replay = SurpriseReplay.from_metadata(metadata, heightmaps, self.agent.config.replay_power)
        except (ValueError, KeyError) as error:
            raise CheckpointError(f'{path} has inconsistent replay metadata: {error}') from error

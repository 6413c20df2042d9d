# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The VPG-style push-grasp agent: epsilon-greedy argmax over Q-maps, Q-learning at the executed pixel.

The steps of the method (reference: "Learning Synergies between Pushing and Grasping"), in the order
the trainer runs them:
1. Q-maps for 16 rotations x {push, grasp}; the argmax over (primitive, rotation, pixel) is the action,
   grasps only where something is underneath; with probability epsilon the primitive type is random.
2. After the action: the scene changed if more than 300 heightmap cells changed by 1-30 cm.
   Reward: 1.0 for a successful grasp, 0.5 for a push that changed the scene, 0 otherwise.
3. Label y = r + gamma * max Q(next heightmap), the future term only when the scene changed.
4. Huber loss between Q at the executed pixel and rotation and y (a grasp also at the opposite
   rotation: parallel jaws are symmetric); gradients flow through that one pixel only.
5. Replay one earlier transition of the same primitive with the opposite reward, chosen by surprise
   (plus, optionally, a few more surprise-ranked transitions of any kind: `extra_replays`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F

from pushgrasp_control.primitives import PrimitiveType
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_policy.change import CHANGE_CELLS, CHANGE_MAX, CHANGE_MIN
from pushgrasp_policy.checkpoint import CheckpointError, load_agent_checkpoint
from pushgrasp_policy.decision import Decision, grasp_mask, select_from_q_maps
from pushgrasp_policy.networks import PushGraspQNet, QNetConfig
from pushgrasp_policy.policy import PolicyConfig, QMapPolicy
from pushgrasp_policy.replay import SurpriseReplay, Transition


@dataclass
class VPGConfig:
    """Hyperparameters of the agent (reference values unless noted)."""

    network: QNetConfig = field(default_factory=QNetConfig)
    grasp_only: bool = False
    """The grasping-only baseline: pushes are never chosen or trained."""
    gamma: float = 0.5
    grasp_reward: float = 1.0
    push_reward: float = 0.5
    push_out_reward: float | None = None
    """Not in the reference: the reward of a push after which an object had left the workspace (the in-process
    trainer knows it from the simulator). None: the reference's rule, any change earns `push_reward`, a block
    swept out of reach included."""
    optimizer: str = 'adam'
    """'adam' or 'sgd' (the reference used SGD with momentum on pretrained trunks; from scratch, Adam
    learns in far fewer transitions)."""
    learning_rate: float = 1e-4
    momentum: float = 0.9
    weight_decay: float = 2e-5
    epsilon_start: float = 0.5
    epsilon_decay: float = 0.9998
    epsilon_min: float = 0.1
    change_min: float = CHANGE_MIN
    """Metres: see pushgrasp_policy.change."""
    change_max: float = CHANGE_MAX
    change_cells: int = CHANGE_CELLS
    replay_power: float = 2.0
    extra_replays: int = 0
    """Surprise-ranked replays per step beyond the reference's one opposite-reward replay."""

    def to_dict(self) -> dict:
        """Plain values, for checkpoints and logs."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> VPGConfig:
        """The config saved by `to_dict`."""
        values = dict(values)
        network = QNetConfig.from_dict(values.pop('network'))
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f'unknown agent settings {sorted(unknown)}')
        return cls(network=network, **values)


class VPGAgent:
    """Q-networks, optimiser and the learning rule; the trainer feeds it transitions."""

    def __init__(self, config: VPGConfig | None = None, seed: int = 0) -> None:
        self.config = config or VPGConfig()
        torch.manual_seed(seed)
        self.net = PushGraspQNet(self.config.network)
        params = self.net.parameters()
        if self.config.optimizer == 'adam':
            self.optimizer = torch.optim.Adam(params, lr=self.config.learning_rate,
                                              weight_decay=self.config.weight_decay)
        elif self.config.optimizer == 'sgd':
            self.optimizer = torch.optim.SGD(params, lr=self.config.learning_rate, momentum=self.config.momentum,
                                             weight_decay=self.config.weight_decay)
        else:
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.config.optimizer!r}")

    # --- acting ---------------------------------------------------------------------------------------
    def epsilon(self, transitions: int) -> float:
        """Exploration probability after `transitions` training transitions."""
        c = self.config
        return max(c.epsilon_start * c.epsilon_decay ** transitions, c.epsilon_min)

    def q_maps(self, heightmap: Heightmap) -> tuple[np.ndarray, np.ndarray]:
        """(push_q, grasp_q), each (num_rotations, rows, cols); push_q is -inf for the grasping-only agent."""
        self.net.eval()
        push_q, grasp_q = self.net.q_maps(heightmap.color, heightmap.height)
        if self.config.grasp_only:
            push_q = np.full_like(push_q, -np.inf)
        return push_q, grasp_q

    def select(self, heightmap: Heightmap, q: tuple[np.ndarray, np.ndarray], epsilon: float,
               rng: np.random.Generator) -> Decision:
        """The epsilon-greedy training decision on `heightmap` given its Q-maps `q` = (push_q, grasp_q)."""
        return select_from_q_maps(q[0], q[1], heightmap, explore=True, rng=rng, epsilon=epsilon)

    def best_value(self, heightmap: Heightmap, push_q: np.ndarray, grasp_q: np.ndarray) -> float:
        """Best Q over primitives, rotations and pixels (grasps only where something is underneath)."""
        mask = grasp_mask(heightmap)
        grasp = float(grasp_q[:, mask].max()) if mask.any() else -np.inf
        best = max(float(push_q.max()), grasp)
        return best if np.isfinite(best) else 0.0

    # --- learning -------------------------------------------------------------------------------------
    def reward(self, primitive: PrimitiveType, grasp_success: bool, changed: bool, swept_out: bool = False) -> float:
        """The reference reward of an executed primitive (`push_out_reward` for a push that `swept_out` objects)."""
        if primitive == PrimitiveType.GRASP:
            return self.config.grasp_reward if grasp_success else 0.0
        if swept_out and self.config.push_out_reward is not None:
            return self.config.push_out_reward
        return self.config.push_reward if changed else 0.0

    def label(self, reward: float, changed: bool, next_best_value: float) -> float:
        """Q-learning target: reward + gamma * max Q(next) when the scene changed, else the reward alone."""
        return reward + (self.config.gamma * next_best_value if changed else 0.0)

    def learn(self, samples: list[Transition], full_shape: tuple[int, int]) -> tuple[list[float], float]:
        """One optimiser step on `samples`; returns each sample's prediction before the step, and the loss.

        Each sample contributes the Huber loss at its executed pixel and rotation, a grasp also at the
        opposite rotation; no other pixel receives a gradient.
        """
        n = self.config.network.num_rotations
        rows, kinds, rotations, pixels, labels = [], [], [], [], []
        for index, t in enumerate(samples):
            for rotation in ((t.rotation, (t.rotation + n // 2) % n) if t.primitive == PrimitiveType.GRASP
                             else (t.rotation,)):
                rows.append(index)
                kinds.append(int(t.primitive))
                rotations.append(rotation)
                pixels.append((t.row, t.col))
                labels.append(t.label)
        inputs = self.net.input_tensor(np.stack([samples[i].color for i in rows]),
                                       np.stack([samples[i].height for i in rows]))
        self.net.train()
        q = self.net(inputs, torch.tensor(rotations), full_shape)  # (B, 2, rows, cols)
        batch = torch.arange(len(rows))
        pixel = torch.tensor(pixels)
        predicted = q[batch, torch.tensor(kinds), pixel[:, 0], pixel[:, 1]]  # (B,)
        loss = F.smooth_l1_loss(predicted, torch.tensor(labels, dtype=torch.float32), reduction='sum')
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        values = predicted.detach().numpy()
        # A grasp's prediction is the one at its executed rotation (the first row of that sample).
        first = {}
        for b, index in enumerate(rows):
            first.setdefault(index, float(values[b]))
        return [first[i] for i in range(len(samples))], float(loss.item())

    def replay_indices(self, replay: SurpriseReplay, latest: int, rng: np.random.Generator) -> list[int]:
        """Transitions to train on with transition `latest`: the reference's opposite-reward replay, then extras."""
        newest = replay.transitions[latest]
        if newest.primitive == PrimitiveType.GRASP:
            opposite = 0.0 if newest.reward > 0 else self.config.grasp_reward
        else:
            opposite = 0.0 if newest.reward > 0 else self.config.push_reward
        chosen = []
        first = replay.sample(rng, newest.primitive, opposite, exclude=latest)
        if first is not None:
            chosen.append(first)
        for _ in range(self.config.extra_replays):
            index = replay.sample(rng, exclude=latest)
            if index is not None and index not in chosen:
                chosen.append(index)
        return chosen

    # --- persistence ----------------------------------------------------------------------------------
    def state(self) -> dict:
        """Network and optimiser state with the configuration (part of a checkpoint)."""
        return {'network_config': self.config.network.to_dict(), 'agent_config': self.config.to_dict(),
                'network': self.net.state_dict(), 'optimizer': self.optimizer.state_dict()}

    def load_state(self, payload: dict, with_optimizer: bool = True) -> None:
        """Restore `state()`; CheckpointError when the weights do not fit this network."""
        try:
            self.net.load_state_dict(payload['network'])
            if with_optimizer:
                self.optimizer.load_state_dict(payload['optimizer'])
        except (RuntimeError, KeyError, ValueError) as error:
            raise CheckpointError(f'checkpoint does not fit the {self.config.network} network: '
                                  f'{str(error).splitlines()[0]}') from error


def agent_from_checkpoint(path: str, seed: int = 0, with_optimizer: bool = False) -> VPGAgent:
    """A VPGAgent with the weights (and settings) of the checkpoint at `path` (or a shipped name)."""
    payload, config = load_agent_checkpoint(path, ('network_config', 'network'), 'agent_config', VPGConfig.from_dict)
    agent = VPGAgent(config, seed)
    agent.load_state(payload, with_optimizer=with_optimizer)
    return agent


class VPGPolicy(QMapPolicy):
    """A trained agent as a Policy: greedy (or epsilon-greedy on request), no learning."""

    name = 'vpg'

    def __init__(self, agent: VPGAgent, config: PolicyConfig | None = None) -> None:
        config = config or PolicyConfig()
        if config.num_rotations != agent.config.network.num_rotations:
            config = replace(config, num_rotations=agent.config.network.num_rotations)
        super().__init__(config)
        self.agent = agent

    @classmethod
    def from_checkpoint(cls, path: str, seed: int = 0, config: PolicyConfig | None = None) -> VPGPolicy:
        """The policy of a checkpoint file or shipped name; CheckpointError when it cannot be used."""
        return cls(agent_from_checkpoint(path, seed), config)

    def q_maps(self, heightmap: Heightmap) -> tuple[np.ndarray, np.ndarray]:
        """(push_q, grasp_q) from the network."""
        return self.agent.q_maps(heightmap)

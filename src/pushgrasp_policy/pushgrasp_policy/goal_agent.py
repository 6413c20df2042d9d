# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The goal-oriented push-grasp agent: goal-conditioned grasp and push Q-networks, hierarchical.

Reference: "Efficient learning of goal-oriented push-grasping synergy in clutter" (facts in
shared/reference/algorithms.md). The steps of the method, in the order the stage trainer
(pushgrasp_policy.goal_trainer) runs them:

1. Inputs: the colour + height heightmap and the goal mask ((rows, cols) bool, the goal object's cells) as a
   fifth input channel. Two networks, each a PushGraspQNet with `extra_channels=1` (the rotation machinery of
   pushgrasp_policy.networks): the grasp network (its grasp head is used) and the push network (its push head
   is used), each with its own optimiser, so that either can be frozen while the other learns.
2. Acting, hierarchically: the goal's grasp value V = the best grasp Q over rotations and goal cells with
   something underneath (`goal_value`). Grasp at that argmax once V >= `grasp_threshold`, or once `max_pushes`
   pushes were made since the last grasp (`should_grasp`); otherwise push at the push network's argmax among
   cells within `push_radius` of the goal. Exploring (epsilon): a grasp at a random occupied cell, or the
   goal-agnostic explorer's best grasp (a VPG checkpoint); a push at a random cell near the goal.
3. Grasp labels, with hindsight goal relabelling (`grasp_examples`): the executed grasp is an example for
   the goal, reward 1 when the grasp took the goal out of the scene, else 0; every OTHER object the grasp
   took out becomes one more example, the same grasp with that object's mask from before the grasp as the
   goal and reward 1. Label y = r + grasp_gamma * V(next heightmap, the goal pursued next) when the scene
   changed and the episode goes on, else y = r. The default grasp_gamma = 0 makes the grasp Q the goal's
   immediate grasp success (0..1), which is what a discriminator should say (see GoalAgentConfig).
4. Push labels, the frozen grasp network as discriminator (`push_reward`): r = +0.5 when the scene changed
   and V rose by more than 0.1, -0.5 when the scene did not change, 0 otherwise; y = r + gamma * max push Q
   (next heightmap, same goal) when the scene changed and the next action is again a push, else y = r.
5. Learning: the Huber loss at the executed pixel and rotation (a grasp also at the opposite rotation),
   one optimiser step on the new examples and one earlier example of the same network with another reward,
   drawn by surprise (plus `extra_replays`).
The stages (grasp, push against the frozen grasp network, alternating) are the trainer's.

The goal-agnostic mode of the same networks: the goal mask is every occupied cell (`agnostic_goal_mask`,
"any object"); `agnostic_relabel` also trains the grasp network on it (each grasp is one more example with
that mask, reward 1 when anything was picked).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F

from pushgrasp_control.primitives import PrimitiveType, primitive_from_pixel
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_policy.change import CHANGE_CELLS, CHANGE_MAX, CHANGE_MIN
from pushgrasp_policy.checkpoint import CheckpointError, load_agent_checkpoint, load_checkpoint, resolve_checkpoint
from pushgrasp_policy.decision import MIN_GRASP_HEIGHT, Decision, grasp_mask, pushable_mask, select_from_q_maps
from pushgrasp_policy.goal_policy import GOAL_KEEP_PUSHES_INSIDE, check_goal_mask, goal_clearance, near_goal
from pushgrasp_policy.networks import PushGraspQNet, QNetConfig
from pushgrasp_policy.policy import PolicyConfig, QMapPolicy
from pushgrasp_policy.replay import SurpriseReplay, Transition

NETS = ('grasp', 'push')
"""The two networks of the agent, as named in checkpoints and stage settings."""


@dataclass
class GoalAgentConfig:
    """Hyperparameters of the goal-oriented agent (reference values unless noted)."""

    network: QNetConfig = field(default_factory=lambda: QNetConfig(extra_channels=1))
    """Architecture of both networks; one extra input channel, the goal mask."""
    gamma: float = 0.5
    """Discount of the push network's label."""
    grasp_gamma: float = 0.0
    """Discount of the grasp network's label. The reference's grasp values reach ~2 (gamma 0.5 on a
    continuing task, threshold 1.8); here the grasp Q is by default the goal's immediate grasp success
    (0..1), and the threshold is scaled to match (0.9 = 1.8 / 2). With grasp_gamma 0.5 use 1.8."""
    grasp_reward: float = 1.0
    push_reward: float = 0.5
    """Push reward when the goal's grasp value rose by more than `value_improvement` and the scene changed."""
    no_change_penalty: float = -0.5
    """Push reward when the push changed nothing."""
    value_improvement: float = 0.1
    clearance_improvement: float | None = None
    """Not in the reference (None: off). A push that changed the scene also earns `push_reward` when the share
    of empty table within `clearance_band` of the goal (`goal_clearance`) rose by more than this."""
    clearance_band: float = 0.03
    """Metres around the goal in which `goal_clearance` looks for room (about a finger's width and play)."""
    grasp_threshold: float = 0.9
    """Grasp once the goal's grasp value reaches this (see grasp_gamma)."""
    max_pushes: int = 5
    """Grasp anyway after this many pushes since the last grasp (the reference: at most 5 pushes an episode)."""
    push_radius: float | None = 0.1
    """Metres: pushes start at most this far from the goal (one push length); None: anywhere. Not in the
    reference: a push that starts farther than its own length from the goal rarely touches it."""
    agnostic_relabel: bool = False
    """Each grasp is also an example for the goal-agnostic mask (trains the goal-agnostic mode)."""
    learning_rate: float = 1e-4
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
    """Surprise-ranked replays per step beyond the one with another reward."""

    def __post_init__(self) -> None:
        if self.network.extra_channels != 1:
            raise ValueError(f'the goal-conditioned networks take exactly one extra channel (the goal mask), '
                             f'got extra_channels={self.network.extra_channels}')
        if self.max_pushes < 0 or self.extra_replays < 0:
            raise ValueError(f'max_pushes and extra_replays must be >= 0: {self}')
        if self.clearance_improvement is not None and not 0.0 <= self.clearance_improvement < 1.0:
            raise ValueError(f'clearance_improvement must be in [0, 1) or None, got {self.clearance_improvement}')
        if not 0.0 <= self.epsilon_start <= 1.0:
            raise ValueError(f'epsilon_start must be in [0, 1], got {self.epsilon_start}')
        if not self.clearance_band > 0.0:
            raise ValueError(f'clearance_band must be > 0 metres, got {self.clearance_band}')

    def to_dict(self) -> dict:
        """Plain values, for checkpoints and logs."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> GoalAgentConfig:
        """The config saved by `to_dict`; ValueError for unknown keys."""
        values = dict(values)
        network = QNetConfig.from_dict(values.pop('network'))
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f'unknown goal agent settings {sorted(unknown)}')
        return cls(network=network, **values)


@dataclass
class GoalTransition(Transition):
    """A Transition with the goal it was labelled for."""

    goal: np.ndarray | None = None
    """(1, h, w) float16 goal mask at network resolution (`PushGraspQNet.prepare_extra`)."""


@dataclass(frozen=True)
class GraspExample:
    """One training example of an executed grasp: the goal it is labelled for and the reward it earned."""

    goal_mask: np.ndarray
    """(rows, cols) bool."""
    reward: float
    goal_object: int
    """The object index of the goal (-1: the goal-agnostic mask)."""
    relabelled: bool
    """A hindsight example (the goal is not the one the grasp was aimed at)."""


# --- the two rules of the method, as pure functions ---------------------------------------------------------
def push_reward(value_before: float, value_after: float, changed: bool, *, improvement: float = 0.1,
                reward: float = 0.5, penalty: float = -0.5, clearance_gain: float = 0.0,
                clearance_improvement: float | None = None) -> float:
    """Return the push reward the frozen grasp network (the discriminator) gives.

    `value_before` and `value_after` are the goal's grasp values (`GoalAgent.goal_value`) before and after
    the push: `reward` when the scene changed and the value rose by MORE than `improvement`, `penalty` when
    the scene did not change, 0 otherwise. With `clearance_improvement` set (not in the reference), a push
    that changed the scene also earns `reward` when the room around the goal (`goal_clearance`) grew by more
    than that: `clearance_gain` is after minus before.
    """
    if not changed:
        return penalty
    if value_after - value_before > improvement:
        return reward
    if clearance_improvement is not None and clearance_gain > clearance_improvement:
        return reward
    return 0.0


def grasp_examples(goal: int, labels_before: np.ndarray, picked: Sequence[int], grasp_reward: float = 1.0,
                   agnostic_mask: np.ndarray | None = None) -> list[GraspExample]:
    """Return the examples of one executed grasp, with hindsight goal relabelling.

    `labels_before` is the (rows, cols) object-index heightmap of the scene the grasp was chosen on
    (`PushGraspEnv.object_labels`, -1 where no object is), `picked` the objects the grasp took out of the
    scene (`StepInfo.picked_objects`). First the goal's own example (its mask before the grasp, reward
    `grasp_reward` when the goal is among `picked`, else 0); then, in the order of `picked`, one relabelled
    example with reward `grasp_reward` for every other picked object that was seen before the grasp
    (an unseen object has no mask to be a goal); last, with `agnostic_mask`, the goal-agnostic example
    (reward `grasp_reward` when anything was picked).
    """
    examples = [GraspExample(labels_before == goal, grasp_reward if goal in picked else 0.0, int(goal), False)]
    for other in dict.fromkeys(picked):
        mask = labels_before == other
        if other != goal and mask.any():
            examples.append(GraspExample(mask, grasp_reward, int(other), True))
    if agnostic_mask is not None:
        examples.append(GraspExample(np.asarray(agnostic_mask, bool), grasp_reward if len(picked) else 0.0, -1,
                                     False))
    return examples


def agnostic_goal_mask(heightmap: Heightmap, min_height: float = MIN_GRASP_HEIGHT) -> np.ndarray:
    """(rows, cols) bool goal mask of the goal-agnostic mode: every cell with something to grasp ("any object")."""
    return grasp_mask(heightmap, min_height)


# --- the agent ----------------------------------------------------------------------------------------------
class GoalAgent:
    """The grasp and push networks, their optimisers and the learning rule; the stage trainer feeds it."""

    def __init__(self, config: GoalAgentConfig | None = None, seed: int = 0) -> None:
        self.config = config or GoalAgentConfig()
        torch.manual_seed(seed)
        self.nets = {name: PushGraspQNet(self.config.network) for name in NETS}
        self.optimizers = {name: self._new_optimizer(net) for name, net in self.nets.items()}
        self.trained = {name: 0 for name in NETS}
        """Optimiser steps each network has had, over all the stages it went through."""

    def _new_optimizer(self, net: PushGraspQNet) -> torch.optim.Optimizer:
        return torch.optim.Adam(net.parameters(), lr=self.config.learning_rate, weight_decay=self.config.weight_decay)

    # --- Q-maps and values --------------------------------------------------------------------------------
    def epsilon(self, transitions: int) -> float:
        """Exploration probability after `transitions` transitions of a stage."""
        c = self.config
        return max(c.epsilon_start * c.epsilon_decay ** transitions, c.epsilon_min)

    def _q(self, name: str, heightmap: Heightmap, goal_mask: np.ndarray) -> np.ndarray:
        net = self.nets[name]
        net.eval()
        goal = check_goal_mask(goal_mask, heightmap)[None].astype(np.float32)  # (1, rows, cols)
        push_q, grasp_q = net.q_maps(heightmap.color, heightmap.height, goal)
        return grasp_q if name == 'grasp' else push_q

    def grasp_q(self, heightmap: Heightmap, goal_mask: np.ndarray) -> np.ndarray:
        """(num_rotations, rows, cols) grasp Q of the grasp network for the goal of `goal_mask`."""
        return self._q('grasp', heightmap, goal_mask)

    def push_q(self, heightmap: Heightmap, goal_mask: np.ndarray) -> np.ndarray:
        """(num_rotations, rows, cols) push Q of the push network for the goal of `goal_mask`."""
        return self._q('push', heightmap, goal_mask)

    def goal_grasp_q(self, heightmap: Heightmap, goal_mask: np.ndarray, grasp_q: np.ndarray) -> np.ndarray:
        """`grasp_q` with -inf wherever a grasp does not land on the goal with something underneath."""
        allowed = check_goal_mask(goal_mask, heightmap) & grasp_mask(heightmap)
        return np.where(allowed[None], grasp_q, -np.inf).astype(np.float32)

    def goal_value(self, heightmap: Heightmap, goal_mask: np.ndarray, grasp_q: np.ndarray) -> float:
        """The goal's grasp value V: the best grasp Q on it, 0 when no goal cell can be grasped (nothing to get)."""
        best = float(self.goal_grasp_q(heightmap, goal_mask, grasp_q).max())
        return best if np.isfinite(best) else 0.0

    def goal_clearance(self, heightmap: Heightmap, goal_mask: np.ndarray) -> float:
        """The share of empty table within `clearance_band` of the goal (goal_policy.goal_clearance)."""
        band_cells = self.config.clearance_band / heightmap.workspace.resolution
        return goal_clearance(heightmap.height, goal_mask, band_cells)

    def should_grasp(self, value: float, pushes: int) -> bool:
        """The hierarchy's switch: grasp once V reaches the threshold or after `max_pushes` pushes."""
        return value >= self.config.grasp_threshold or pushes >= self.config.max_pushes

    def push_cells(self, heightmap: Heightmap, goal_mask: np.ndarray) -> np.ndarray:
        """(rows, cols) bool: where pushes may start (within `push_radius` of the goal; anywhere without a goal)."""
        goal_mask = check_goal_mask(goal_mask, heightmap)
        if self.config.push_radius is None or not goal_mask.any():
            return np.ones(goal_mask.shape, dtype=bool)
        return near_goal(goal_mask, self.config.push_radius / heightmap.workspace.resolution)

    # --- choosing -----------------------------------------------------------------------------------------
    def decision(self, kind: PrimitiveType, rotation: int, row: int, col: int, heightmap: Heightmap,
                 push_q: np.ndarray, grasp_q: np.ndarray, explored: bool) -> Decision:
        """The Decision of `kind` at (rotation, row, col), its Q-value read from the map of its kind."""
        q = grasp_q if kind == PrimitiveType.GRASP else push_q
        primitive = primitive_from_pixel(kind, rotation, row, col, heightmap.height, heightmap.workspace,
                                         num_rotations=q.shape[0], q_value=float(q[rotation, row, col]),
                                         stamp_ns=heightmap.stamp_ns)
        return Decision(primitive=primitive, push_q=push_q, grasp_q=grasp_q, explored=explored)

    def greedy(self, kind: PrimitiveType, heightmap: Heightmap, q: np.ndarray) -> Decision:
        """The argmax of `q` ((rotations, rows, cols), -inf where not allowed) as a primitive of `kind`."""
        blocked = np.full_like(q, -np.inf)
        maps = (blocked, q) if kind == PrimitiveType.GRASP else (q, blocked)
        return select_from_q_maps(*maps, heightmap)

    def random(self, kind: PrimitiveType, heightmap: Heightmap, cells: np.ndarray, q: np.ndarray,
               rng: np.random.Generator) -> Decision:
        """An exploring primitive of `kind` at a random rotation and cell of `cells` ((rows, cols) bool).

        Pushes are drawn among those the controller executes (`decision.pushable_mask`).
        """
        allowed = np.broadcast_to(cells, q.shape)
        if kind == PrimitiveType.PUSH:
            allowed = allowed & pushable_mask(heightmap, q.shape[0])
        rotations, rows, cols = np.nonzero(allowed)
        if not len(rows):
            raise ValueError('no cell to explore')
        k = int(rng.integers(len(rows)))
        blocked = np.full_like(q, -np.inf)
        maps = (blocked, q) if kind == PrimitiveType.GRASP else (q, blocked)
        return self.decision(kind, int(rotations[k]), int(rows[k]), int(cols[k]), heightmap, *maps, explored=True)

    # --- learning -----------------------------------------------------------------------------------------
    def learn(self, name: str, samples: Sequence[GoalTransition],
              full_shape: tuple[int, int]) -> tuple[list[float], float]:
        """One optimiser step of network `name` on `samples`; returns each sample's prediction before it, and the loss.

        Each sample contributes the Huber loss at its executed pixel and rotation (a grasp also at the
        opposite rotation: parallel jaws are symmetric), with its own goal mask as the extra input.
        """
        net, optimizer = self.nets[name], self.optimizers[name]
        n = self.config.network.num_rotations
        head = 1 if name == 'grasp' else 0  # PushGraspQNet's output channels are [push, grasp]
        rows, rotations, pixels, labels = [], [], [], []
        for index, t in enumerate(samples):
            for rotation in ((t.rotation, (t.rotation + n // 2) % n) if t.primitive == PrimitiveType.GRASP
                             else (t.rotation,)):
                rows.append(index)
                rotations.append(rotation)
                pixels.append((t.row, t.col))
                labels.append(t.label)
        inputs = net.input_tensor(np.stack([samples[i].color for i in rows]),
                                  np.stack([samples[i].height for i in rows]),
                                  np.stack([samples[i].goal for i in rows]))  # (B, 5, h, w)
        net.train()
        q = net(inputs, torch.tensor(rotations), full_shape)[:, head]  # (B, rows, cols)
        pixel = torch.tensor(pixels)
        predicted = q[torch.arange(len(rows)), pixel[:, 0], pixel[:, 1]]  # (B,)
        loss = F.smooth_l1_loss(predicted, torch.tensor(labels, dtype=torch.float32), reduction='sum')
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        self.trained[name] += 1
        values = predicted.detach().numpy()
        first: dict[int, float] = {}
        for b, index in enumerate(rows):
            first.setdefault(index, float(values[b]))  # a grasp's prediction at its executed rotation
        return [first[i] for i in range(len(samples))], float(loss.item())

    def replay_indices(self, name: str, replay: SurpriseReplay, reward: float, rng: np.random.Generator) -> list[int]:
        """Earlier transitions to train on with a new one of reward `reward` (drawn before it is added).

        One with another reward, by surprise: for grasps the opposite one (0 <-> grasp reward, as in VPG); for
        pushes, whose rewards take three values, one of the two others drawn at random (the other one when
        none has the first). Then `extra_replays` of any reward.
        """
        c = self.config
        if name == 'grasp':
            others = [0.0 if reward > 0 else c.grasp_reward]
        else:
            others = [v for v in (c.push_reward, 0.0, c.no_change_penalty) if not np.isclose(v, reward)]
            if int(rng.integers(2)):
                others.reverse()
        chosen: list[int] = []
        for other in others:
            index = replay.sample(rng, reward=other)
            if index is not None:
                chosen.append(index)
                break
        for _ in range(c.extra_replays):
            index = replay.sample(rng)
            if index is not None and index not in chosen:
                chosen.append(index)
        return chosen

    # --- persistence --------------------------------------------------------------------------------------
    def state(self) -> dict:
        """Both networks and optimisers with the configuration (part of a checkpoint)."""
        return {'goal_agent_config': self.config.to_dict(), 'network_config': self.config.network.to_dict(),
                'trained': dict(self.trained),
                **{f'{name}_network': net.state_dict() for name, net in self.nets.items()},
                **{f'{name}_optimizer': opt.state_dict() for name, opt in self.optimizers.items()}}

    def load_state(self, payload: dict, with_optimizer: bool = True) -> None:
        """Restore `state()`; CheckpointError when the weights do not fit these networks."""
        try:
            for name in NETS:
                self.nets[name].load_state_dict(payload[f'{name}_network'])
                if with_optimizer:
                    self.optimizers[name].load_state_dict(payload[f'{name}_optimizer'])
            self.trained = {name: int(payload.get('trained', {}).get(name, 0)) for name in NETS}
        except (RuntimeError, KeyError, ValueError) as error:
            raise CheckpointError(f'checkpoint does not fit the goal-conditioned {self.config.network} networks: '
                                  f'{str(error).splitlines()[0]}') from error

    def start_from_goal_agnostic(self, spec: str, names: Sequence[str]) -> None:
        """Give the networks `names` the weights of a goal-agnostic VPG checkpoint (a path or shipped name).

        The goal channel's input weights are zero, so each network starts out scoring exactly as the goal-agnostic
        one does, and learns from there how the goal matters. Their optimisers start afresh. CheckpointError when
        the checkpoint is not a VPG network of the same architecture (but for the goal channel).
        """
        path = resolve_checkpoint(spec)
        payload = load_checkpoint(path)
        agnostic = replace(self.config.network, extra_channels=0)
        if QNetConfig.from_dict(payload['network_config']) != agnostic:
            raise CheckpointError(f'{path} is not a goal-agnostic network like these without the goal channel: '
                                  f'{payload["network_config"]} against {agnostic.to_dict()}')
        for name in names:
            net = self.nets[name]
            weights = {}
            for key, target in net.state_dict().items():
                source = payload['network'][key]
                if source.shape != target.shape:  # a first convolution: the goal channel comes last, zero
                    source = torch.cat([source, torch.zeros_like(target[:, source.shape[1]:])], dim=1)
                weights[key] = source
            net.load_state_dict(weights)
            self.optimizers[name] = self._new_optimizer(net)


def is_goal_checkpoint(spec: str) -> bool:
    """Whether `spec` names a readable checkpoint of the goal-oriented agent (False for names and other files)."""
    path = resolve_checkpoint(spec)
    if not path.is_file():
        return False
    try:
        return 'goal_agent_config' in load_checkpoint(path, required=())
    except CheckpointError:
        return False


def goal_agent_from_checkpoint(path: str, seed: int = 0, with_optimizer: bool = False) -> GoalAgent:
    """A GoalAgent with the weights (and settings) of the goal checkpoint at `path`."""
    payload, config = load_agent_checkpoint(path, ('grasp_network', 'push_network'), 'goal_agent_config',
                                            GoalAgentConfig.from_dict)
    agent = GoalAgent(config, seed)
    agent.load_state(payload, with_optimizer=with_optimizer)
    return agent


# --- the policy ---------------------------------------------------------------------------------------------
class GoalConditionedPolicy(QMapPolicy):
    """A trained goal agent as a goal policy (`decide(heightmap, goal_mask)`), greedy, no learning.

    The hierarchy is expressed on the Q-maps (`goal_q_maps`): when it grasps, pushes are -inf and grasps are
    allowed on the goal only; when it pushes, grasps are -inf and pushes allowed near the goal only. The base
    class's selection (argmax, no repeat of an action that failed on the same scene) then chooses. It counts
    the pushes since its last grasp (`reset` for a new trial; the evaluator makes one policy per trial).
    A policy whose push network was never trained (the grasp stage's) only grasps: the grasp-only
    goal-conditioned baseline; when its goal is not visible it grasps whatever is best (goal-agnostic mask).
    Without a goal mask (`decide(heightmap)`, `q_maps`) it works in the goal-agnostic mode.
    """

    name = 'goal'

    def __init__(self, agent: GoalAgent, config: PolicyConfig | None = None, grasp_only: bool | None = None,
                 grasp_threshold: float | None = None) -> None:
        """Serve `agent`; `grasp_threshold` replaces the agent's (GoalAgentConfig.grasp_threshold) when given.

        Without a `config`, its pushes are not cut (goal_policy.GOAL_KEEP_PUSHES_INSIDE).
        """
        config = config or PolicyConfig(keep_pushes_inside=GOAL_KEEP_PUSHES_INSIDE)
        if grasp_threshold is not None:
            agent.config = replace(agent.config, grasp_threshold=float(grasp_threshold))
        if config.num_rotations != agent.config.network.num_rotations:
            config = replace(config, num_rotations=agent.config.network.num_rotations)
        super().__init__(config)
        self.agent = agent
        self.grasp_only = agent.trained['push'] == 0 if grasp_only is None else bool(grasp_only)
        self.pushes = 0
        """Pushes since the last grasp."""
        self.last_goal_value: float | None = None
        """The goal's grasp value V at the last `goal_q_maps`."""

    @classmethod
    def from_checkpoint(cls, path: str, seed: int = 0, config: PolicyConfig | None = None,
                        grasp_only: bool | None = None, grasp_threshold: float | None = None) -> GoalConditionedPolicy:
        """The policy of a goal checkpoint (a stage's policy.pt or checkpoint.pt); CheckpointError when unusable."""
        return cls(goal_agent_from_checkpoint(path, seed), config, grasp_only, grasp_threshold)

    def reset(self) -> None:
        """Forget the pushes and tried actions (a new trial)."""
        self.pushes = 0
        self.repeat_guard.reset()

    def goal_q_maps(self, heightmap: Heightmap, goal_mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(push_q, grasp_q) with what the hierarchy does not allow now at -inf (see the class)."""
        agent = self.agent
        goal_mask = agnostic_goal_mask(heightmap) if goal_mask is None else check_goal_mask(goal_mask, heightmap)
        if self.grasp_only and not (goal_mask & grasp_mask(heightmap)).any():
            goal_mask = agnostic_goal_mask(heightmap)
        grasp_q = agent.grasp_q(heightmap, goal_mask)
        value = agent.goal_value(heightmap, goal_mask, grasp_q)
        self.last_goal_value = value
        if self.grasp_only or agent.should_grasp(value, self.pushes):
            grasp_q = agent.goal_grasp_q(heightmap, goal_mask, grasp_q)
            if np.isfinite(grasp_q).any() or self.grasp_only:
                return np.full_like(grasp_q, -np.inf), grasp_q
        push_q = agent.push_q(heightmap, goal_mask)  # V below the threshold, or nothing of the goal to grasp
        push_q = np.where(agent.push_cells(heightmap, goal_mask)[None], push_q, -np.inf).astype(np.float32)
        return push_q, np.full_like(push_q, -np.inf)

    def goal_grasp(self, heightmap: Heightmap, goal_mask: np.ndarray) -> Decision | None:
        """The best grasp on the goal now, whatever its value (None: nothing of the goal to grasp); no state changes.

        What the hierarchy would do if it switched to grasping now (a diagnostic: `EvaluationConfig.probe_goal_grasps`).
        """
        agent = self.agent
        goal_mask = check_goal_mask(goal_mask, heightmap)
        grasp_q = agent.goal_grasp_q(heightmap, goal_mask, agent.grasp_q(heightmap, goal_mask))
        if not np.isfinite(grasp_q).any():
            return None
        return agent.greedy(PrimitiveType.GRASP, heightmap, grasp_q)

    def q_maps(self, heightmap: Heightmap) -> tuple[np.ndarray, np.ndarray]:
        """The goal-agnostic mode's (push_q, grasp_q): `goal_q_maps` with every occupied cell as the goal."""
        return self.goal_q_maps(heightmap, None)

    def select(self, heightmap: Heightmap, push_q: np.ndarray, grasp_q: np.ndarray, explore: bool,
               rng: np.random.Generator | None) -> Decision:
        """The base class's choice on the hierarchy's Q-maps; counts the pushes since the last grasp."""
        decision = super().select(heightmap, push_q, grasp_q, explore, rng)
        self.pushes = self.pushes + 1 if decision.primitive.type == PrimitiveType.PUSH else 0
        return decision

    def decide(self, heightmap: Heightmap, goal_mask: np.ndarray | None = None, explore: bool = False,
               rng: np.random.Generator | None = None) -> Decision:
        """The primitive to take on `heightmap` to get the object of `goal_mask` (None: any object)."""
        decision = self.select(heightmap, *self.goal_q_maps(heightmap, goal_mask), explore, rng)
        decision.goal_value = self.last_goal_value
        return decision

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The training stages of the goal-oriented agent (pushgrasp_policy.goal_agent), online in the embedded simulator.

Stages (`GoalTrainConfig.stage`), as in the reference method:
- 'grasp': the goal-conditioned grasp network alone. A scene of `num_objects` random objects, a random
  visible goal; only grasps, epsilon-greedy (exploring grasps at random occupied cells, or the goal-agnostic
  `explorer`'s best grasp), every grasp labelled with hindsight goal relabelling. A new goal is drawn in the
  same scene when the goal was picked, is no longer visible, or had `max_goal_grasps` grasps; the scene is
  rebuilt when it is empty, after `max_no_change` actions that changed nothing, or when no object is visible.
- 'push': the push network against the frozen grasp network. An episode is one new scene and one goal:
  push (epsilon-greedy) until the goal's grasp value reaches the threshold or after `max_pushes` pushes,
  then one greedy grasp ends the episode (it is not learned from); each push is labelled with the
  discriminator's reward. Starts from the grasp stage's checkpoint (`init_from`).
- 'alternate': the same episodes, alternating phases: `alternate_push_episodes` episodes in which the push
  network learns (as in 'push'), then `alternate_grasp_episodes` in which the grasp network learns (its
  grasps epsilon-greedy and relabelled, the pushes greedy from the frozen push network), and again.
  Starts from the push stage's checkpoint (`init_from`). With `switch_explore` (not in the reference), a
  grasp phase also grasps the goal early, before the switch would, so that the grasp network learns the
  goal's value in the scenes the pushes make, not only in those after the switch.

A run directory holds one stage's run:
  checkpoint.pt     the latest training checkpoint (both networks and optimisers, replay metadata: actions,
                    rewards, labels and surprises; RNG states, counters), written atomically at a scene boundary;
  policy.pt         the latest weights alone (GoalConditionedPolicy.from_checkpoint, `pushgrasp eval --method goal`);
  replay/grasp/, replay/push/  the replays' network-resolution heightmaps and goal masks, NNNNNN.npz each;
  transitions.csv   one line per transition, with the stage's success rate (grasp stage: goal grasp success
                    over the last `success_window` grasps; push and alternate: goal picked by the episode's
                    grasp over the last `success_window` episodes);
  config.json       the settings of the run.
`resume` continues from checkpoint.pt exactly: the same scenes, goals and random draws, the same next action
as a run that was never stopped (the transitions after the checkpoint are done again).
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from pushgrasp_control.primitives import PrimitiveType
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_policy.change import changed_cells, workspace_empty
from pushgrasp_policy.checkpoint import (CheckpointError, atomic_write_bytes, load_checkpoint, resolve_checkpoint,
                                         save_checkpoint)
from pushgrasp_policy.decision import Decision, grasp_mask
from pushgrasp_policy.evaluation import heightmap_of
from pushgrasp_policy.goal_agent import (NETS, GoalAgent, GoalAgentConfig, GoalTransition, agnostic_goal_mask,
                                         grasp_examples, push_reward)
from pushgrasp_policy.goal_evaluation import choose_goal
from pushgrasp_policy.networks import QNetConfig
from pushgrasp_policy.replay import SurpriseReplay
from pushgrasp_policy.trainer import RunLog, training_scene
from pushgrasp_sim.env import PushGraspEnv, SimConfig

STAGES = ('grasp', 'push', 'alternate')

TRANSITION_FIELDS = ('transition', 'episode', 'scene', 'phase', 'goal', 'primitive', 'rotation', 'row', 'col',
                     'explored', 'q_value', 'goal_value', 'goal_value_after', 'goal_clearance',
                     'goal_clearance_after', 'epsilon', 'changed_cells',
                     'grasp_success', 'picked', 'goal_picked', 'relabelled', 'reward', 'label', 'loss',
                     'success_rate', 'objects_remaining', 'error', 'wall_time_s')


@dataclass
class GoalTrainConfig:
    """One stage's training run."""

    stage: str = 'grasp'
    """'grasp', 'push' or 'alternate' (see the module)."""
    seed: int = 0
    transitions: int = 2500
    """Stop after this many transitions (executed actions, learned from or not)."""
    num_objects: int = 10
    """Random objects per scene (the reference's grasp stage used 5, its push stage 10)."""
    packed_fraction: float = 0.0
    """Share of the scenes that are a random tightly packed group and 1-2 blocks alone instead (see
    pushgrasp_policy.trainer.training_scene); their test-case files go to the run's scenes/."""
    max_no_change: int = 10
    """Rebuild the scene after this many consecutive actions that changed nothing."""
    max_goal_grasps: int = 5
    """Grasp stage: draw another goal after this many grasps at one goal."""
    checkpoint_every: int = 100
    """Transitions between checkpoints (taken at the next scene boundary)."""
    success_window: int = 100
    alternate_push_episodes: int = 500
    """Alternate stage: episodes of each push phase (reference: 500)."""
    alternate_grasp_episodes: int = 1000
    """Alternate stage: episodes of each grasp phase (reference: 1000)."""
    switch_explore: float = 0.0
    """Alternate stage, grasp phases: the probability, at each step where the switch would push, of grasping
    the goal instead (greedy or exploring like any grasp). 0: never, the reference's switch. Not in the
    reference: without it the grasp network only learns from grasps the threshold or `max_pushes` allowed."""
    agent: GoalAgentConfig = field(default_factory=GoalAgentConfig)
    init_from: str = ''
    """The previous stage's checkpoint (checkpoint.pt or policy.pt of its run) whose networks, and optimiser
    states when it has them, a new run starts from; required by the push and alternate stages."""
    explorer: str = ''
    """A goal-agnostic VPG checkpoint (path or shipped name) whose best grasp is the exploring grasp."""
    vpg_init: str = ''
    """A goal-agnostic VPG checkpoint (path or shipped name) whose weights the networks this stage trains start
    from (after init_from; the goal channel's weights zero): the grasp stage's grasp network, the push stage's
    push network, both in the alternate stage. Not in the reference."""
    torch_threads: int = 2
    """torch intra-op threads (0: leave torch's setting)."""

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f'stage must be one of {", ".join(STAGES)}, got {self.stage!r}')
        if self.alternate_push_episodes < 1 or self.alternate_grasp_episodes < 1:
            raise ValueError('alternate_push_episodes and alternate_grasp_episodes must be at least 1')
        if not 0.0 <= self.packed_fraction <= 1.0:
            raise ValueError(f'packed_fraction must be in [0, 1], got {self.packed_fraction}')
        if self.max_goal_grasps < 1 or self.max_no_change < 1 or self.success_window < 1:
            raise ValueError('max_goal_grasps, max_no_change and success_window must be at least 1')
        if not 0.0 <= self.switch_explore <= 1.0:
            raise ValueError(f'switch_explore must be in [0, 1], got {self.switch_explore}')
        if self.switch_explore > 0.0 and self.stage != 'alternate':
            raise ValueError('switch_explore is a setting of the alternate stage (its grasp phases)')

    def to_dict(self) -> dict:
        """Plain values (config.json, checkpoints)."""
        return asdict(self)


def with_network_of(config: GoalTrainConfig) -> GoalTrainConfig:
    """`config` with the network architecture of its `init_from` checkpoint (unchanged without one).

    A later stage must use the networks the earlier one trained; this spares repeating their settings.
    CheckpointError when the checkpoint is not a goal agent's.
    """
    if not config.init_from:
        return config
    path = resolve_checkpoint(config.init_from)
    payload = load_checkpoint(path, required=('goal_agent_config', 'grasp_network', 'push_network'))
    network = QNetConfig.from_dict(payload['goal_agent_config']['network'])
    return replace(config, agent=replace(config.agent, network=network))


@dataclass
class Pursuit:
    """The scene now and the goal being pursued in it (in memory only: checkpoints fall between scenes)."""

    heightmap: Heightmap
    labels: np.ndarray
    """(rows, cols) object index seen in each cell, -1 where none."""
    goal: int
    grasp_q: np.ndarray
    """(rotations, rows, cols) grasp Q of the grasp network for this goal."""
    value: float
    """The goal's grasp value (GoalAgent.goal_value)."""
    pushes: int = 0
    goal_grasps: int = 0
    push_q: np.ndarray | None = None
    """(rotations, rows, cols) push Q for this goal, when already computed."""

    @property
    def goal_mask(self) -> np.ndarray:
        """(rows, cols) bool cells of the goal."""
        return self.labels == self.goal


def goal_visible(heightmap: Heightmap, labels: np.ndarray, goal: int) -> bool:
    """Whether some cell of `goal` can be grasped (seen, with something underneath)."""
    return bool(((labels == goal) & grasp_mask(heightmap)).any())


class GoalTrainer:
    """Runs `GoalTrainConfig` in `run_dir`; `run()` trains until the transition budget is spent."""

    def __init__(self, config: GoalTrainConfig, run_dir: str | os.PathLike, resume: bool = False,
                 progress: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.run_dir = Path(run_dir)
        self.progress = progress or (lambda line: print(line, file=sys.stderr, flush=True))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if config.torch_threads:
            torch.set_num_threads(config.torch_threads)
        self.agent = GoalAgent(config.agent, config.seed)
        self.replays = {name: SurpriseReplay(config.agent.replay_power) for name in ('grasp', 'push')}
        self.rng = np.random.default_rng(config.seed)
        self.transition = self.episode = self.scene = 0
        self.successes: deque[bool] = deque(maxlen=config.success_window)
        self.elapsed = 0.0
        self.explorer = None
        if config.explorer:  # before the restore: building it seeds torch's generator, which the restore sets
            from pushgrasp_policy.vpg import agent_from_checkpoint
            self.explorer = agent_from_checkpoint(config.explorer, config.seed)
        checkpoint = self.run_dir / 'checkpoint.pt'
        if resume and checkpoint.exists():
            self._restore(checkpoint)
        else:
            if resume:
                self.progress(f'no checkpoint in {self.run_dir}; starting a new run')
            self._initialize()
        (self.run_dir / 'config.json').write_text(json.dumps(config.to_dict(), indent=2) + '\n')
        self.log = RunLog(self.run_dir / 'transitions.csv', TRANSITION_FIELDS, keep_rows=self.transition)
        self.env = PushGraspEnv(SimConfig(default_num_objects=config.num_objects, segmentation=True))
        self.no_change = 0

    # --- the loop -------------------------------------------------------------------------------------
    def run(self) -> dict:
        """Train until `config.transitions`; returns the final figures."""
        cfg = self.config
        started = time.monotonic() - self.elapsed
        last_checkpoint = self.transition
        pursuit = None
        try:
            while self.transition < cfg.transitions:
                if pursuit is None:  # a scene boundary: the only place a checkpoint is taken
                    if self.transition - last_checkpoint >= cfg.checkpoint_every:
                        self.save()
                        last_checkpoint = self.transition
                    pursuit = self._new_scene()
                pursuit = self._step(pursuit, started)
            if pursuit is not None:
                self.episode += 1  # the budget ends the episode
            self.save()
        finally:
            self.log.close()
            self.env.close()
        return self.figures()

    def phase(self) -> str:
        """Which network learns in the current episode: 'grasp' or 'push'."""
        cfg = self.config
        if cfg.stage != 'alternate':
            return cfg.stage
        cycle = cfg.alternate_push_episodes + cfg.alternate_grasp_episodes
        return 'push' if self.episode % cycle < cfg.alternate_push_episodes else 'grasp'

    def _step(self, pursuit: Pursuit, started: float) -> Pursuit | None:
        """Choose, execute and learn from one action; return the pursuit that follows (None: a new scene)."""
        cfg, agent, c = self.config, self.agent, self.config.agent
        phase, heightmap, goal, mask = self.phase(), pursuit.heightmap, pursuit.goal, pursuit.goal_mask
        grasp_only = cfg.stage == 'grasp'
        kind = PrimitiveType.GRASP if grasp_only or agent.should_grasp(pursuit.value, pursuit.pushes) \
            or self._switch_early(phase) else PrimitiveType.PUSH
        learning = phase == kind.name.lower()
        epsilon = agent.epsilon(self.transition)
        explore = learning and bool(self.rng.random() < epsilon)
        decision = self._choose(kind, pursuit, explore)

        observation, info = self.env.step(decision.primitive)
        next_heightmap = heightmap_of(observation, self.env)
        next_labels = self.env.object_labels(observation)
        cells = changed_cells(heightmap.height, next_heightmap.height, c.change_min, c.change_max)
        changed = cells > c.change_cells or bool(info.picked_objects)
        self.no_change = 0 if changed else self.no_change + 1
        scene_over = (info.objects_remaining == 0 or workspace_empty(next_heightmap.height)
                      or self.no_change >= cfg.max_no_change or bool(info.unstable))
        goal_picked = goal in info.picked_objects
        # The discriminator's view of the goal after the action (0 when it cannot be grasped any more).
        next_mask = next_labels == goal
        still_visible = goal_visible(next_heightmap, next_labels, goal)
        next_grasp_q = agent.grasp_q(next_heightmap, next_mask) if still_visible else None
        value_after = agent.goal_value(next_heightmap, next_mask, next_grasp_q) if still_visible else 0.0

        # What follows: the same goal, another goal in the same scene (grasp stage), or a new scene.
        pushes = pursuit.pushes + 1 if kind == PrimitiveType.PUSH else 0
        goal_grasps = pursuit.goal_grasps + (kind == PrimitiveType.GRASP)
        if grasp_only:
            goal_over = goal_picked or not still_visible or goal_grasps >= cfg.max_goal_grasps
            self.successes.append(goal_picked)
        else:
            goal_over = kind == PrimitiveType.GRASP or not still_visible
            if goal_over:
                self.successes.append(goal_picked)
        following = None
        if not goal_over and not scene_over:
            following = Pursuit(next_heightmap, next_labels, goal, next_grasp_q, value_after, pushes, goal_grasps)
        elif grasp_only and not scene_over:
            following = self._pursue(next_heightmap, next_labels, observation)
        if following is not None and not grasp_only and not agent.should_grasp(following.value, following.pushes):
            following.push_q = agent.push_q(next_heightmap, following.goal_mask)  # the next action is a push

        # Labels and learning.
        label = loss = float('nan')  # stay NaN (blank in the log) when this action's network is frozen
        clearance = (float('nan'), float('nan'))  # pushes only
        relabelled = 0
        if kind == PrimitiveType.GRASP:
            agnostic = agnostic_goal_mask(heightmap) if c.agnostic_relabel else None
            examples = grasp_examples(goal, pursuit.labels, info.picked_objects, c.grasp_reward, agnostic)
            reward, relabelled = examples[0].reward, sum(e.relabelled for e in examples)
            # The value of the goal pursued next (a continuing task), when the scene changed and goes on.
            future = c.grasp_gamma * following.value if (following is not None and changed) else 0.0
            items = [(e.goal_mask, e.reward, e.reward + future) for e in examples]
        else:
            # The room around the goal (logged; rewarded with clearance_improvement). A goal pushed out of sight
            # has none to gain.
            clearance = (agent.goal_clearance(heightmap, mask),
                         agent.goal_clearance(next_heightmap, next_mask) if still_visible else 0.0)
            reward = push_reward(pursuit.value, value_after, changed, improvement=c.value_improvement,
                                 reward=c.push_reward, penalty=c.no_change_penalty,
                                 clearance_gain=clearance[1] - clearance[0],
                                 clearance_improvement=c.clearance_improvement)
            future = 0.0
            if following is not None and following.push_q is not None and changed:
                allowed = agent.push_cells(next_heightmap, following.goal_mask)
                future = c.gamma * float(following.push_q[:, allowed].max())
            items = [(mask, reward, reward + future)]
        if learning:
            label = items[0][2]
            loss = self._learn(phase, decision, heightmap, items)

        self.transition += 1
        self.elapsed = time.monotonic() - started
        self._record(phase, pursuit, decision, epsilon, value_after, cells, info, goal_picked, relabelled, reward,
                     label, loss, clearance)
        if goal_over or scene_over:
            self.episode += 1
            if not scene_over and grasp_only and following is None:
                self.progress(f'scene {self.scene - 1}: no visible object left to be the goal; a new scene')
        if scene_over or following is None:
            self.no_change = 0
        return following

    def _switch_early(self, phase: str) -> bool:
        """In a grasp phase, whether to grasp now although the switch says push (`switch_explore`)."""
        p = self.config.switch_explore
        return phase == 'grasp' and p > 0.0 and bool(self.rng.random() < p)

    def _choose(self, kind: PrimitiveType, pursuit: Pursuit, explore: bool) -> Decision:
        """The action of `kind` for `pursuit`: greedy, or exploring (see the module)."""
        agent, heightmap, mask = self.agent, pursuit.heightmap, pursuit.goal_mask
        if kind == PrimitiveType.GRASP:
            if not explore:
                return agent.greedy(kind, heightmap, agent.goal_grasp_q(heightmap, mask, pursuit.grasp_q))
            if self.explorer is None:
                return agent.random(kind, heightmap, grasp_mask(heightmap), pursuit.grasp_q, self.rng)
            explorer_q = self.explorer.q_maps(heightmap)[1]
            best = agent.greedy(kind, heightmap, np.where(grasp_mask(heightmap)[None], explorer_q, -np.inf))
            p = best.primitive
            return agent.decision(kind, p.rotation_index, p.row, p.col, heightmap, np.full_like(explorer_q, -np.inf),
                                  pursuit.grasp_q, explored=True)
        push_q = pursuit.push_q if pursuit.push_q is not None else agent.push_q(heightmap, mask)
        cells = agent.push_cells(heightmap, mask)
        if explore:
            return agent.random(kind, heightmap, cells, push_q, self.rng)
        return agent.greedy(kind, heightmap, np.where(cells[None], push_q, -np.inf).astype(np.float32))

    def _learn(self, name: str, decision: Decision, heightmap: Heightmap,
               items: list[tuple[np.ndarray, float, float]]) -> float:
        """Store the (goal mask, reward, label) examples of `decision` in network `name`'s replay and learn."""
        agent, replay = self.agent, self.replays[name]
        net = agent.nets[name]
        picks = agent.replay_indices(name, replay, items[0][1], self.rng)  # drawn before the new ones are in
        color, height = net.prepare(heightmap.color, heightmap.height)
        p = decision.primitive
        new = []
        for goal_mask, reward, label in items:
            goal = net.prepare_extra(goal_mask[None])  # (1, h, w)
            index = replay.add(GoalTransition(color, height, p.type, p.rotation_index, p.row, p.col, reward, label,
                                              goal=goal))
            self._write_replay_entry(name, index, color, height, goal)
            new.append(index)
        batch = new + picks
        predictions, loss = agent.learn(name, [replay.transitions[i] for i in batch], heightmap.shape)
        for i, predicted in zip(batch, predictions, strict=True):
            replay.set_surprise(i, abs(predicted - replay.transitions[i].label))
        return loss

    def _new_scene(self) -> Pursuit:
        """Build the next scene and draw its goal (further scenes while none has a visible object)."""
        for _ in range(100):
            scene_seed = self.config.seed * 100_000 + self.scene
            self.scene += 1
            pack_file = self.run_dir / 'scenes' / f'scene_{self.scene - 1:06d}.txt'
            scene = training_scene(scene_seed, self.config.num_objects, self.config.packed_fraction, pack_file,
                                   self.env.config.workspace)
            observation = self.env.reset(scene_seed, scene)
            pursuit = self._pursue(heightmap_of(observation, self.env), self.env.object_labels(observation),
                                   observation)
            if pursuit is not None:
                return pursuit
        raise RuntimeError('100 scenes in a row had no visible object to be the goal')

    def _pursue(self, heightmap: Heightmap, labels: np.ndarray, observation) -> Pursuit | None:
        """A new goal in the current scene (a random visible object), or None when no object can be the goal."""
        goal = choose_goal(self.env, self.rng, observation)
        if goal is None or not goal_visible(heightmap, labels, goal):
            return None
        grasp_q = self.agent.grasp_q(heightmap, labels == goal)
        return Pursuit(heightmap, labels, goal, grasp_q, self.agent.goal_value(heightmap, labels == goal, grasp_q))

    def figures(self) -> dict:
        """Counters and rates of the run so far."""
        return {'stage': self.config.stage, 'transitions': self.transition, 'episodes': self.episode,
                'scenes': self.scene, 'success_rate': self._success_rate(), 'wall_time_s': round(self.elapsed, 1),
                'trained': dict(self.agent.trained)}

    def _success_rate(self) -> float:
        return float(np.mean(self.successes)) if self.successes else 0.0

    def _record(self, phase, pursuit, decision, epsilon, value_after, cells, info, goal_picked, relabelled, reward,
                label, loss, clearance) -> None:
        def number(value: float, digits: int) -> str:
            return '' if np.isnan(value) else f'{value:.{digits}f}'

        p = decision.primitive
        rate = self._success_rate()
        self.log.write({
            'transition': self.transition, 'episode': self.episode, 'scene': self.scene - 1, 'phase': phase,
            'goal': pursuit.goal, 'primitive': p.type.name.lower(), 'rotation': p.rotation_index, 'row': p.row,
            'col': p.col, 'explored': int(decision.explored), 'q_value': f'{p.q_value:.4f}',
            'goal_value': f'{pursuit.value:.4f}',
            'goal_value_after': f'{value_after:.4f}' if p.type == PrimitiveType.PUSH else '',
            'goal_clearance': number(clearance[0], 4), 'goal_clearance_after': number(clearance[1], 4),
            'epsilon': f'{epsilon:.4f}', 'changed_cells': cells, 'grasp_success': int(info.grasp_success),
            'picked': ' '.join(str(i) for i in info.picked_objects), 'goal_picked': int(goal_picked),
            'relabelled': relabelled, 'reward': reward, 'label': number(label, 4), 'loss': number(loss, 5),
            'success_rate': f'{rate:.3f}', 'objects_remaining': info.objects_remaining,
            'error': info.error.replace('\n', ' '), 'wall_time_s': f'{self.elapsed:.1f}'})
        total = self.config.transitions
        done = int(30 * self.transition / total)
        self.progress(f'[{"#" * done}{"." * (30 - done)}] {self.transition}/{total} {self.config.stage} '
                      f'episode {self.episode} {phase}-phase {p.type.name.lower():5s} goal {pursuit.goal} '
                      f'r={reward:.1f} success {rate:.2f} eps {epsilon:.3f}')

    # --- checkpoints ----------------------------------------------------------------------------------
    def save(self) -> None:
        """Write checkpoint.pt (everything to resume) and policy.pt (the weights), atomically.

        The replay's heightmaps are already on disk (written as each transition was added).
        """
        state = self.agent.state()
        save_checkpoint(self.run_dir / 'checkpoint.pt', {
            **state, 'goal_train_config': self.config.to_dict(),
            'replays': {name: {k: torch.from_numpy(v) for k, v in replay.metadata().items()}
                        for name, replay in self.replays.items()},
            'numpy_rng': json.dumps(self.rng.bit_generator.state), 'torch_rng': torch.get_rng_state(),
            'counters': {'transition': self.transition, 'episode': self.episode, 'scene': self.scene,
                         'elapsed': self.elapsed, 'successes': [bool(x) for x in self.successes]}})
        weights = ('goal_agent_config', 'network_config', 'trained', 'grasp_network', 'push_network')
        save_checkpoint(self.run_dir / 'policy.pt', {**{key: state[key] for key in weights}, 'stage': self.config.stage,
                                                     'trained_transitions': self.transition})

    def _replay_path(self, name: str, index: int) -> Path:
        return self.run_dir / 'replay' / name / f'{index:06d}.npz'

    def _write_replay_entry(self, name: str, index: int, color: np.ndarray, height: np.ndarray,
                            goal: np.ndarray) -> None:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, color=color, height=height, goal=goal)
        atomic_write_bytes(self._replay_path(name, index), buffer.getvalue())

    def _initialize(self) -> None:
        """Start from `config.init_from`'s networks (required after the grasp stage), then from `vpg_init`'s."""
        cfg = self.config
        self._initialize_from_stage()
        if cfg.vpg_init:
            trained = {'grasp': ('grasp',), 'push': ('push',), 'alternate': NETS}[cfg.stage]
            self.agent.start_from_goal_agnostic(cfg.vpg_init, trained)
            self.progress(f'{" and ".join(trained)} network{"s" if len(trained) > 1 else ""} starting from the '
                          f'goal-agnostic weights of {resolve_checkpoint(cfg.vpg_init)}')

    def _initialize_from_stage(self) -> None:
        """Load `config.init_from`'s networks and optimiser states, when given."""
        cfg = self.config
        if not cfg.init_from:
            if cfg.stage != 'grasp':
                raise ValueError(f'the {cfg.stage} stage starts from the previous stage\'s checkpoint: give init_from '
                                 '(the grasp stage\'s run for push, the push stage\'s run for alternate)')
            return
        path = resolve_checkpoint(cfg.init_from)
        payload = load_checkpoint(path, required=('goal_agent_config', 'grasp_network', 'push_network'))
        with_optimizer = all(f'{name}_optimizer' in payload for name in ('grasp', 'push'))
        self.agent.load_state(payload, with_optimizer=with_optimizer)
        for optimizer in self.agent.optimizers.values():
            for group in optimizer.param_groups:  # the loaded state carries the earlier stage's settings
                group['lr'], group['weight_decay'] = cfg.agent.learning_rate, cfg.agent.weight_decay
        self.progress(f'{cfg.stage} stage starting from the networks{" and optimisers" if with_optimizer else ""} '
                      f'of {path} (trained steps: {self.agent.trained})')

    def _restore(self, path: Path) -> None:
        payload = load_checkpoint(path, required=('goal_train_config', 'replays', 'numpy_rng', 'torch_rng',
                                                  'counters'))
        stage = payload['goal_train_config'].get('stage')
        if stage != self.config.stage:
            raise CheckpointError(f'{path} is a checkpoint of the {stage} stage, not of the {self.config.stage} stage')
        self.agent.load_state(payload)
        counters = payload['counters']
        self.transition, self.episode = int(counters['transition']), int(counters['episode'])
        self.scene, self.elapsed = int(counters['scene']), float(counters['elapsed'])
        self.successes.extend(counters['successes'])
        self.rng.bit_generator.state = json.loads(payload['numpy_rng'])
        torch.set_rng_state(payload['torch_rng'])
        for name, saved in payload['replays'].items():
            metadata = {k: v.numpy() for k, v in saved.items()}
            entries = []
            for index in range(len(metadata['reward'])):
                entry = self._replay_path(name, index)
                if not entry.exists():
                    raise CheckpointError(f'{entry} is missing: the run cannot be resumed exactly')
                with np.load(entry) as saved_entry:
                    entries.append((saved_entry['color'], saved_entry['height'], saved_entry['goal']))
            replay = SurpriseReplay.from_metadata(metadata, [(color, height) for color, height, _ in entries],
                                                  self.config.agent.replay_power)
            replay.transitions = [GoalTransition(**vars(t), goal=goal)
                                  for t, (_, _, goal) in zip(replay.transitions, entries, strict=True)]
            self.replays[name] = replay
        self.progress(f'resumed {self.run_dir} ({self.config.stage} stage) at transition {self.transition}, '
                      f'episode {self.episode}')

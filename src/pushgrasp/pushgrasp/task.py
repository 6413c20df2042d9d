# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The score of one task episode (clearing a table through the ROS graph), kept like a benchmark trial.

The task node (`pushgrasp.ros.task_node`) runs the loop: fresh heightmap, SelectPrimitive, ExecutePrimitive,
Transition. This module keeps the episode's score with the types and rules of the benchmark's trials
(`pushgrasp_policy.evaluation`: TrialResult, StepRecord, the end reasons, the action budget of
EvaluationConfig), so that an episode on the graph and a benchmark trial are read the same way:

- An action FAILED when nothing changed and nothing was picked. The task node cannot look inside the scene,
  so "changed" is: a successful grasp, the executor saw a change, or more than `CHANGE_CELLS` heightmap cells
  changed (`pushgrasp_policy.change`, the reference method's test). An action that could not be carried out
  (no primitive chosen, the control server missing, the goal rejected, aborted or timed out) fails too.
- The episode ends, checked in this order after every action: all N objects picked (CLEARED), no object
  left in the workspace (WORKSPACE_EMPTY), `max_consecutive_failures` failed actions in a row
  (TOO_MANY_FAILURES), or the action budget spent (ACTION_BUDGET). A scene with no object at the start is
  EMPTY_SCENE (no action is taken).

What is known of the objects depends on the graph. With a simulator (its `sim/get_object_poses` service)
the objects inside the workspace are counted before and after every action, so N, picks and pushes out of the
workspace are exact. Without one (a real robot) N is unknown: every successful grasp counts as a pick, the
workspace counts as clear when the heightmap shows nothing (`workspace_empty`), and the metrics report
`objects_total`, `num_objects`, `completed` and `action_efficiency` as null.

Goal mode (an Episode with a `ColorGoal`): the episode is about ONE object, named by its colour as the real robot
names it (SelectPrimitive's GOAL_COLOR), and is scored like a goal-oriented benchmark trial
(`pushgrasp_policy.goal_evaluation`: GoalTrialResult, its end reasons). The goal is looked for in every heightmap
the task node sees, with the colour segmentation the policy node uses (`pushgrasp_perception.goal_mask.color_mask`),
and the rules, on the real robot and in the simulator alike, are:

- the goal is not seen in the first heightmap: GOAL_ABSENT, no action is taken;
- the goal is no longer seen after a successful grasp: the grasp took it, GOAL_PICKED (the episode is
  completed; its motion number is the number of actions);
- the goal is no longer seen and no successful grasp happened since it was last seen: GOAL_LOST (pushed out of
  the workspace, knocked off, or hidden under another object);
- a successful grasp after which the goal is still seen took another object (`other_picked`), and the episode
  goes on;
- otherwise the usual rules: failures in a row, the action budget, an empty workspace.

When several objects share the goal colour the episode ends when none of that colour is seen any more.

Plain Python: no ROS.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pushgrasp_control.primitives import Primitive, PrimitiveType
from pushgrasp_perception.goal_mask import color_mask, parse_goal_color
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_policy.change import CHANGE_CELLS
from pushgrasp_policy.evaluation import EMPTY_SCENE, EvaluationConfig, StepRecord, TrialResult, count_action, end_reason
from pushgrasp_policy.goal_evaluation import GOAL_ABSENT, GOAL_LOST, GOAL_PICKED, GoalTrialResult

GRASP_REWARD = 1.0
"""Reward of a successful grasp (the reference method's, as in pushgrasp_interfaces/Transition)."""
PUSH_REWARD = 0.5
"""Reward of a push that changed the scene."""
NO_PRIMITIVE = 'none'
"""StepRecord.primitive of an attempt on which the policy chose nothing."""


@dataclass(frozen=True)
class ColorGoal:
    """The goal of a goal-mode episode: the object of one colour (SelectPrimitive's GOAL_COLOR)."""

    color: str
    """A palette colour name ('red') or 'R,G,B' in 0..255."""
    tolerance: float = 0.0
    """Largest colour distance (0..255) counted as the goal; 0: the segmentation's default."""

    def __post_init__(self) -> None:
        """Check the colour now: GoalError (a ValueError) naming the known colours for an unknown one."""
        parse_goal_color(self.color)
        if not self.tolerance >= 0:
            raise ValueError(f'goal colour tolerance must be >= 0 (0: the default), got {self.tolerance}')

    def describe(self) -> str:
        """Return the goal in words, for logs."""
        return f'the {self.color.strip()} object'

    def visible(self, heightmap: Heightmap) -> bool:
        """Whether `heightmap` shows the goal (the policy node's colour segmentation finds any cell of it)."""
        return bool(color_mask(heightmap, self.color, self.tolerance).any())


@dataclass
class ActionOutcome:
    """What the task node saw of one attempted action: the input of `Episode.record`."""

    primitive: Primitive | None = None
    """The chosen primitive; None when the policy chose none (server missing, goal aborted or timed out)."""
    executed: bool = False
    """The control node ran the primitive to its end (the ExecutePrimitive goal succeeded)."""
    grasp_success: bool = False
    """A grasp held an object after lifting (the ExecutePrimitive result)."""
    executor_scene_changed: bool = False
    """The executor itself saw the scene change (ExecutePrimitive's scene_changed)."""
    changed_cells: int | None = None
    """Heightmap cells the action changed (pushgrasp_policy.change); None without a heightmap after it."""
    objects_inside: set[int] | None = None
    """Simulator ids of the objects inside the workspace after the action; None when not known."""
    workspace_empty: bool | None = None
    """The heightmap after the action shows an empty workspace; None without a heightmap after it."""
    goal_visible: bool | None = None
    """Goal mode: the heightmap after the action shows the goal (`Episode.goal_visible_in`); None without a
    heightmap after it, or without a goal."""
    error: str = ''
    """Why the action could not be chosen or executed, empty when it ran."""
    explore: bool = False
    """The policy was asked to explore (epsilon-greedy) for this action."""
    decision_ms: float = 0.0
    execution_s: float = 0.0
    execute_feedback: list[str] = field(default_factory=list)
    """The execution phases reported as feedback (approach, contact, retreat), in order, without repeats."""


@dataclass
class TaskStep(StepRecord):
    """A benchmark StepRecord with what the task node also knows of the action."""

    objects_remaining: int | None
    """Objects inside the workspace after the action; None when not known (no simulator, objects visible)."""
    description: str = ''
    """The primitive in one line (or why there was none)."""
    explore: bool = False
    reward: float = 0.0
    """The reward published in the step's Transition."""
    changed_cells: int | None = None
    decision_ms: float = 0.0
    """Time to get the primitive from the policy node, milliseconds."""
    execution_s: float = 0.0
    """Time the control node took to execute it, seconds."""
    execute_feedback: list[str] = field(default_factory=list)
    goal_visible: bool | None = None
    """Goal mode: the goal was seen in the heightmap after the action (None: not known, or no goal)."""
    heightmap_stamp_ns: int = 0
    """Stamp of the heightmap the primitive was chosen on (the policy node's pictures carry it); 0 without one."""


def outcome_reward(kind: str, grasp_success: bool, changed: bool) -> float:
    """Return the reference reward: GRASP_REWARD for a successful grasp, PUSH_REWARD for a push that changed it."""
    if kind == 'grasp':
        return GRASP_REWARD if grasp_success else 0.0
    if kind == 'push':
        return PUSH_REWARD if changed else 0.0
    return 0.0


class Episode:
    """The running score of one episode; `record` every attempted action, read `metrics` at the end."""

    def __init__(self, episode_id: int, seed: int, rules: EvaluationConfig, initial_objects: set[int] | None,
                 case: str = '', goal: ColorGoal | None = None) -> None:
        """Start scoring an episode.

        Args:
            episode_id: index of the episode in the task node's life (Transition.episode_id).
            seed: the seed of the episode's scene (recorded in the result).
            rules: the failure limit and action budget; without a simulator (`initial_objects` None) its
                `max_actions` must be set, as the per-object budget needs N.
            initial_objects: simulator ids of the objects inside the workspace at the start; None when the
                objects cannot be counted.
            case: a name of the scene for the result (e.g. the test-case file).
            goal: goal mode: the one object to pick (see the module docstring); None: clear the workspace.
        """
        if initial_objects is None and rules.max_actions is None:
            raise ValueError('without a count of the objects the action budget (max_actions) must be given')
        self.episode_id = int(episode_id)
        self.rules = rules
        self.initial = frozenset(initial_objects) if initial_objects is not None else None
        self._inside = set(self.initial or ())
        self.goal = goal
        num_objects = len(self.initial or ())
        self.result: TrialResult = TrialResult(case=case, seed=int(seed), num_objects=num_objects) if goal is None \
            else GoalTrialResult(case=case, seed=int(seed), num_objects=num_objects, goal_color=goal.color.strip())
        self._grasp_unseen = False
        """Goal mode: a successful grasp happened since the goal was last seen (it may have taken the goal)."""
        self.budget = rules.action_budget(self.result.num_objects)
        self.failures = 0
        """Failed actions in a row so far."""
        self.objects_remaining: int | None = len(self.initial) if self.initial is not None else None
        self._started = time.monotonic()
        self._ended: float | None = None
        if self.initial is not None and not self.initial:
            self.end(EMPTY_SCENE)

    @property
    def objects_known(self) -> bool:
        """The objects are counted by a simulator (N is known)."""
        return self.initial is not None

    @property
    def done(self) -> bool:
        """The episode has ended (`result.reason` says why)."""
        return bool(self.result.reason)

    @property
    def actions(self) -> int:
        """Actions attempted so far."""
        return self.result.actions

    @property
    def goal_picked(self) -> bool | None:
        """Goal mode: whether a grasp took the goal; None without a goal."""
        if self.goal is None:
            return None
        return self.result.goal_grasps > 0

    def goal_visible_in(self, heightmap: Heightmap) -> bool | None:
        """Goal mode: whether `heightmap` shows the goal; None without a goal."""
        return self.goal.visible(heightmap) if self.goal is not None else None

    def start_on_heightmap(self, empty: bool, goal_visible: bool | None = None) -> None:
        """Note what the first heightmap shows.

        Without a simulator an empty workspace ends the episode (EMPTY_SCENE); in goal mode a first heightmap
        without the goal (`goal_visible` False) ends it too (GOAL_ABSENT).
        """
        if not self.objects_known and empty and not self.done:
            self.objects_remaining = 0
            self.end(EMPTY_SCENE)
        if goal_visible is not None:
            self.observe_goal(goal_visible)

    def observe_goal(self, visible: bool) -> None:
        """Goal mode: note whether the newest heightmap shows the goal; end the episode when it is gone.

        Gone before any action: GOAL_ABSENT; gone after a successful grasp since it was last seen: GOAL_PICKED
        (counted as the goal's grasp); gone otherwise: GOAL_LOST. Without a goal, or once ended, nothing happens.
        """
        if self.goal is None or self.done:
            return
        if visible:
            self._grasp_unseen = False
        elif self.actions == 0:
            self.end(f'{GOAL_ABSENT}: {self.goal.describe()} is not seen in the workspace')
        elif self._grasp_unseen:
            self.result.goal_grasps += 1
            self.end(GOAL_PICKED)
        else:
            self.end(f'{GOAL_LOST}: {self.goal.describe()} is no longer seen, and no grasp took it (pushed out of '
                     'the workspace, or hidden)')

    def end(self, reason: str) -> None:
        """End the episode for `reason` (one of evaluation's end reasons, possibly with ': detail')."""
        if self.done:
            return
        self.result.reason = reason
        if self.goal is not None:
            self.result.completed = self.result.goal_grasps > 0
            self.result.other_picked = max(self.result.picked - self.result.goal_grasps, 0)
        else:
            self.result.completed = self.objects_known and self.result.num_objects > 0 and \
                self.result.picked == self.result.num_objects
        self._ended = time.monotonic()

    def record(self, outcome: ActionOutcome) -> TaskStep:
        """Score one attempted action, end the episode when a rule says so, and return its step record."""
        if self.done:
            raise RuntimeError(f'episode {self.episode_id} has ended ({self.result.reason})')
        primitive = outcome.primitive
        kind = primitive.type.name.lower() if primitive is not None else NO_PRIMITIVE
        is_grasp = primitive is not None and primitive.type == PrimitiveType.GRASP
        grasp_success = bool(outcome.grasp_success and is_grasp)
        changed = grasp_success or outcome.executor_scene_changed or \
            (outcome.changed_cells is not None and outcome.changed_cells > CHANGE_CELLS)
        failed = not outcome.executed or not changed

        picked, left, pushed_out = grasp_success, [], 0
        remaining = self.objects_remaining
        if self.objects_known and outcome.objects_inside is not None:
            left = sorted(self._inside - outcome.objects_inside)
            left_initial = [i for i in left if i in self.initial]
            picked = grasp_success and bool(left_initial)
            pushed_out = len(left_initial) - int(picked)
            self._inside = set(outcome.objects_inside)
            remaining = len(self._inside)
        elif self.objects_known:
            remaining = None  # this count failed; the next successful one catches up
        else:
            remaining = 0 if outcome.workspace_empty else None

        result = self.result
        count_action(result, kind, grasp_success, picked, pushed_out)
        self.failures = self.failures + 1 if failed else 0
        self.objects_remaining = remaining

        q_value = float(primitive.q_value) if primitive is not None else math.nan
        step = TaskStep(
            step=result.actions - 1, primitive=kind,
            row=int(primitive.row) if primitive is not None else -1,
            col=int(primitive.col) if primitive is not None else -1,
            rotation_index=int(primitive.rotation_index) if primitive is not None else -1,
            q_value=q_value if math.isfinite(q_value) else None, executed=bool(outcome.executed),
            grasp_success=grasp_success, scene_changed=bool(changed), failed=failed, objects_remaining=remaining,
            objects_left_workspace=[int(i) for i in left], error=outcome.error,
            description=primitive.describe() if primitive is not None else f'no primitive: {outcome.error}',
            explore=outcome.explore, reward=outcome_reward(kind, grasp_success, changed),
            changed_cells=outcome.changed_cells, decision_ms=float(outcome.decision_ms),
            execution_s=float(outcome.execution_s), execute_feedback=list(outcome.execute_feedback),
            goal_visible=outcome.goal_visible if self.goal is not None else None,
            heightmap_stamp_ns=int(primitive.stamp_ns) if primitive is not None else 0)
        result.steps.append(step)

        # Goal mode: the goal's rules come first (a grasp that took the goal ends the episode as picked, even
        # when it also emptied the workspace).
        if self.goal is not None:
            self._grasp_unseen = self._grasp_unseen or grasp_success
            if outcome.goal_visible is not None:
                self.observe_goal(outcome.goal_visible)
            if self.done:
                return step
        reason = end_reason(result, remaining, self.failures, self.rules.max_consecutive_failures, self.budget,
                            objects_known=self.objects_known)
        if reason:
            self.end(reason)
        return step

    def describe_step(self, step: TaskStep) -> str:
        """One log line for a recorded step."""
        if step.error:
            outcome = f'FAILED: {step.error}'
        elif step.primitive == 'grasp':
            outcome = 'picked' if step.grasp_success else 'missed'
        else:
            outcome = 'scene changed' if step.scene_changed else 'nothing changed'
        left = f'{step.objects_remaining} left' if step.objects_remaining is not None else 'objects left unknown'
        if step.goal_visible is not None:
            left += '; goal still seen' if step.goal_visible else '; goal gone'
        head = f'episode {self.episode_id}, action {step.step + 1}/{self.budget}'
        if step.primitive == NO_PRIMITIVE:
            return f'{head}: {outcome}'
        return (f'{head}: {step.description}{" (explore)" if step.explore else ""} -> {outcome} ({left}; '
                f'{step.decision_ms:.0f} ms to decide, {step.execution_s:.1f} s to act)')

    def describe(self) -> str:
        """One log line for the episode so far."""
        r = self.result
        if self.goal is not None:
            outcome = 'goal NOT picked' if not self.goal_picked else \
                f'goal picked in {r.actions} action{"" if r.actions == 1 else "s"}'
            outcome = outcome if self.done else 'running'
            return (f'episode {self.episode_id}, goal {self.goal.describe()}: {outcome}; {r.grasp_attempts} grasps '
                    f'({r.other_picked} other objects picked), {r.pushes} pushes; ended: {r.reason or "running"}')
        if self.objects_known and self.result.case:
            return f'episode {self.episode_id}: {self.result.describe()}'
        return (f'episode {self.episode_id}: picked {r.picked} in {r.actions} actions, {r.grasp_successes}/'
                f'{r.grasp_attempts} grasps, {r.pushes} pushes; workspace '
                f'{"clear" if self.objects_remaining == 0 else "not clear"}; ended: {r.reason or "running"}')

    def metrics(self) -> dict[str, Any]:
        """Return the episode's figures as a JSON-friendly dict: `TrialResult.to_dict()` and the task's own keys.

        Task keys: episode_id, objects_source ('simulator' or 'heightmap'), objects_total (N, or None),
        objects_picked, objects_remaining (None when unknown), failed_actions, action_budget,
        max_consecutive_failures, mean_decision_ms (over actions that got a primitive, None without any)
        and wall_time_s. Without a simulator num_objects, completed and action_efficiency are None.

        Goal keys, None without a goal: goal (the colour as given), goal_color_tolerance, goal_picked (a grasp took
        the goal), motion_number (the actions of an episode whose goal was picked, else None, as the benchmark
        counts it), and in goal mode GoalTrialResult's goal_color, goal_grasps, other_picked,
        goal_grasp_success_rate (goal_object is None: the task node knows the goal by its colour only). In goal
        mode `completed` is goal_picked, also without a simulator.
        """
        result = self.result
        figures = result.to_dict()
        decisions = [s.decision_ms for s in result.steps if isinstance(s, TaskStep) and s.primitive != NO_PRIMITIVE]
        ended = self._ended if self._ended is not None else time.monotonic()
        figures.update({
            'episode_id': self.episode_id,
            'objects_source': 'simulator' if self.objects_known else 'heightmap',
            'objects_total': result.num_objects if self.objects_known else None,
            'objects_picked': result.picked,
            'objects_remaining': self.objects_remaining,
            'failed_actions': sum(s.failed for s in result.steps),
            'action_budget': self.budget,
            'max_consecutive_failures': self.rules.max_consecutive_failures,
            'mean_decision_ms': float(np.mean(decisions)) if decisions else None,
            'wall_time_s': round(ended - self._started, 3),
        })
        goal = self.goal
        figures.update({
            'goal': goal.color.strip() if goal is not None else None,
            'goal_color_tolerance': goal.tolerance if goal is not None else None,
            'goal_picked': self.goal_picked,
            'motion_number': result.actions if self.goal_picked else None,
        })
        if goal is not None:
            figures['goal_object'] = None
        if not self.objects_known:
            figures.update(num_objects=None, action_efficiency=None)
            if goal is None:
                figures['completed'] = None
        return figures

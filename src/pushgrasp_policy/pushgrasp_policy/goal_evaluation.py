# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Goal-oriented evaluation: pick ONE given object out of clutter with a fixed policy, scored the reference way.

Cases (`GoalCase`): a test case with the 0-based object line of its goal (the reference's goal-oriented
test-case format), or N random objects with a goal drawn per trial. A goals file (`--goals FILE`) lists
one `case-file-name goal-index` pair a line (`load_goals_file`).

One trial: reset the environment to the case's scene, then repeatedly build the heightmap and the goal
object's mask (from the simulator's segmentation: `PushGraspEnv.object_mask`, the GOAL_ID goal type), let
the goal policy choose greedily and execute the primitive. The bookkeeping is the goal-agnostic
evaluator's (pushgrasp_policy.evaluation: counters, step records, seeds, pictures, the trial loop over
cases), with these rules:

- an action FAILED when nothing moved and nothing was picked (the evaluator's rule: grasping another
  object is not a failed action, but it is a grasp that did not get the goal);
- the trial ends when the goal object was picked (COMPLETED: GOAL_PICKED), when the goal left the
  workspace unpicked and is out of view (GOAL_LOST; partly in view, it can still be picked), after
  `max_consecutive_failures` failed actions in a row, after the action budget, when nothing is left in view,
  or when the policy cannot choose;
- trials whose goal was not in the workspace after the reset (GOAL_ABSENT), with no object in it
  (EMPTY_SCENE) or whose physics blew up (SIM_UNSTABLE) are listed but not scored.

Metrics (benchmark.md, goal-oriented; `summarize_goals`):

- completion: % of trials in which the goal object was picked before 10 consecutive failures;
- goal_grasp_success: mean over completed trials of (goal grasped / grasp attempts), in percent;
- motion_number: mean number of actions per completed trial.

Plain Python: no ROS.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_policy.evaluation import (
    EMPTY_SCENE, NO_ACTION, SIM_UNSTABLE, EvaluationConfig, Scene, TrialResult, action_failed, count_action,
    IN_VIEW_CELLS, end_reason, end_reason_counts, evaluate, format_table, heightmap_of, remaining_in_view,
    save_step_picture, step_record, summarize_by_case)
from pushgrasp_policy.goal_policy import GoalPolicy

if TYPE_CHECKING:
    from pushgrasp_sim.env import PushGraspEnv

# Why a goal trial ended, beside the evaluator's reasons (TrialResult.reason).
GOAL_PICKED = 'goal picked'
"""The goal object was taken out of the scene by a grasp (the trial is completed)."""
GOAL_LOST = 'goal lost'
"""The goal object left the workspace and the view without being picked (pushed out, fell off)."""
GOAL_ABSENT = 'goal absent'
"""The goal object was not inside the workspace after the reset; such trials are not scored."""
GOAL_EXCLUDED = (EMPTY_SCENE, SIM_UNSTABLE, GOAL_ABSENT)

GoalPolicyFactory = Callable[[int], GoalPolicy]
"""Builds the goal policy for one trial from the trial's seed."""


class GoalsFileError(ValueError):
    """A malformed goals file; the message names the file and the line."""


@dataclass(frozen=True)
class GoalCase:
    """A goal-oriented case: a scene and which object of it is the goal."""

    scene: Scene
    """A test-case path, or a number of random objects."""
    goal_line: int | None = None
    """The 0-based object line of the test case naming the goal; None: a random visible object each trial."""

    def scene_spec(self, seed: int, config: EvaluationConfig) -> Any:
        """What `PushGraspEnv.reset` takes for this case (a SceneSpec with the goal line for test cases)."""
        if self.goal_line is None:
            return config.scene_to_reset(self.scene, seed)
        from pushgrasp_sim.scene import SceneSpec
        return SceneSpec(testcase=self.scene, goal_line=self.goal_line, seed=seed)


@dataclass
class GoalTrialResult(TrialResult):
    """The outcome of one goal trial: the evaluator's counters plus the goal's."""

    goal_object: int = -1
    """Index of the goal object in the scene (-1 when there was none)."""
    goal_color: str | None = None
    """The goal's palette colour name, when it has one."""
    goal_grasps: int = 0
    """Grasps that took the goal out of the scene (0 or 1: the trial ends there)."""
    other_picked: int = 0
    """Objects other than the goal picked on the way."""

    @property
    def goal_grasp_success_rate(self) -> float | None:
        """Goal grasped / grasp attempts; None without grasp attempts."""
        return self.goal_grasps / self.grasp_attempts if self.grasp_attempts else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict of every field (steps included) and the per-trial ratios."""
        result = super().to_dict()
        result['goal_grasp_success_rate'] = self.goal_grasp_success_rate
        return result

    def describe(self) -> str:
        """One line for logs."""
        goal = f'goal {self.goal_object}' + (f' ({self.goal_color})' if self.goal_color else '')
        return (f'{self.case} seed {self.seed}, {goal}: {"completed" if self.completed else "FAILED"} in '
                f'{self.actions} actions, {self.grasp_attempts} grasps ({self.other_picked} other objects picked), '
                f'{self.pushes} pushes; ended: {self.reason}')


# --- cases -----------------------------------------------------------------------------------------------
def _case_path(name: str, base: Path) -> Path:
    """A test-case file named in a goals file: relative to the goals file, else among the shipped cases."""
    from pushgrasp_sim.testcases import TESTCASE_DIR
    path = Path(name)
    if path.is_absolute():
        return path
    for root in (base, TESTCASE_DIR, TESTCASE_DIR / 'challenging'):
        for candidate in (root / path, root / f'{name}.txt'):
            if candidate.is_file():
                return candidate
    return base / path


def parse_goals(text: str, source: str = '<string>',
                base: str | os.PathLike | None = None) -> list[tuple[str, GoalCase]]:
    """The (name, GoalCase) pairs of a goals file's text: one `case-file-name goal-index` pair a line.

    Blank lines and lines starting with '#' are skipped. A case file name is looked up relative to `base`
    (the goals file's directory), then among the shipped test cases (also without '.txt'). Each case is
    parsed with its goal line, so an unusable goal is reported here. Names are `<case stem>:<goal index>`.

    Raises:
        GoalsFileError: '<source>:<line>: ...' for a line without exactly two fields, a goal index that is
            not a non-negative integer, a missing or malformed test case, or a goal line naming no object in
            the scene.
    """
    from pushgrasp_sim.testcases import load_testcase
    base = Path(base) if base is not None else Path.cwd()
    cases: list[tuple[str, GoalCase]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        where = f'{source}:{number}'
        fields = line.split()
        if len(fields) != 2:
            raise GoalsFileError(f'{where}: expected "case-file-name goal-index", got {len(fields)} fields: {line!r}')
        name, index_text = fields
        try:
            goal_line = int(index_text)
        except ValueError:
            raise GoalsFileError(f'{where}: goal index {index_text!r} is not an integer') from None
        if goal_line < 0:
            raise GoalsFileError(f'{where}: goal index {goal_line} is negative (object lines count from 0)')
        path = _case_path(name, base)
        try:
            load_testcase(path, goal_line=goal_line)
        except OSError as error:
            raise GoalsFileError(f'{where}: cannot read test case {path}: {error.strerror or error}') from None
        except ValueError as error:  # TestCaseError: a malformed case or a goal line naming no object
            raise GoalsFileError(f'{where}: {error}') from None
        cases.append((f'{path.stem}:{goal_line}', GoalCase(scene=path, goal_line=goal_line)))
    if not cases:
        raise GoalsFileError(f'{source}: no goals (expected lines "case-file-name goal-index")')
    return cases


def load_goals_file(path: str | os.PathLike) -> list[tuple[str, GoalCase]]:
    """Read a goals file (see `parse_goals`); GoalsFileError when it cannot be read or is malformed."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise GoalsFileError(f'{path}: cannot read the goals file: {error.strerror or error}') from None
    return parse_goals(text, source=str(path), base=path.parent)


def expand_goal_cases(goals: str | os.PathLike | None = None, random: int | None = None) -> list[tuple[str, GoalCase]]:
    """The (name, GoalCase) list of a goal evaluation from `--goals FILE` and/or `--random N` (a random goal).

    Raises ValueError (GoalsFileError) with the reason: neither given, N < 1, or a bad goals file.
    """
    cases: list[tuple[str, GoalCase]] = []
    if goals is not None:
        cases += load_goals_file(goals)
    if random is not None:
        if random < 1:
            raise ValueError(f'the number of random objects must be at least 1, got {random}')
        cases.append((f'random{random}', GoalCase(scene=int(random))))
    if not cases:
        raise ValueError('no goal cases: give a goals file or a number of random objects')
    return cases


# --- trials ----------------------------------------------------------------------------------------------
def _draw_goal(color: np.ndarray, goal_mask: np.ndarray) -> np.ndarray:
    """The colour heightmap with the goal's outline drawn in white (for pictures)."""
    picture = np.array(color, copy=True)
    contours, _ = cv2.findContours(goal_mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(picture, contours, -1, (255, 255, 255), 1)
    return picture


def choose_goal(env: PushGraspEnv, rng: np.random.Generator, observation: Any = None) -> int | None:
    """A random object that is inside the workspace and visible in the heightmap, or None when none is."""
    labels = env.object_labels(observation)
    inside = [s.index for s in env.object_states() if s.inside_workspace]
    visible = [i for i in inside if np.any(labels == i)]
    return int(rng.choice(visible)) if visible else None


def probe_goal_grasp(env: PushGraspEnv, policy: GoalPolicy, heightmap: Heightmap, goal_mask: np.ndarray,
                     goal: int) -> bool | None:
    """Whether `policy`'s best goal grasp now would pick `goal`: tried from a snapshot, then undone.

    None when the policy offers no goal grasp (`goal_grasp`) or none is possible.
    """
    goal_grasp = getattr(policy, 'goal_grasp', None)
    decision = goal_grasp(heightmap, goal_mask) if goal_grasp is not None else None
    if decision is None:
        return None
    snapshot = env.snapshot()
    _, info = env.step(decision.primitive)
    env.restore(snapshot)
    return goal in info.picked_objects


def goal_out_of_view(env: PushGraspEnv, goal: int, goal_mask: np.ndarray) -> bool:
    """Whether the goal has left the workspace for good.

    Its centre is outside, and fewer than IN_VIEW_CELLS cells of it are in view: a goal pushed only partly out
    can still be picked.
    """
    inside = any(s.index == goal and s.inside_workspace for s in env.object_states())
    return not inside and int(np.count_nonzero(goal_mask)) < IN_VIEW_CELLS


def run_goal_trial(env: PushGraspEnv, policy: GoalPolicy, scene: GoalCase, seed: int,
                   config: EvaluationConfig | None = None, rng: np.random.Generator | None = None,
                   case: str | None = None) -> GoalTrialResult:
    """Reset `env` to `scene` with `seed` and try to pick its goal object with `policy` (greedy, no learning).

    The arguments are `pushgrasp_policy.evaluation.run_trial`'s, so `evaluate` runs goal trials with it.

    Args:
        env: a PushGraspEnv (reset here); with `SimConfig(segmentation=True)` every frame carries the
            object segmentation, otherwise the goal mask costs one more render per step.
        policy: a GoalPolicy (`decide(heightmap, goal_mask, explore=False, rng=None)`).
        scene: the goal case: a scene and its goal (a random visible object, drawn with `rng`, when the
            case names none).
        seed: the scene's (and the camera noise's) seed.
        config: the trial rules; `save_pictures` is the directory of the step PNGs (goal outlined).
        rng: for the random goal and `policy.decide`; default a generator seeded `seed`.
        case: the case name recorded in the result (default: the scene as text).
    """
    config = config or EvaluationConfig()
    rng = rng if rng is not None else np.random.default_rng(seed)
    observation = env.reset(seed=seed, scene=scene.scene_spec(seed, config))
    initial = {s.index for s in env.object_states() if s.inside_workspace}
    result = GoalTrialResult(case=case if case is not None else str(scene.scene), seed=int(seed),
                             num_objects=len(initial))
    if not initial:
        result.reason = EMPTY_SCENE
        return result
    if scene.goal_line is not None:
        goal = env.scene.testcase.goal_index
    else:
        goal = choose_goal(env, rng, observation)
    if goal is None or goal not in initial:
        result.reason = f'{GOAL_ABSENT}: the goal object is not inside the workspace'
        return result
    result.goal_object = int(goal)
    result.goal_color = env.scene.objects[goal].color_name
    budget = config.action_budget(result.num_objects)
    failures = 0
    heightmap = heightmap_of(observation, env)
    goal_mask = env.object_mask(goal, observation)
    while True:
        heightmap.goal_mask = goal_mask
        probe = probe_goal_grasp(env, policy, heightmap, goal_mask, goal) if config.probe_goal_grasps else None
        try:
            decision = policy.decide(heightmap, goal_mask, explore=False, rng=rng)
        except ValueError as error:
            result.reason = f'{NO_ACTION}: {error}'
            break
        picture = ''
        if config.save_pictures is not None:
            picture = save_step_picture(config.save_pictures, result.actions, _draw_goal(heightmap.color, goal_mask),
                                        decision, heightmap.workspace.resolution)

        observation, info = env.step(decision.primitive)
        kind = decision.primitive.type.name.lower()
        count_action(result, kind, info.grasp_success, picked=sum(1 for i in info.picked_objects if i in initial),
                     pushed_out=sum(1 for i in info.objects_left_workspace if i in initial))
        goal_picked = goal in info.picked_objects
        result.goal_grasps += int(goal_picked)
        result.other_picked += sum(1 for i in info.picked_objects if i != goal and i in initial)
        failed = action_failed(info)
        failures = failures + 1 if failed else 0
        result.steps.append(step_record(result.actions - 1, decision.primitive, info, failed, picture))
        result.steps[-1].goal_value = decision.goal_value
        result.steps[-1].goal_grasp_probe = probe

        heightmap = heightmap_of(observation, env)
        goal_mask = env.object_mask(goal, observation)
        if info.unstable:
            result.reason = f'{SIM_UNSTABLE}: {"; ".join(info.unstable)}'
        elif goal_picked:
            result.reason = GOAL_PICKED
        elif goal_out_of_view(env, goal, goal_mask):
            result.reason = f'{GOAL_LOST}: the goal object left the workspace and the camera\'s view of it'
        else:
            result.reason = end_reason(result, remaining_in_view(info, heightmap), failures,
                                       config.max_consecutive_failures, budget, objects_known=False)
        if result.reason:
            break
    result.completed = result.goal_grasps > 0
    return result


def evaluate_goals(policy: GoalPolicy | GoalPolicyFactory, cases: Sequence[tuple[str, GoalCase]], trials: int,
                   seed: int, config: EvaluationConfig | None = None, env: PushGraspEnv | None = None,
                   progress: Callable[[TrialResult], None] | None = None) -> list[GoalTrialResult]:
    """Run `trials` goal trials of every case; deterministic for `seed` on one machine.

    Seeds, policy factories, pictures and progress work as in `pushgrasp_policy.evaluation.evaluate`
    (trial k of case c is seeded `trial_seed(seed, c, k)`). The default environment renders the object
    segmentation with every frame.
    """
    own_env = env is None
    if own_env:
        from pushgrasp_sim.env import PushGraspEnv, SimConfig
        env = PushGraspEnv(SimConfig(segmentation=True))
    try:
        return evaluate(policy, cases, trials, seed, config, env, progress,  # type: ignore[arg-type]
                        runner=run_goal_trial)
    finally:
        if own_env:
            env.close()


# --- metrics ---------------------------------------------------------------------------------------------
def _goal_metrics(trials: Sequence[GoalTrialResult]) -> dict[str, Any]:
    scored = [t for t in trials if not t.reason.startswith(GOAL_EXCLUDED)]
    completed = [t for t in scored if t.completed]
    reasons = end_reason_counts(trials)
    return {
        'completion': 100.0 * len(completed) / len(scored) if scored else None,
        'goal_grasp_success': (100.0 * float(np.mean([t.goal_grasps / t.grasp_attempts for t in completed]))
                               if completed else None),
        'motion_number': float(np.mean([t.actions for t in completed])) if completed else None,
        'probe_motion_number': _probe_motion_number(scored),
        'num_trials': len(trials),
        'num_scored': len(scored),
        'num_completed': len(completed),
        'num_excluded': len(trials) - len(scored),
        'actions': sum(t.actions for t in scored),
        'grasp_attempts': sum(t.grasp_attempts for t in scored),
        'pushes': sum(t.pushes for t in scored),
        'other_picked': sum(t.other_picked for t in scored),
        'end_reasons': dict(sorted(reasons.items())),
    }


def _probe_motion_number(trials: Sequence[GoalTrialResult]) -> float | None:
    """Mean actions to the first step whose goal-grasp probe picked the goal, over trials with one (None: none)."""
    firsts = [next(k + 1 for k, step in enumerate(t.steps) if step.goal_grasp_probe)
              for t in trials if any(step.goal_grasp_probe for step in t.steps)]
    return float(np.mean(firsts)) if firsts else None


def summarize_goals(trials: Sequence[GoalTrialResult]) -> dict[str, Any]:
    """The goal-oriented benchmark metrics of `trials`, overall and per case, as a JSON-friendly dict.

    Keys:
        completion: % of scored trials in which the goal object was picked (before 10 consecutive failed
            actions and within the action budget).
        goal_grasp_success: mean over COMPLETED trials of (goal grasped / grasp attempts), in %.
        motion_number: mean number of actions over COMPLETED trials.
        probe_motion_number: with `EvaluationConfig.probe_goal_grasps`, the mean number of actions up to the first
            step at which the policy's best goal grasp would have picked the goal (a switch that knew when to
            grasp), over the trials where one would have; None without probes.
        num_trials, num_scored, num_completed, num_excluded, actions, grasp_attempts, pushes, other_picked
            (counts over scored trials), end_reasons (trials per end reason).
        cases: {case name: the same over that case's trials}, in first-seen order.
        trials: every trial as `GoalTrialResult.to_dict()`.

    Undefined values are None (JSON null), never 0: the two means when no trial completed, completion
    when no trial is scored. Trials with no goal in the workspace after the reset, no object at all, or
    broken physics are listed and counted in num_excluded, but left out of every metric and count.
    """
    return summarize_by_case(trials, _goal_metrics)


def format_goal_summary(summary: dict[str, Any]) -> str:
    """A plain-text table of a `summarize_goals` dict: one row per case and an overall row."""
    columns = [('completion %', 'completion', 1), ('goal grasp success %', 'goal_grasp_success', 1),
               ('motion number', 'motion_number', 2)]
    if summary.get('probe_motion_number') is not None:
        columns.append(('motions to first probe pick', 'probe_motion_number', 2))
    return format_table(summary, tuple(columns), 'goal grasp success and motion number')

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Benchmark evaluation: clear simulated tables with a fixed policy and score it the reference way.

One trial: reset the environment to a scene (N random objects, or a test-case file), then repeatedly turn
the camera frame into a heightmap, let the policy choose a primitive greedily (`explore=False`; nothing is
ever trained here) and execute it. N is the number of objects inside the workspace after the reset.

- An action FAILED when nothing moved and nothing was picked (`not info.scene_changed and not
  info.grasp_success`); refused and stopped primitives therefore fail too.
- The trial ends when no object is left inside the workspace (or all N were picked), after
  `max_consecutive_failures` failed actions in a row, after the action budget (`max_actions`, default
  `actions_per_object * N`), or when the policy cannot choose any primitive.
- The trial is COMPLETED iff all N objects were picked; objects pushed out of the workspace make it
  incomplete even though the workspace ends up empty.

Metrics (goal-agnostic clearing, as in the reference benchmark; see `summarize`), all in percent:

- completion: completed trials / trials;
- grasp success: mean over completed trials of (successful grasps / grasp attempts);
- action efficiency: mean over completed trials of (N / actions taken).

Random scenes: N objects dropped with their centres at least `drop_margin` inside each workspace edge, by
default 0.1 m as the reference code drops them (`REFERENCE_DROP_MARGIN`; training scenes spread wider).

Seeds: trial k (0-based) of case c (0-based, in the order given) uses `trial_seed(seed, c, k)`, i.e.
`np.random.SeedSequence([seed, c, k]).generate_state(1)[0]`: the scene (random objects, camera noise) and,
with a policy factory, the policy are seeded with it. A trial's result therefore depends only on
(seed, c, k), not on which other trials ran.

Plain Python: no ROS. The simulator (`pushgrasp_sim`) is imported only where an environment or a test
case is actually needed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from pushgrasp_perception.projection import make_heightmap
from pushgrasp_policy.change import workspace_empty
from pushgrasp_policy.decision import Decision
from pushgrasp_policy.policy import Policy
from pushgrasp_policy.visualization import chosen_primitive_overlay

if TYPE_CHECKING:
    from pushgrasp_control.primitives import Primitive
    from pushgrasp_perception.heightmap import Heightmap
    from pushgrasp_sim.env import Observation, PushGraspEnv, StepInfo

# Why a trial ended (TrialResult.reason).
CLEARED = 'cleared'
"""All N objects were picked (the trial is completed)."""
WORKSPACE_EMPTY = 'workspace empty'
"""No object is left in the workspace, but some were pushed out of it instead of picked: no object's centre is
inside it, and fewer than `IN_VIEW_CELLS` heightmap cells are higher than 2 cm."""
IN_VIEW_CELLS = 10
"""While this many heightmap cells are higher than 2 cm, something is still in view (the reference evaluation's
test-time emptiness rule): a trial goes on for an object whose centre left the workspace but whose part inside
it can still be grasped."""
TOO_MANY_FAILURES = 'consecutive failures'
ACTION_BUDGET = 'action budget'
NO_ACTION = 'no action'
"""The policy could not choose any primitive (every Q-value non-finite or masked)."""
EMPTY_SCENE = 'empty scene'
"""No object was inside the workspace after the reset; such trials are left out of the metrics."""
SIM_UNSTABLE = 'simulation unstable'
"""The physics blew up (objects flung, non-finite state): a failure of the simulator, not of the policy;
such trials are left out of the metrics and counted in `num_invalid`."""
EXCLUDED = (EMPTY_SCENE, SIM_UNSTABLE)

REFERENCE_DROP_MARGIN = 0.1
"""How far (m) inside each workspace edge the reference code releases the objects of its random scenes."""

Scene = int | str | Path
"""A number of random objects or a test-case path, as `PushGraspEnv.reset` takes it."""
PolicyFactory = Callable[[int], Policy]
"""Builds the policy for one trial from the trial's seed."""
TrialRunner = Callable[..., 'TrialResult']
"""Runs one trial: `runner(env, policy, scene, seed, config, case=name)`, like `run_trial`."""


@dataclass
class EvaluationConfig:
    """Settings of an evaluation run."""

    max_consecutive_failures: int = 10
    """A trial fails after this many failed actions in a row (the reference benchmark's rule)."""
    max_actions: int | None = None
    """Action budget per trial; None: `actions_per_object` times the trial's N."""
    actions_per_object: int = 5
    """Budget per object when `max_actions` is None."""
    save_pictures: Path | None = None
    """Directory for per-step PNGs (the chosen primitive drawn on its Q-map); None: no pictures.
    `evaluate` gives each trial its own sub-directory `<case>/trial_<k>`."""
    drop_margin: float = REFERENCE_DROP_MARGIN
    """Random scenes: objects are released with their centre at least this far (m) inside the workspace edges."""
    probe_goal_grasps: bool = False
    """Goal trials of a policy with `goal_grasp` (the goal-conditioned one): before each action, try its best goal
    grasp from a snapshot of the simulator and undo it (`StepRecord.goal_grasp_probe`). A diagnostic of the
    push/grasp switch: it doubles the simulation, and leaves the trial as it would be without it."""

    def __post_init__(self) -> None:
        if self.max_consecutive_failures < 1:
            raise ValueError(f'max_consecutive_failures must be at least 1, got {self.max_consecutive_failures}')
        if self.max_actions is not None and self.max_actions < 1:
            raise ValueError(f'max_actions must be at least 1, got {self.max_actions}')
        if self.actions_per_object < 1:
            raise ValueError(f'actions_per_object must be at least 1, got {self.actions_per_object}')
        if not (math.isfinite(self.drop_margin) and self.drop_margin >= 0):
            raise ValueError(f'drop_margin must be a finite number of metres >= 0, got {self.drop_margin}')
        if self.save_pictures is not None:
            self.save_pictures = Path(self.save_pictures)

    def scene_to_reset(self, scene: Scene, seed: int) -> Any:
        """What `PushGraspEnv.reset` takes for `scene`: N random objects become a SceneSpec with `drop_margin`."""
        if isinstance(scene, (int, np.integer)) and not isinstance(scene, bool):
            from pushgrasp_sim.scene import SceneSpec
            return SceneSpec(num_objects=int(scene), seed=seed, drop_margin=self.drop_margin)
        return scene

    def action_budget(self, num_objects: int) -> int:
        """The most actions a trial with `num_objects` objects may take."""
        if self.max_actions is not None:
            return self.max_actions
        return max(1, self.actions_per_object * num_objects)


@dataclass
class StepRecord:
    """One action of a trial and what it did."""

    step: int
    primitive: str
    """'push' or 'grasp'."""
    row: int
    col: int
    rotation_index: int
    q_value: float | None
    """The policy's value of the chosen primitive; None when not finite."""
    executed: bool
    grasp_success: bool
    scene_changed: bool
    failed: bool
    """Nothing moved and nothing was picked."""
    objects_remaining: int
    """Objects inside the workspace after the action."""
    objects_left_workspace: list[int] = field(default_factory=list)
    error: str = ''
    picture: str = ''
    """Path of the step's PNG, when pictures were saved."""
    resimulated: int = 1
    """1, or the timestep divisor of the simulator's re-run after the physics blew up (StepInfo.resimulated)."""
    goal_value: float | None = None
    """Goal trials of a goal-conditioned policy: the goal's grasp value when the action was chosen."""
    goal_grasp_probe: bool | None = None
    """With `EvaluationConfig.probe_goal_grasps`: whether the policy's best goal grasp, tried just before this
    action and undone, picked the goal (None: not probed)."""


@dataclass
class TrialResult:
    """The outcome of clearing one scene."""

    case: str
    seed: int
    num_objects: int
    """N: objects inside the workspace after the reset."""
    picked: int = 0
    """Of those N, how many were picked."""
    actions: int = 0
    grasp_attempts: int = 0
    grasp_successes: int = 0
    """Every successful grasp (also of an object that was not among the N, should that happen)."""
    pushes: int = 0
    pushed_out: int = 0
    """Objects that left the workspace without being picked."""
    completed: bool = False
    """All N objects were picked."""
    reason: str = ''
    """Why the trial ended: one of CLEARED, WORKSPACE_EMPTY, TOO_MANY_FAILURES, ACTION_BUDGET, NO_ACTION,
    EMPTY_SCENE (possibly followed by ': detail')."""
    steps: list[StepRecord] = field(default_factory=list)

    @property
    def grasp_success_rate(self) -> float | None:
        """Successful grasps / grasp attempts; None without grasp attempts."""
        return self.grasp_successes / self.grasp_attempts if self.grasp_attempts else None

    @property
    def action_efficiency(self) -> float | None:
        """N / actions taken; None when no action was taken."""
        return self.num_objects / self.actions if self.actions else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict of every field (steps included) and the two per-trial ratios."""
        result = asdict(self)
        result['grasp_success_rate'] = self.grasp_success_rate
        result['action_efficiency'] = self.action_efficiency
        return result

    def describe(self) -> str:
        """One line for logs."""
        ratio = self.grasp_success_rate
        grasps = f'{self.grasp_successes}/{self.grasp_attempts} grasps'
        if ratio is not None:
            grasps += f' ({100.0 * ratio:.0f}%)'
        return (f'{self.case} seed {self.seed}: {"completed" if self.completed else "FAILED"}, picked '
                f'{self.picked}/{self.num_objects} in {self.actions} actions, {grasps}, {self.pushes} pushes, '
                f'{self.pushed_out} pushed out; ended: {self.reason}')


# --- seeds and cases -------------------------------------------------------------------------------------
def heightmap_of(observation: Observation, env: PushGraspEnv) -> Heightmap:
    """The heightmap of a simulator frame on the environment's workspace, stamped with the simulated time."""
    return make_heightmap(observation.color, observation.depth, observation.intrinsics, observation.camera_pose,
                          env.config.workspace, stamp_ns=int(round(observation.time * 1e9)))


def remaining_in_view(info: StepInfo, heightmap: Heightmap) -> int | None:
    """The objects left in the workspace after a step, for `end_reason` (None: go on).

    None when no object's centre is in the workspace any more but parts of objects pushed out are still in view
    (IN_VIEW_CELLS cells higher than 2 cm): they can still be picked.
    """
    remaining = int(info.objects_remaining)
    if remaining == 0 and not workspace_empty(heightmap.height, min_cells=IN_VIEW_CELLS):
        return None
    return remaining


def action_failed(info: StepInfo) -> bool:
    """Whether a simulator action failed: nothing moved and nothing was picked."""
    return not info.scene_changed and not info.grasp_success


def step_record(step: int, primitive: Primitive, info: StepInfo, failed: bool, picture: str = '') -> StepRecord:
    """The StepRecord of simulator action number `step` (0-based): `primitive` and what `info` says it did."""
    q_value = float(primitive.q_value)
    return StepRecord(
        step=step, primitive=primitive.type.name.lower(), row=int(primitive.row), col=int(primitive.col),
        rotation_index=int(primitive.rotation_index), q_value=q_value if math.isfinite(q_value) else None,
        executed=bool(info.executed), grasp_success=bool(info.grasp_success), scene_changed=bool(info.scene_changed),
        failed=failed, objects_remaining=int(info.objects_remaining),
        objects_left_workspace=[int(i) for i in info.objects_left_workspace], error=info.error, picture=picture,
        resimulated=int(info.resimulated))


def count_action(result: TrialResult, kind: str, grasp_success: bool, picked: int, pushed_out: int) -> None:
    """Add one action of type `kind` ('push', 'grasp' or anything else for no primitive) to the counters.

    `picked` is the number of objects the action took out of the scene (two for a double pick).
    """
    result.actions += 1
    if kind == 'grasp':
        result.grasp_attempts += 1
        result.grasp_successes += int(grasp_success)
        result.picked += int(picked)
    elif kind == 'push':
        result.pushes += 1
    result.pushed_out += int(pushed_out)


def end_reason(result: TrialResult, remaining: int | None, failures: int, max_failures: int, budget: int,
               objects_known: bool = True) -> str:
    """Why the trial ends after its latest action ('' to go on), the benchmark's rules in their order.

    All N objects picked (only when N is known), no object left in the workspace (`remaining` 0; None when
    unknown), `max_failures` failed actions in a row, or the action budget spent.
    """
    if objects_known and result.picked >= result.num_objects:
        return CLEARED
    if remaining == 0:
        return WORKSPACE_EMPTY
    if failures >= max_failures:
        return f'{TOO_MANY_FAILURES}: {failures} failed actions in a row'
    if result.actions >= budget:
        return f'{ACTION_BUDGET}: {budget} actions'
    return ''


def trial_seed(seed: int, case_index: int, trial_index: int) -> int:
    """The seed of trial `trial_index` of case `case_index` in a run seeded `seed` (all non-negative).

    It is `np.random.SeedSequence([seed, case_index, trial_index]).generate_state(1)[0]`, a 32-bit integer:
    distinct trials get unrelated seeds, and the same (seed, case, trial) always gets the same one.
    """
    if min(seed, case_index, trial_index) < 0:
        raise ValueError(f'seed, case index and trial index must be non-negative, got '
                         f'{seed}, {case_index}, {trial_index}')
    return int(np.random.SeedSequence([seed, case_index, trial_index]).generate_state(1)[0])


def expand_cases(cases: str | Path | None = None, random: int | None = None) -> list[tuple[str, Scene]]:
    """The (name, scene) list of an evaluation from `--cases DIR|FILE` and/or `--random N`.

    A directory gives all its `*.txt` test-case files sorted by name, a file itself (named by their stems);
    a relative path that does not exist is looked up among the shipped test cases (e.g. 'challenging');
    `random` gives one case 'random<N>' of N random objects. Every test case is parsed here, so a
    malformed file is reported before anything runs.

    Raises:
        ValueError: neither source given, N < 1, a missing path, a directory without *.txt files, or a
            malformed test case (pushgrasp_sim.testcases.TestCaseError: '<file>:<line>: ...').
    """
    result: list[tuple[str, Scene]] = []
    if cases is not None:
        from pushgrasp_sim.testcases import TESTCASE_DIR, load_testcase
        path = Path(cases)
        if not path.exists() and not path.is_absolute() and (TESTCASE_DIR / path).exists():
            path = TESTCASE_DIR / path
        if path.is_dir():
            files = sorted(path.glob('*.txt'))
            if not files:
                raise ValueError(f'{path}: no test-case files (*.txt) in this directory')
        elif path.is_file():
            files = [path]
        else:
            raise ValueError(f'{path}: no such test-case file or directory')
        for file in files:
            try:
                load_testcase(file)
            except OSError as error:
                raise ValueError(f'{file}: cannot read: {error.strerror or error}') from error
            result.append((file.stem, file))
    if random is not None:
        if random < 1:
            raise ValueError(f'the number of random objects must be at least 1, got {random}')
        result.append((f'random{random}', int(random)))
    if not result:
        raise ValueError('no cases: give test cases (a file or a directory) or a number of random objects')
    return result


# --- pictures --------------------------------------------------------------------------------------------
def decision_picture(heightmap_color: np.ndarray, decision: Decision, resolution: float) -> np.ndarray:
    """RGB picture of a decision: its primitive drawn on the Q-map of its type at its rotation (2x upscaled).

    Falls back to the plain colour heightmap when that Q-map does not fit the heightmap or has no finite value.
    """
    picture = chosen_primitive_overlay(heightmap_color, decision, resolution)
    return cv2.resize(picture, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)


def _write_png(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f'could not write {path}')


def save_step_picture(directory: Path, step: int, heightmap_color: np.ndarray, decision: Decision,
                      resolution: float) -> str:
    """Write the `decision_picture` of action number `step` as `<directory>/step_<step>_<kind>.png`; its path."""
    path = Path(directory) / f'step_{step:03d}_{decision.primitive.type.name.lower()}.png'
    _write_png(path, decision_picture(heightmap_color, decision, resolution))
    return str(path)


def _safe_name(name: str) -> str:
    return re.sub(r'[^A-Za-z0-9_.-]+', '_', name) or 'case'


# --- trials ----------------------------------------------------------------------------------------------
def run_trial(env: PushGraspEnv, policy: Policy, scene: Scene, seed: int, config: EvaluationConfig | None = None,
              rng: np.random.Generator | None = None, case: str | None = None) -> TrialResult:
    """Reset `env` to `scene` with `seed` and clear it with `policy` (greedy, no learning); the trial's result.

    Args:
        env: a PushGraspEnv (reset here); its `config.workspace` defines the heightmaps.
        policy: anything with `decide(heightmap, explore=False, rng=None) -> Decision`.
        scene: a number of random objects or a test-case path.
        seed: the scene's (and the camera noise's) seed.
        config: the trial rules; `save_pictures` is the directory the step PNGs go to.
        rng: passed on to `policy.decide` (unused when not exploring); default a generator seeded `seed`.
        case: the case name recorded in the result (default: the scene as text).

    Raises:
        ValueError / OSError from `env.reset` for a malformed or missing test case.
    """
    config = config or EvaluationConfig()
    rng = rng if rng is not None else np.random.default_rng(seed)
    workspace = env.config.workspace
    observation = env.reset(seed=seed, scene=config.scene_to_reset(scene, seed))
    initial = {s.index for s in env.object_states() if s.inside_workspace}
    result = TrialResult(case=case if case is not None else str(scene), seed=int(seed), num_objects=len(initial))
    if not initial:
        result.reason = EMPTY_SCENE
        return result
    budget = config.action_budget(result.num_objects)
    failures = 0
    heightmap = heightmap_of(observation, env)
    while True:
        try:
            decision = policy.decide(heightmap, explore=False, rng=rng)
        except ValueError as error:
            result.reason = f'{NO_ACTION}: {error}'
            break
        primitive = decision.primitive
        picture = ''
        if config.save_pictures is not None:
            picture = save_step_picture(config.save_pictures, result.actions, heightmap.color, decision,
                                        workspace.resolution)

        observation, info = env.step(primitive)
        count_action(result, primitive.type.name.lower(), info.grasp_success,
                     picked=sum(1 for i in info.picked_objects if i in initial),
                     pushed_out=sum(1 for i in info.objects_left_workspace if i in initial))
        failed = action_failed(info)
        failures = failures + 1 if failed else 0
        result.steps.append(step_record(result.actions - 1, primitive, info, failed, picture))

        heightmap = heightmap_of(observation, env)
        if info.unstable:
            result.reason = f'{SIM_UNSTABLE}: {"; ".join(info.unstable)}'
        else:
            result.reason = end_reason(result, remaining_in_view(info, heightmap), failures,
                                       config.max_consecutive_failures, budget)
        if result.reason:
            break
    result.completed = result.picked == result.num_objects
    return result


def evaluate(policy: Policy | PolicyFactory, cases: Sequence[tuple[str, Scene]], trials: int, seed: int,
             config: EvaluationConfig | None = None, env: PushGraspEnv | None = None,
             progress: Callable[[TrialResult], None] | None = None, *,
             runner: TrialRunner | None = None) -> list[TrialResult]:
    """Run `trials` trials of every case; deterministic for `seed` on one machine.

    Args:
        policy: a policy used for every trial, or a factory called with each trial's seed (then every trial
            gets a freshly seeded policy and its result depends only on (seed, case index, trial index)).
        cases: (name, scene) pairs, e.g. from `expand_cases`.
        trials: trials per case (at least 1).
        seed: the run's seed; trial k of case c is seeded `trial_seed(seed, c, k)`.
        config: the trial rules; with `save_pictures`, trial k of case `name` writes into
            `<save_pictures>/<name>/trial_<k>/`.
        env: the environment to use (default: one PushGraspEnv with the default SimConfig, created here,
            reused for every trial and closed at the end).
        progress: called with each TrialResult as soon as the trial ends.
        runner: what runs one trial (default `run_trial`); the goal-oriented evaluation passes its own, with
            goal cases as scenes and goal policies.

    Returns:
        The results, case by case in the given order, trials in order within a case.
    """
    if trials < 1:
        raise ValueError(f'trials must be at least 1, got {trials}')
    if seed < 0:
        raise ValueError(f'seed must be non-negative, got {seed}')
    config = config or EvaluationConfig()
    runner = runner or run_trial
    own_env = env is None
    if own_env:
        from pushgrasp_sim.env import PushGraspEnv
        env = PushGraspEnv()
    results = []
    try:
        for case_index, (name, scene) in enumerate(cases):
            for trial_index in range(trials):
                trial = trial_seed(seed, case_index, trial_index)
                trial_policy = policy if hasattr(policy, 'decide') else policy(trial)
                trial_config = config
                if config.save_pictures is not None:
                    pictures = config.save_pictures / _safe_name(name) / f'trial_{trial_index:02d}'
                    trial_config = replace(config, save_pictures=pictures)
                result = runner(env, trial_policy, scene, trial, trial_config, case=name)
                results.append(result)
                if progress is not None:
                    progress(result)
    finally:
        if own_env:
            env.close()
    return results


# --- metrics ---------------------------------------------------------------------------------------------
def _mean_percent(values: list[float]) -> float | None:
    return 100.0 * float(np.mean(values)) if values else None


def end_reason_counts(trials: Sequence[Any]) -> dict[str, int]:
    """Return the number of trials per end reason (the text before any ':'), in first-seen order."""
    reasons: dict[str, int] = {}
    for t in trials:
        key = t.reason.split(':', 1)[0]
        reasons[key] = reasons.get(key, 0) + 1
    return reasons


def _metrics(trials: Sequence[TrialResult]) -> dict[str, Any]:
    scored = [t for t in trials if t.num_objects > 0 and not t.reason.startswith(EXCLUDED)]
    completed = [t for t in scored if t.completed]
    reasons = end_reason_counts(trials)
    return {
        'completion': 100.0 * len(completed) / len(scored) if scored else None,
        'grasp_success': _mean_percent([t.grasp_successes / t.grasp_attempts for t in completed]),
        'action_efficiency': _mean_percent([t.num_objects / t.actions for t in completed]),
        'num_trials': len(trials),
        'num_completed': len(completed),
        'num_empty_scenes': sum(t.reason.startswith(EMPTY_SCENE) for t in trials),
        'num_invalid': sum(t.reason.startswith(SIM_UNSTABLE) for t in trials),
        'objects': sum(t.num_objects for t in scored),
        'picked': sum(t.picked for t in scored),
        'pushed_out': sum(t.pushed_out for t in scored),
        'actions': sum(t.actions for t in scored),
        'grasp_attempts': sum(t.grasp_attempts for t in scored),
        'grasp_successes': sum(t.grasp_successes for t in scored),
        'pushes': sum(t.pushes for t in scored),
        'mean_actions_completed': float(np.mean([t.actions for t in completed])) if completed else None,
        'end_reasons': dict(sorted(reasons.items())),
    }


def summarize(trials: Sequence[TrialResult]) -> dict[str, Any]:
    """The benchmark metrics of `trials`, overall and per case, in percent, as a JSON-friendly dict.

    Keys:
        completion: % of trials in which all N objects were picked.
        grasp_success: mean over COMPLETED trials of (successful grasps / grasp attempts), in %.
        action_efficiency: mean over COMPLETED trials of (N / actions taken), in %.
        num_trials, num_completed, num_empty_scenes, num_invalid, objects, picked, pushed_out, actions, grasp_attempts,
        grasp_successes, pushes (counts), mean_actions_completed, end_reasons (trials per end reason).
        cases: {case name: the same metrics and counts over that case's trials}, in first-seen order.
        trials: every trial as `TrialResult.to_dict()`.

    Undefined values are None (JSON null), never 0: grasp_success, action_efficiency and
    mean_actions_completed when no trial completed (a mean over no trials), and completion when there are no
    scored trials. When some trial exists but none completed, completion is 0.0. Trials whose scene had no
    object inside the workspace after the reset (reason EMPTY_SCENE) are listed and counted in
    num_empty_scenes but left out of every metric and of the object and action counts; so are trials in which
    the physics blew up (reason SIM_UNSTABLE, counted in num_invalid).
    """
    return summarize_by_case(trials, _metrics)


def summarize_by_case(trials: Sequence[Any], metrics: Callable[[Sequence[Any]], dict[str, Any]]) -> dict[str, Any]:
    """Return `metrics(trials)` with `cases` ({case: metrics of its trials}, first-seen order) and `trials` added."""
    summary = metrics(trials)
    names = list(dict.fromkeys(t.case for t in trials))
    summary['cases'] = {name: metrics([t for t in trials if t.case == name]) for name in names}
    summary['trials'] = [t.to_dict() for t in trials]
    return summary


def format_table(summary: dict[str, Any], columns: Sequence[tuple[str, str, int]], undefined: str) -> str:
    """Return a plain-text table of a summary: one row per case and an overall row (when there are several).

    `columns` are (title, summary key, decimals) after the trial counts; `undefined` names the columns that
    have no value when no trial completed, for the note under the table.
    """
    rows = list(summary['cases'].items())
    if len(rows) != 1:
        rows.append(('overall', summary))
    width = max([len('case')] + [len(name) for name, _ in rows])
    header = f'{"case":<{width}}  trials  completed  ' + '  '.join(title for title, _, _ in columns)
    lines = [header, '-' * len(header)]
    for name, m in rows:
        values = ('n/a' if m[key] is None else f'{m[key]:.{digits}f}' for _, key, digits in columns)
        cells = (f'{value:>{len(title)}}' for value, (title, _, _) in zip(values, columns, strict=True))
        lines.append(f'{name:<{width}}  {m["num_trials"]:>6}  {m["num_completed"]:>9}  ' + '  '.join(cells))
    if summary['num_completed'] == 0:
        lines.append(f'no trial completed: {undefined} are undefined (n/a)')
    return '\n'.join(lines)


def format_summary(summary: dict[str, Any]) -> str:
    """A plain-text table of a `summarize` dict: one row per case and an overall row."""
    return format_table(summary, (('completion %', 'completion', 1), ('grasp success %', 'grasp_success', 1),
                                  ('action efficiency %', 'action_efficiency', 1)),
                        'grasp success and action efficiency')

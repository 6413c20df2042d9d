# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The benchmark evaluator: metrics exactly as the reference defines them, and real trials in the simulator."""

import json
from pathlib import Path

import numpy as np
import pytest

from pushgrasp_control.primitives import PrimitiveType, primitive_from_pixel
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE
from pushgrasp_policy.decision import Decision
from pushgrasp_policy.evaluation import (
    CLEARED, EMPTY_SCENE, SIM_UNSTABLE, TOO_MANY_FAILURES, WORKSPACE_EMPTY, EvaluationConfig, TrialResult,
    decision_picture, evaluate, expand_cases, format_summary, run_trial, summarize, trial_seed)
from pushgrasp_policy.visualization import masked_qmap_overlay
from pushgrasp_policy.heuristic import HeuristicPolicy
from pushgrasp_policy.random_policy import RandomPolicy
from pushgrasp_sim.env import PushGraspEnv
from pushgrasp_sim.testcases import TESTCASE_DIR, TestCaseError

SIDE_BY_SIDE = TESTCASE_DIR / 'side_by_side.txt'  # two cubes near the workspace centre


@pytest.fixture(scope='module')
def env():
    with PushGraspEnv() as environment:
        yield environment


def trial(case='a', n=3, picked=3, actions=6, attempts=4, successes=3, completed=None, **kw):
    completed = picked == n if completed is None else completed
    return TrialResult(case=case, seed=0, num_objects=n, picked=picked, actions=actions, grasp_attempts=attempts,
                       grasp_successes=successes, pushes=actions - attempts, completed=completed,
                       reason=kw.pop('reason', CLEARED if completed else TOO_MANY_FAILURES), **kw)


# --- metrics, by hand ------------------------------------------------------------------------------------
def test_metrics_are_means_of_per_trial_ratios_over_completed_trials_only():
    trials = [
        trial('a', n=3, picked=3, actions=6, attempts=4, successes=3),     # grasp 3/4, efficiency 3/6
        trial('b', n=2, picked=2, actions=2, attempts=2, successes=2),     # grasp 2/2, efficiency 2/2
        trial('a', n=4, picked=1, actions=12, attempts=10, successes=1),   # not completed: only in completion
    ]
    summary = summarize(trials)
    assert summary['completion'] == pytest.approx(100.0 * 2 / 3)
    assert summary['grasp_success'] == pytest.approx(100.0 * (3 / 4 + 2 / 2) / 2)  # 87.5, not pooled 5/6
    assert summary['action_efficiency'] == pytest.approx(100.0 * (3 / 6 + 2 / 2) / 2)  # 75.0, not pooled 5/8
    assert summary['num_trials'] == 3 and summary['num_completed'] == 2
    assert summary['objects'] == 9 and summary['picked'] == 6 and summary['actions'] == 20
    assert summary['grasp_attempts'] == 16 and summary['grasp_successes'] == 6
    assert summary['mean_actions_completed'] == pytest.approx(4.0)

    assert list(summary['cases']) == ['a', 'b']
    a = summary['cases']['a']
    assert a['completion'] == pytest.approx(50.0)
    assert a['grasp_success'] == pytest.approx(75.0) and a['action_efficiency'] == pytest.approx(50.0)
    assert summary['cases']['b']['completion'] == pytest.approx(100.0)
    assert [t['case'] for t in summary['trials']] == ['a', 'b', 'a']
    assert summary['trials'][0]['grasp_success_rate'] == pytest.approx(0.75)
    json.dumps(summary)  # JSON-friendly throughout


def test_a_trial_is_completed_only_when_every_object_was_picked():
    # The workspace ended empty, but one object was pushed out instead of picked.
    pushed_out = trial(n=3, picked=2, actions=4, attempts=2, successes=2, pushed_out=1, reason='workspace empty')
    assert not pushed_out.completed
    summary = summarize([pushed_out, trial(n=1, picked=1, actions=2, attempts=2, successes=1)])
    assert summary['completion'] == pytest.approx(50.0)
    assert summary['grasp_success'] == pytest.approx(50.0) and summary['action_efficiency'] == pytest.approx(50.0)


def test_without_completed_trials_the_ratios_are_none_and_completion_zero():
    summary = summarize([trial(n=3, picked=1, actions=12, attempts=12, successes=1)])
    assert summary['completion'] == 0.0
    assert summary['grasp_success'] is None and summary['action_efficiency'] is None
    assert summary['mean_actions_completed'] is None
    assert 'n/a' in format_summary(summary) and 'no trial completed' in format_summary(summary)
    empty = summarize([])
    assert empty['completion'] is None and empty['trials'] == [] and empty['cases'] == {}


def test_empty_scenes_are_listed_but_not_scored():
    empty = TrialResult(case='a', seed=0, num_objects=0, reason=EMPTY_SCENE)
    summary = summarize([empty, trial(n=2, picked=2, actions=2, attempts=2, successes=2)])
    assert summary['completion'] == pytest.approx(100.0)
    assert summary['num_empty_scenes'] == 1 and summary['num_trials'] == 2 and len(summary['trials']) == 2


def test_trials_where_the_physics_blew_up_are_counted_apart_not_scored():
    exploded = trial(n=30, picked=4, actions=13, attempts=13, successes=4, pushed_out=26,
                     reason=f'{SIM_UNSTABLE}: MuJoCo reported bad accelerations')
    summary = summarize([exploded, trial(n=2, picked=2, actions=2, attempts=2, successes=2)])
    assert summary['completion'] == pytest.approx(100.0) and summary['num_invalid'] == 1
    assert summary['objects'] == 2 and summary['num_trials'] == 2


def test_trial_seeds_are_documented_and_distinct():
    assert trial_seed(7, 1, 2) == int(np.random.SeedSequence([7, 1, 2]).generate_state(1)[0])
    seeds = {trial_seed(0, c, k) for c in range(3) for k in range(10)}
    assert len(seeds) == 30
    with pytest.raises(ValueError):
        trial_seed(-1, 0, 0)


# --- cases -----------------------------------------------------------------------------------------------
def test_expand_cases_takes_a_directory_a_file_or_random_objects(tmp_path):
    (tmp_path / 'b.txt').write_text(SIDE_BY_SIDE.read_text())
    (tmp_path / 'a.txt').write_text(SIDE_BY_SIDE.read_text())
    (tmp_path / 'notes.md').write_text('not a case')
    assert [name for name, _ in expand_cases(tmp_path)] == ['a', 'b']
    assert expand_cases(SIDE_BY_SIDE) == [('side_by_side', SIDE_BY_SIDE)]
    assert expand_cases(random=4) == [('random4', 4)]
    assert [name for name, _ in expand_cases(SIDE_BY_SIDE, random=2)] == ['side_by_side', 'random2']


def test_expand_cases_rejects_bad_input_with_the_file_and_line(tmp_path):
    bad = tmp_path / 'bad.txt'
    bad.write_text(SIDE_BY_SIDE.read_text() + '4.obj 0.1 0.2\n')
    with pytest.raises(TestCaseError, match=r'bad\.txt:4:'):
        expand_cases(bad)
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='no test-case files'):
        expand_cases(tmp_path / 'empty')
    with pytest.raises(ValueError, match='no such'):
        expand_cases(tmp_path / 'missing.txt')
    with pytest.raises(ValueError):
        expand_cases()
    with pytest.raises(ValueError):
        expand_cases(random=0)


# --- pictures --------------------------------------------------------------------------------------------
def test_qmap_pictures_mask_non_finite_values():
    color = np.full((4, 5, 3), 40, np.uint8)
    q = np.arange(20, dtype=np.float32).reshape(4, 5)
    q[0, 0], q[1, 1] = -np.inf, np.nan
    overlay = masked_qmap_overlay(color, q)
    assert overlay.dtype == np.uint8 and overlay.shape == color.shape
    assert (overlay[0, 0] == 40).all() and (overlay[1, 1] == 40).all(), 'masked cells show the plain heightmap'
    assert (overlay[3, 4] != 40).any(), 'finite cells are coloured'
    assert (masked_qmap_overlay(color, np.full((4, 5), -np.inf, np.float32)) == color).all()


def test_a_grasp_only_decision_is_drawn_and_its_empty_push_map_too():
    heightmap = Heightmap.empty(DEFAULT_WORKSPACE)
    heightmap.height[100:120, 100:120] = 0.05
    shape = (16, *heightmap.shape)
    grasp = primitive_from_pixel(PrimitiveType.GRASP, 3, 110, 110, heightmap.height, heightmap.workspace)
    decision = Decision(primitive=grasp, push_q=np.full(shape, -np.inf, np.float32),
                        grasp_q=np.random.default_rng(0).random(shape, dtype=np.float32))
    picture = decision_picture(heightmap.color, decision, heightmap.workspace.resolution)
    assert picture.shape == (2 * heightmap.shape[0], 2 * heightmap.shape[1], 3)
    assert picture[220, 220].tolist() == [255, 255, 255], 'the grasp centre is marked'
    push = primitive_from_pixel(PrimitiveType.PUSH, 0, 10, 10, heightmap.height, heightmap.workspace)
    decision.primitive = push  # its Q-map is -inf everywhere: drawn on the plain heightmap
    picture = decision_picture(heightmap.color, decision, heightmap.workspace.resolution)
    assert picture[300:, 300:].max() == 0


# --- real trials -----------------------------------------------------------------------------------------
def test_the_heuristic_clears_two_cubes_and_pictures_every_step(env, tmp_path):
    result = run_trial(env, HeuristicPolicy(), SIDE_BY_SIDE, seed=1,
                       config=EvaluationConfig(save_pictures=tmp_path), case='side_by_side')
    assert result.num_objects == 2
    assert result.completed and result.reason == CLEARED and result.picked == 2
    assert result.grasp_successes >= 2 and result.actions == result.grasp_attempts + result.pushes
    assert len(result.steps) == result.actions
    pictures = sorted(tmp_path.glob('step_*.png'))
    assert [p.name for p in pictures] == [f'step_{s.step:03d}_{s.primitive}.png' for s in result.steps]
    assert all(s.picture for s in result.steps)
    assert result.steps[-1].objects_remaining == 0


class EmptySpotGrasper:
    """A stub policy: grasp the same empty table spot (a workspace corner) `times` times, then ask `then`."""

    def __init__(self, times=10**6, then=None):
        self.times, self.then, self.calls = times, then, 0

    def decide(self, heightmap, explore=False, rng=None):
        self.calls += 1
        if self.calls > self.times:
            return self.then.decide(heightmap, explore=explore, rng=rng)
        shape = (16, *heightmap.shape)
        grasp = primitive_from_pixel(PrimitiveType.GRASP, 0, 30, 30, heightmap.height, heightmap.workspace,
                                     q_value=1.0)
        return Decision(primitive=grasp, push_q=np.zeros(shape, np.float32), grasp_q=np.ones(shape, np.float32))


def test_consecutive_failed_actions_end_the_trial(env):
    config = EvaluationConfig(max_consecutive_failures=3, max_actions=20)
    result = run_trial(env, EmptySpotGrasper(), SIDE_BY_SIDE, seed=2, config=config)
    assert not result.completed
    assert result.reason.startswith(TOO_MANY_FAILURES)
    assert result.actions == 3 and result.picked == 0 and result.grasp_attempts == 3
    assert all(s.failed for s in result.steps)


def test_a_success_resets_the_failure_count_and_efficiency_counts_every_action(env):
    # Two failed grasps, then the heuristic picks the one block at once: 3 actions, no 3 failures in a row.
    config = EvaluationConfig(max_consecutive_failures=3, max_actions=20)
    result = run_trial(env, EmptySpotGrasper(times=2, then=HeuristicPolicy()), 1, seed=0, config=config)
    assert result.completed, result.describe()
    assert [s.failed for s in result.steps] == [True, True, False]
    assert summarize([result])['action_efficiency'] == pytest.approx(100.0 / 3)


def test_the_action_budget_ends_a_trial(env):
    result = run_trial(env, EmptySpotGrasper(), 2, seed=0, config=EvaluationConfig(max_actions=2))
    assert result.actions == 2 and result.reason.startswith('action budget') and not result.completed


class ScriptedEdgePolicy:
    """A stub policy for two cubes in a line toward the +y edge: push the inner one (`stroke` metres) so it
    shoves the outer one across the edge, grasp the inner one, then grasp the outer one's strip at the edge."""

    def __init__(self, env, stroke):
        self.env, self.stroke, self.calls = env, stroke, 0

    def decide(self, heightmap, explore=False, rng=None):
        self.calls += 1
        cubes = {s.index: s.position for s in self.env.object_states()}
        if self.calls == 1:
            x, y = cubes[1][:2]
            row, col = DEFAULT_WORKSPACE.base_to_pixel(x, y - 0.06)
            primitive = primitive_from_pixel(PrimitiveType.PUSH, 4, row, col, heightmap.height, heightmap.workspace)
            primitive.push_length = self.stroke
        else:  # the inner cube where it is, then the outer one 5 mm inside the edge
            x, y = cubes[1][:2] if 1 in cubes else (cubes[0][0], DEFAULT_WORKSPACE.y_max - 0.005)
            row, col = DEFAULT_WORKSPACE.base_to_pixel(x, y)
            primitive = primitive_from_pixel(PrimitiveType.GRASP, 0, row, col, heightmap.height, heightmap.workspace)
        shape = (16, *heightmap.shape)
        return Decision(primitive=primitive, push_q=np.zeros(shape, np.float32), grasp_q=np.zeros(shape, np.float32))


EDGE_PAIR = ('4.obj 0.3 0.47 0.65 -0.500000 0.195000 0.025000 0 0 0\n'
             '4.obj 0.9 0.4 0.3 -0.500000 0.140000 0.025000 0 0 0\n')


@pytest.mark.parametrize('stroke, in_view', [(0.07, True), (0.10, False)])
def test_a_block_pushed_partly_out_of_view_can_still_be_picked_but_one_out_of_view_ends_the_trial(
        env, tmp_path, stroke, in_view):
    case = tmp_path / 'edge_pair.txt'
    case.write_text(EDGE_PAIR)
    config = EvaluationConfig(max_consecutive_failures=3, max_actions=6)
    result = run_trial(env, ScriptedEdgePolicy(env, stroke), str(case), seed=0, config=config)
    push, inner = result.steps[:2]
    assert push.objects_left_workspace == [0], 'the outer cube\'s centre left the workspace'
    assert inner.grasp_success and inner.objects_remaining == 0
    if in_view:  # its inner 1.3 cm still show: the trial goes on, and the strip is grasped
        assert result.reason == CLEARED and result.completed and result.actions == 3
        assert result.picked == 2 and result.pushed_out == 1
    else:  # pushed 3.5 cm out: nothing left in view
        assert result.reason == WORKSPACE_EMPTY and not result.completed and result.actions == 2


def test_evaluation_is_deterministic_for_a_seed(env):
    def factory(seed):
        return RandomPolicy(np.random.default_rng(seed))

    cases = [('random2', 2)]
    config = EvaluationConfig(max_actions=3)
    first = evaluate(factory, cases, trials=2, seed=5, config=config, env=env)
    second = evaluate(factory, cases, trials=2, seed=5, config=config, env=env)
    assert [t.to_dict() for t in first] == [t.to_dict() for t in second]
    assert [t.seed for t in first] == [trial_seed(5, 0, 0), trial_seed(5, 0, 1)]
    other = evaluate(factory, cases, trials=1, seed=6, config=config, env=env)
    assert other[0].seed != first[0].seed


def test_challenging_names_the_shipped_challenging_arrangements():
    cases = expand_cases('challenging')
    assert len(cases) >= 10
    assert all(name.startswith('challenging_') and Path(scene).is_file() for name, scene in cases)

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Goal-mode episodes of the task node (plain Python): when is the goal picked, lost or absent."""

import json

import numpy as np
import pytest

from pushgrasp.task import ActionOutcome, ColorGoal, Episode
from pushgrasp_control.primitives import Primitive, PrimitiveType
from pushgrasp_perception.goal_mask import GoalError
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.palette import color_by_name
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE
from pushgrasp_policy.change import CHANGE_CELLS
from pushgrasp_policy.evaluation import ACTION_BUDGET, TOO_MANY_FAILURES, EvaluationConfig
from pushgrasp_policy.goal_evaluation import GOAL_ABSENT, GOAL_LOST, GOAL_PICKED, summarize_goals

GRASP, PUSH = PrimitiveType.GRASP, PrimitiveType.PUSH
RULES = EvaluationConfig(max_actions=10, max_consecutive_failures=3)


def primitive(kind):
    return Primitive(type=kind, row=10, col=20, rotation_index=3, num_rotations=16, position=np.zeros(3), yaw=0.0,
                     q_value=0.5)


def grasp(success, goal_visible, inside=None):
    return ActionOutcome(primitive=primitive(GRASP), executed=True, grasp_success=success,
                         executor_scene_changed=success, changed_cells=0, goal_visible=goal_visible,
                         objects_inside=set(inside) if inside is not None else None)


def push(goal_visible, cells=CHANGE_CELLS + 1, inside=None):
    return ActionOutcome(primitive=primitive(PUSH), executed=True, changed_cells=cells, goal_visible=goal_visible,
                         objects_inside=set(inside) if inside is not None else None)


def goal_episode(initial=None, rules=RULES, goal='red'):
    episode = Episode(0, 5, rules, initial, goal=ColorGoal(goal))
    episode.start_on_heightmap(empty=False, goal_visible=True)
    return episode


def test_the_goal_is_picked_when_a_successful_grasp_makes_it_disappear():
    episode = goal_episode()
    episode.record(push(goal_visible=True))
    step = episode.record(grasp(success=True, goal_visible=True))  # another object: the goal is still seen
    assert not episode.done and step.goal_visible is True
    episode.record(grasp(success=False, goal_visible=True))
    episode.record(grasp(success=True, goal_visible=False))
    result = episode.result
    assert result.reason == GOAL_PICKED and result.completed and episode.goal_picked
    assert (result.goal_grasps, result.other_picked, result.grasp_attempts) == (1, 1, 3)
    metrics = episode.metrics()
    assert metrics['goal'] == 'red' and metrics['goal_picked'] is True and metrics['motion_number'] == 4
    assert metrics['completed'] is True, 'in goal mode completion is known without a simulator'
    assert metrics['goal_grasp_success_rate'] == pytest.approx(1 / 3)
    assert metrics['goal_object'] is None and metrics['goal_color'] == 'red'
    assert [s['goal_visible'] for s in metrics['steps']] == [True, True, True, False]
    json.dumps(metrics)


def test_the_goal_is_lost_when_it_disappears_without_a_successful_grasp():
    for outcome in (push(goal_visible=False), grasp(success=False, goal_visible=False)):
        episode = goal_episode()
        episode.record(outcome)
        assert episode.result.reason.startswith(GOAL_LOST) and 'the red object' in episode.result.reason
        assert not episode.result.completed
        metrics = episode.metrics()
        assert metrics['goal_picked'] is False and metrics['motion_number'] is None and metrics['completed'] is False


def test_a_goal_not_seen_at_the_start_ends_the_episode_before_any_action():
    episode = Episode(0, 5, RULES, None, goal=ColorGoal('blue'))
    episode.start_on_heightmap(empty=False, goal_visible=False)
    assert episode.done and episode.result.reason.startswith(GOAL_ABSENT) and episode.actions == 0
    # Without a first heightmap, the first one seen before deciding counts as the start.
    late = Episode(1, 5, RULES, None, goal=ColorGoal('blue'))
    late.observe_goal(False)
    assert late.result.reason.startswith(GOAL_ABSENT)


def test_a_grasp_whose_heightmap_was_missed_is_judged_on_the_next_heightmap():
    episode = goal_episode()
    episode.record(grasp(success=True, goal_visible=None))  # no heightmap after the action: not known yet
    assert not episode.done
    episode.observe_goal(False)
    assert episode.result.reason == GOAL_PICKED and episode.metrics()['motion_number'] == 1

    seen = goal_episode()
    seen.record(grasp(success=True, goal_visible=None))
    seen.observe_goal(True)  # the grasp took something else
    seen.record(push(goal_visible=False))
    assert seen.result.reason.startswith(GOAL_LOST)


def test_the_usual_failure_and_budget_rules_still_end_a_goal_episode():
    failing = goal_episode()
    for _ in range(3):
        failing.record(push(goal_visible=True, cells=0))
    assert failing.result.reason.startswith(TOO_MANY_FAILURES) and failing.metrics()['goal_picked'] is False

    budget = goal_episode(rules=EvaluationConfig(max_actions=2))
    budget.record(push(goal_visible=True))
    budget.record(push(goal_visible=True))
    assert budget.result.reason.startswith(ACTION_BUDGET)


def test_with_a_simulator_the_objects_are_counted_and_the_goal_rule_comes_first():
    episode = goal_episode(initial={0, 1})
    episode.record(grasp(success=True, goal_visible=True, inside={1}))
    episode.record(grasp(success=True, goal_visible=False, inside=set()))  # the last object, the goal
    result = episode.result
    assert result.reason == GOAL_PICKED, 'picked, not "cleared"'
    assert (result.picked, result.goal_grasps, result.other_picked) == (2, 1, 1)
    assert episode.metrics()['objects_total'] == 2

    lost = goal_episode()
    lost.record(push(goal_visible=False))
    # Episode results are goal trials: the goal benchmark's summary reads them.
    summary = summarize_goals([episode.result, lost.result])
    assert summary['completion'] == 50.0 and summary['motion_number'] == 2.0
    assert summary['goal_grasp_success'] == 50.0


def test_goal_agnostic_episodes_report_no_goal():
    episode = Episode(0, 5, RULES, None)
    episode.record(push(goal_visible=None))
    metrics = episode.metrics()
    assert (metrics['goal'], metrics['goal_picked'], metrics['motion_number']) == (None, None, None)
    assert 'goal_grasps' not in metrics and metrics['completed'] is None


def test_the_goal_colour_is_found_in_a_heightmap_as_the_policy_node_finds_it():
    heightmap = Heightmap.empty(DEFAULT_WORKSPACE)
    heightmap.height[50:80, 50:80] = 0.05
    heightmap.color[50:80, 50:80] = color_by_name('red').rgb255
    heightmap.height[150:180, 150:180] = 0.05
    heightmap.color[150:180, 150:180] = color_by_name('blue').rgb255
    assert ColorGoal('red').visible(heightmap) and ColorGoal('Blue').visible(heightmap)
    assert ColorGoal('255,87,89', tolerance=10.0).visible(heightmap)
    assert not ColorGoal('green').visible(heightmap)
    episode = Episode(0, 5, RULES, None, goal=ColorGoal('red'))
    assert episode.goal_visible_in(heightmap) is True
    assert Episode(0, 5, RULES, None).goal_visible_in(heightmap) is None
    heightmap.height[50:80, 50:80] = 0.0  # the red block was taken
    assert episode.goal_visible_in(heightmap) is False
    with pytest.raises(GoalError, match='neither a colour name'):
        ColorGoal('chartreuse')
    with pytest.raises(ValueError, match='tolerance'):
        ColorGoal('red', tolerance=-1.0)

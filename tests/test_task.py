# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The task node's episode bookkeeping (plain Python): the benchmark's rules seen from the ROS graph."""

import json
import math

import numpy as np
import pytest

from pushgrasp.task import GRASP_REWARD, PUSH_REWARD, ActionOutcome, Episode
from pushgrasp_control.primitives import Primitive, PrimitiveType
from pushgrasp_policy.change import CHANGE_CELLS
from pushgrasp_policy.evaluation import (ACTION_BUDGET, CLEARED, EMPTY_SCENE, TOO_MANY_FAILURES, WORKSPACE_EMPTY,
                                         EvaluationConfig, summarize)

GRASP, PUSH = PrimitiveType.GRASP, PrimitiveType.PUSH


def primitive(kind, row=10, col=20, q_value=0.5, stamp_ns=0):
    return Primitive(type=kind, row=row, col=col, rotation_index=3, num_rotations=16, position=np.zeros(3), yaw=0.0,
                     q_value=q_value, stamp_ns=stamp_ns)


def grasp(inside, success=True, **extra):
    return ActionOutcome(primitive=primitive(GRASP), executed=True, grasp_success=success,
                         executor_scene_changed=success, changed_cells=0, objects_inside=set(inside), **extra)


def push(inside=None, cells=CHANGE_CELLS + 1, executed=True, **extra):
    return ActionOutcome(primitive=primitive(PUSH), executed=executed, changed_cells=cells,
                         objects_inside=set(inside) if inside is not None else None, **extra)


def test_with_a_simulator_picks_pushes_out_and_the_end_follow_the_benchmark():
    episode = Episode(0, 7, EvaluationConfig(max_actions=10), {0, 1, 2}, case='three')
    chosen_on = ActionOutcome(primitive=primitive(GRASP, stamp_ns=1234), executed=True, grasp_success=True,
                              executor_scene_changed=True, changed_cells=0, objects_inside={1, 2})
    step = episode.record(chosen_on)
    assert (step.grasp_success, step.failed, step.reward, step.objects_remaining) == (True, False, GRASP_REWARD, 2)
    assert step.objects_left_workspace == [0]
    assert step.heightmap_stamp_ns == 1234, 'the stamp of the heightmap it was chosen on (the pictures carry it)'
    assert episode.metrics()['steps'][0]['heightmap_stamp_ns'] == 1234
    step = episode.record(push({1}))  # object 2 pushed out of the workspace
    assert (step.scene_changed, step.failed, step.reward, step.objects_remaining) == (True, False, PUSH_REWARD, 1)
    assert not episode.done
    episode.record(grasp(set()))
    result = episode.result
    assert (result.picked, result.pushed_out, result.grasp_attempts, result.pushes) == (2, 1, 2, 1)
    assert result.reason == WORKSPACE_EMPTY and not result.completed, 'an object left unpicked: not completed'
    with pytest.raises(RuntimeError, match='has ended'):
        episode.record(push({1}))

    cleared = Episode(1, 8, EvaluationConfig(max_actions=10), {4})
    cleared.record(grasp(set()))
    assert cleared.result.reason == CLEARED and cleared.result.completed
    metrics = cleared.metrics()
    assert (metrics['objects_total'], metrics['objects_picked'], metrics['objects_remaining']) == (1, 1, 0)
    assert metrics['objects_source'] == 'simulator' and metrics['action_efficiency'] == 1.0
    json.dumps(metrics)  # JSON-friendly
    # The benchmark's summary reads an episode like a trial.
    assert summarize([episode.result, cleared.result])['completion'] == 50.0


def test_an_action_fails_when_nothing_changed_or_it_was_not_executed():
    episode = Episode(0, 0, EvaluationConfig(max_actions=10, max_consecutive_failures=3), {0, 1})
    unchanged = episode.record(push({0, 1}, cells=CHANGE_CELLS))
    assert unchanged.failed and unchanged.reward == 0.0 and episode.failures == 1
    aborted = episode.record(push({0, 1}, executed=False, error='execute_primitive aborted: protective stop'))
    assert aborted.failed and not aborted.executed and aborted.scene_changed, 'an abort fails even if things moved'
    assert episode.failures == 2
    episode.record(grasp({0, 1}, success=False))
    assert episode.result.reason == f'{TOO_MANY_FAILURES}: 3 failed actions in a row'

    reset = Episode(1, 0, EvaluationConfig(max_actions=10, max_consecutive_failures=2), {0, 1})
    reset.record(push({0, 1}, cells=0))
    reset.record(push({0, 1}))
    assert reset.failures == 0, 'an action that changed the scene resets the count'
    nothing = reset.record(ActionOutcome(error='select_primitive: no action server (is its node running?)'))
    assert nothing.primitive == 'none' and nothing.failed and (nothing.row, nothing.col) == (-1, -1)
    assert reset.result.actions == 3 and reset.result.pushes == 2 and reset.result.grasp_attempts == 0
    assert reset.describe_step(nothing).endswith('action 3/10: FAILED: select_primitive: no action server '
                                                 '(is its node running?)')


def test_the_budget_ends_an_episode():
    episode = Episode(0, 0, EvaluationConfig(max_actions=2), {0, 1, 2})
    episode.record(push({0, 1, 2}))
    episode.record(push({0, 1, 2}))
    assert episode.result.reason == f'{ACTION_BUDGET}: 2 actions'
    assert Episode(0, 0, EvaluationConfig(), {0, 1}).budget == 10, 'without max_actions: 5 per object'


def test_without_a_simulator_the_heightmap_decides_when_the_workspace_is_clear():
    with pytest.raises(ValueError, match='max_actions'):
        Episode(0, 0, EvaluationConfig(), None)
    episode = Episode(0, 0, EvaluationConfig(max_actions=5), None)
    episode.start_on_heightmap(empty=False)
    step = episode.record(ActionOutcome(primitive=primitive(GRASP, q_value=math.nan), executed=True,
                                        grasp_success=True, changed_cells=900, workspace_empty=False))
    assert step.grasp_success and step.objects_remaining is None and step.q_value is None
    episode.record(ActionOutcome(primitive=primitive(GRASP), executed=True, grasp_success=True, changed_cells=900,
                                 workspace_empty=True))
    assert episode.result.reason == WORKSPACE_EMPTY and episode.result.picked == 2
    metrics = episode.metrics()
    assert metrics['objects_total'] is None and metrics['completed'] is None and metrics['num_objects'] is None
    assert metrics['objects_source'] == 'heightmap' and metrics['objects_remaining'] == 0

    empty = Episode(1, 0, EvaluationConfig(max_actions=5), None)
    empty.start_on_heightmap(empty=True)
    assert empty.result.reason == EMPTY_SCENE and empty.metrics()['actions'] == 0
    assert Episode(2, 0, EvaluationConfig(), set()).result.reason == EMPTY_SCENE

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""`pushgrasp eval --method goal`: goal cases from a goals file or random goals, the goal-oriented metrics."""

import json
import re

import pytest

from pushgrasp.cli import main

# Two cubes well apart (reference frame, palette colours: blue and green).
TWO_APART = ('4.obj 0.305882 0.474510 0.654902 -0.600000 -0.100000 0.025000 0 0 0\n'
             '4.obj 0.349020 0.631373 0.309804 -0.400000 0.100000 0.025000 0 0 0\n')


def test_goal_eval_picks_the_goals_of_a_goals_file_and_writes_the_goal_metrics(tmp_path, capsys):
    (tmp_path / 'two.txt').write_text(TWO_APART)
    goals = tmp_path / 'goals.txt'
    goals.write_text('two.txt 1\n')
    out = tmp_path / 'goal.json'
    assert main(['eval', '--method', 'goal', '--goals', str(goals), '--policy', 'heuristic', '--trials', '1',
                 '--seed', '2', '--max-actions', '3', '--json', str(out)]) == 0
    printed = capsys.readouterr().out
    assert 'on goals' in printed and '[1/1] two:1 seed ' in printed and 'goal 1 (green)' in printed
    figures = json.loads(out.read_text())
    for key in ('completion', 'goal_grasp_success', 'motion_number', 'trials', 'cases', 'settings'):
        assert key in figures, key
    assert figures['completion'] == 100.0 and figures['motion_number'] >= 1.0
    assert figures['trials'][0]['goal_object'] == 1 and figures['trials'][0]['reason'] == 'goal picked'
    assert figures['settings']['method'] == 'goal'
    assert figures['settings']['cases'] == [{'name': 'two:1', 'scene': str(tmp_path / 'two.txt'), 'goal_line': 1}]


@pytest.mark.parametrize('arguments, message', [
    (['--goals', 'goals.txt'], '--goals needs --method goal'),
    (['--method', 'goal', '--cases', 'challenging'], 'takes --goals FILE'),
    (['--method', 'goal', '--goals', 'goals.txt'], r'goals.txt:2: .*goal line 9 does not name an object'),
    (['--method', 'goal', '--goals', 'missing.txt'], 'missing.txt: cannot read the goals file'),
    (['--grasp-threshold', '0.5'], '--grasp-threshold needs --method goal'),
    (['--probe-goal-grasps'], '--probe-goal-grasps needs --method goal'),
    (['--method', 'goal', '--random', '3', '--grasp-threshold', '0.5'],
     "a grasp threshold is a setting of goal-conditioned policies, and 'heuristic' is not one"),
])
def test_goal_eval_rejects_bad_goal_arguments_with_exit_2(tmp_path, capsys, monkeypatch, arguments, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'two.txt').write_text(TWO_APART)
    (tmp_path / 'goals.txt').write_text('two.txt 0\ntwo.txt 9\n')
    assert main(['eval', '--policy', 'heuristic', *arguments]) == 2
    error = capsys.readouterr().err
    assert error.startswith('pushgrasp eval: ') and error.count('\n') == 1
    assert re.search(message, error), error


def test_goal_training_stages_run_resume_and_refuse_a_push_stage_without_the_grasp_stage(tmp_path, capsys):
    grasp = tmp_path / 'grasp'
    common = ['train', '--method', 'goal', '--seed', '1', '--objects', '3', '--checkpoint-every', '1', '--width', '8']
    assert main([*common, '--stage', 'grasp', '--transitions', '2', '--out', str(grasp)]) == 0
    assert (grasp / 'checkpoint.pt').is_file() and (grasp / 'policy.pt').is_file()
    assert main([*common, '--stage', 'grasp', '--transitions', '3', '--out', str(grasp), '--resume']) == 0
    assert 'resumed' in capsys.readouterr().err and len((grasp / 'transitions.csv').read_text().splitlines()) == 4
    assert main([*common, '--stage', 'push', '--transitions', '1', '--out', str(tmp_path / 'push')]) == 2
    assert "push stage starts from the previous stage's checkpoint" in capsys.readouterr().err
    assert main([*common, '--stage', 'grasp', '--from-bag', 'x', '--out', str(tmp_path / 'x')]) == 2
    assert '--method goal trains online in stages' in capsys.readouterr().err

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""`pushgrasp demo` clears a simulated table through the real nodes, writes its report, repeats for a seed.

The sim graph's task node runs the episode; the demo reads its Transitions and metrics from the topics.
"""

import json
import shutil
import subprocess
from types import SimpleNamespace

import cv2
import numpy as np

from pushgrasp.demo import report_decision_picture
from pushgrasp_perception.ros.conversions import image_to_msg


# Three blocks far apart, each easy to grasp alone.
THREE_ISOLATED = """4.obj 0.31 0.47 0.65 -0.600 -0.120 0.025 0 0 0
4.obj 0.35 0.63 0.31 -0.420 0.000 0.025 0 0 0.6
3.obj 0.61 0.46 0.37 -0.560 0.130 0.0125 0 0 1.2
"""


def run_demo(out, seed, case):
    command = [shutil.which('pushgrasp'), 'demo', '--seed', str(seed), '--case', str(case), '--max-actions', '6',
               '--out', str(out), '--json', str(out / 'figures.json')]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads((out / 'metrics.json').read_text())


def test_demo_clears_isolated_blocks_writes_its_report_and_repeats_for_a_seed(tmp_path):
    case = tmp_path / 'three_isolated.txt'
    case.write_text(THREE_ISOLATED)
    first = run_demo(tmp_path / 'a', seed=4, case=case)
    assert {'objects_picked', 'objects_total', 'actions'} <= set(first)
    assert first['objects_total'] == 3
    assert first['objects_picked'] == 3 and first['completed'], first['steps']
    assert first['actions'] <= 5 and first['reason'] == 'cleared'
    assert first['objects_source'] == 'simulator', 'the task node counts the objects with the simulator'
    report = tmp_path / 'a'
    assert len(list(report.glob('step_*_qmap.png'))) == first['actions']
    assert (report / 'episode.gif').stat().st_size > 10_000
    assert json.loads((report / 'figures.json').read_text())['actions'] == first['actions']
    for step in first['steps']:
        assert {'approach', 'contact', 'retreat'} <= set(step['execute_feedback']) or step['error']
        assert step['picture'] and (report / step['picture']).name == f'step_{step["step"]:02d}_qmap.png'
    assert first['steps'][-1]['objects_remaining'] == 0
    second = run_demo(tmp_path / 'b', seed=4, case=case)
    key = [(s['primitive'], s['row'], s['col'], s['rotation_index'], s['grasp_success']) for s in first['steps']]
    assert key == [(s['primitive'], s['row'], s['col'], s['rotation_index'], s['grasp_success'])
                   for s in second['steps']]


def test_a_step_without_a_transition_gets_the_policy_nodes_picture_of_its_choice(tmp_path, capsys):
    # The task node saw no heightmap after the last action, so no Transition came for it: its picture is the
    # policy node's, found by the stamp of the heightmap the primitive was chosen on.
    picture = np.zeros((224, 224, 3), dtype=np.uint8)
    picture[100:120, 50:60] = (255, 0, 0)
    client = SimpleNamespace(pictures={1234: image_to_msg(picture, 'rgb8')})
    pictures = {0: str(tmp_path / 'step_00_qmap.png')}
    report_decision_picture(client, {'step': 1, 'heightmap_stamp_ns': 1234, 'description': 'grasp at ...'},
                            tmp_path, pictures)
    written = cv2.cvtColor(cv2.imread(pictures[1]), cv2.COLOR_BGR2RGB)
    assert pictures[1] == str(tmp_path / 'step_01_qmap.png') and written.shape == (448, 448, 3)
    assert (written[200:240, 100:120] == (255, 0, 0)).all() and written[:200].max() == 0
    report_decision_picture(client, {'step': 2, 'heightmap_stamp_ns': 99, 'description': 'push at ...'},
                            tmp_path, pictures)   # its picture never came: the step stays without one
    assert 2 not in pictures and 'no picture of the choice' in capsys.readouterr().out

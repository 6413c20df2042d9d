# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""`pushgrasp demo` runs the graph's nodes, writes its report, and is deterministic for a seed."""

import json
import shutil
import subprocess


def run_demo(out, seed):
    command = [shutil.which('pushgrasp'), 'demo', '--seed', str(seed), '--steps', '2', '--out', str(out),
               '--json', str(out / 'figures.json')]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads((out / 'metrics.json').read_text())


def test_demo_writes_its_report_and_repeats_for_a_seed(tmp_path):
    first = run_demo(tmp_path / 'a', seed=4)
    assert {'objects_picked', 'objects_total', 'actions'} <= set(first)
    assert first['actions'] == 2 and first['objects_total'] == 5
    pictures = sorted(p.name for p in (tmp_path / 'a').glob('step_*_qmap.png'))
    assert pictures == ['step_00_qmap.png', 'step_01_qmap.png']
    assert json.loads((tmp_path / 'a' / 'figures.json').read_text())['actions'] == 2
    for step in first['steps']:
        assert {'approach', 'contact', 'retreat'} <= {p.lower() for p in step['execute_feedback']}
    second = run_demo(tmp_path / 'b', seed=4)
    key = [(s['type'], s['row'], s['col'], s['rotation_index']) for s in first['steps']]
    assert key == [(s['type'], s['row'], s['col'], s['rotation_index']) for s in second['steps']]

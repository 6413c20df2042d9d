# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""`pushgrasp scene` and `pushgrasp bench sim`, and a short soak of consecutive scenes and primitives."""

import json
from pathlib import Path

import numpy as np

from pushgrasp.cli import main
from pushgrasp_perception.ros.perception_node import load_camera_pose
from pushgrasp_sim.env import PushGraspEnv
from pushgrasp_sim.testcases import TESTCASE_DIR
from pushgrasp_sim.tools import run_soak


def test_scene_random_writes_picture_and_object_list(tmp_path):
    png, report = tmp_path / 'scene.png', tmp_path / 'scene.json'
    assert main(['scene', '--random', '6', '--seed', '3', '--png', str(png), '--json', str(report)]) == 0
    objects = json.loads(report.read_text())['objects']
    assert len(objects) == 6
    for obj in objects:
        assert set(obj) >= {'shape', 'color', 'position', 'inside_workspace'}
        assert obj['inside_workspace'] is True
    assert png.stat().st_size > 10_000


def test_scene_test_case_skips_parked_objects(tmp_path):
    report = tmp_path / 'case.json'
    case = TESTCASE_DIR / 'parked_outside.txt'
    lines = [line for line in case.read_text().splitlines() if line.strip() and not line.startswith('#')]
    assert main(['scene', '--case', str(case), '--json', str(report)]) == 0
    figures = json.loads(report.read_text())
    assert len(figures['objects']) == len(lines) - 1 and figures['skipped_lines']


def test_scene_rejects_a_malformed_case_with_the_line_number(tmp_path, capsys):
    case = tmp_path / 'bad.txt'
    case.write_text('4.obj 0.3 0.4 0.5 -0.5 0.0 0.025 0 0 0\n4.obj 0.3 0.4 0.5 -0.5 0.0\n')
    assert main(['scene', '--case', str(case)]) == 1
    assert f'{case}:2:' in capsys.readouterr().err, 'the error names the file and line 2'


def test_bench_sim_reports_its_figures(tmp_path):
    out = tmp_path / 'bench.json'
    assert main(['bench', 'sim', '--primitives', '3', '--json', str(out)]) == 0
    figures = json.loads(out.read_text())
    for key in ('primitives_per_s', 'physics_steps_per_s', 'rgbd_fps', 'peak_rss_mb'):
        assert figures[key] > 0, key


def test_short_soak_has_no_crash_no_memory_growth_and_rare_instabilities():
    soak = run_soak(seed=11, scenes=40)
    assert soak['failures'] == [], 'no scene or primitive raised'
    assert soak['memory_growth_percent'] < 5.0
    # Known limitation: about 1 primitive in 150 still ends with a block launched after a protective stop;
    # it is detected and reported (the scene is then reset), and must stay rare.
    assert len(soak['unstable']) <= 2, soak['unstable']
    for problem in soak['unstable']:
        assert 'unstable' in problem['error']


def test_the_sim_graphs_calibration_file_is_the_simulated_camera_pose():
    shipped = load_camera_pose(str(Path(__file__).resolve().parents[1] / 'config' / 'sim_camera.yaml'))
    with PushGraspEnv() as env:
        true_pose = env.reset(0, 0).camera_pose
    np.testing.assert_allclose(shipped, true_pose, atol=1e-6)

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The `pushgrasp` command: one front door, a seed everywhere, clear errors for what is not there yet."""

import json
import shutil
import subprocess

import pytest

from pushgrasp.cli import BENCHMARKS, UNAVAILABLE, build_parser, main, write_json

SUBCOMMANDS = ('demo', 'train', 'eval', 'bench', 'scene', 'launch', 'record')


def test_the_console_script_is_installed_and_lists_every_subcommand():
    executable = shutil.which('pushgrasp')
    assert executable, 'source env.sh puts pushgrasp on PATH'
    result = subprocess.run([executable, '--help'], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for name in SUBCOMMANDS:
        assert f'    {name} ' in result.stdout, f'{name} missing from --help'


@pytest.mark.parametrize('name', SUBCOMMANDS)
def test_every_subcommand_takes_a_seed(name):
    parser = build_parser()
    extra = {'bench': ['sim'], 'scene': ['--random', '3']}.get(name, [])
    args = parser.parse_args([name, *extra, '--seed', '11'])
    assert args.seed == 11
    if name != 'launch':
        assert hasattr(args, 'json'), f'{name} reports figures and takes --json'


def test_every_subcommand_is_available():
    assert not UNAVAILABLE, 'a sub-command that says "not available" needs a test that it does'


def test_policy_benchmark_reports_decision_time_memory_and_training_speed(tmp_path, capsys):
    out = tmp_path / 'bench.json'
    assert main(['bench', 'policy', '--decisions', '2', '--transitions', '3', '--json', str(out)]) == 0
    figures = json.loads(out.read_text())
    assert 0 < figures['decision_ms'] < 60_000 and figures['peak_rss_mb'] > 0
    assert figures['train_transitions_per_s'] > 0
    assert 'decision_ms' in capsys.readouterr().out
    assert set(BENCHMARKS) == {'sim', 'perception', 'policy', 'bags'}


def test_launch_refuses_unknown_graphs_and_arguments(capsys):
    assert main(['launch', 'nope']) == 2
    assert 'known graphs' in capsys.readouterr().err
    assert main(['launch', 'mock', 'bogus:=1']) == 2
    assert 'no argument' in capsys.readouterr().err
    assert main(['launch', 'mock', 'seed=1']) == 2
    assert 'name:=value' in capsys.readouterr().err
    assert main(['launch', '--list']) == 0
    assert 'real:' in capsys.readouterr().out


def test_write_json_is_atomic_and_complete(tmp_path):
    target = tmp_path / 'sub' / 'out.json'
    write_json(str(target), {'b': 2, 'a': [1.5]})
    assert json.loads(target.read_text()) == {'a': [1.5], 'b': 2}
    assert [p.name for p in target.parent.iterdir()] == ['out.json'], 'no temporary file left behind'


def test_eval_clears_random_scenes_and_writes_the_benchmark_metrics(tmp_path, capsys):
    out = tmp_path / 'eval.json'
    pictures = tmp_path / 'pictures'
    assert main(['eval', '--policy', 'heuristic', '--random', '2', '--trials', '1', '--seed', '3',
                 '--json', str(out), '--pictures', str(pictures)]) == 0
    printed = capsys.readouterr().out
    assert '[1/1] random2 seed ' in printed and 'completion %' in printed
    figures = json.loads(out.read_text())
    for key in ('completion', 'grasp_success', 'action_efficiency', 'trials', 'cases', 'settings'):
        assert key in figures, key
    assert len(figures['trials']) == 1 and figures['trials'][0]['num_objects'] == 2
    assert figures['settings']['policy'] == 'heuristic' and figures['settings']['seed'] == 3
    assert figures['settings']['policy_checkpoint'] is None  # a policy without weights
    assert figures['settings']['keep_pushes_inside'] == 0.01  # pushes keep what they shove 1 cm inside
    assert 0.0 <= figures['completion'] <= 100.0
    assert sorted(pictures.glob('random2/trial_00/step_*.png')), 'a picture per step'


def test_eval_can_let_pushes_run_their_full_stroke(tmp_path, monkeypatch):
    from pushgrasp_policy import registry
    made = []
    make_policy = registry.make_policy
    monkeypatch.setattr(registry, 'make_policy', lambda *a, **k: made.append(make_policy(*a, **k)) or made[-1])
    out = tmp_path / 'eval.json'
    assert main(['eval', '--policy', 'heuristic', '--random', '1', '--trials', '1', '--keep-pushes-inside', '-1',
                 '--max-actions', '1', '--json', str(out)]) == 0
    assert json.loads(out.read_text())['settings']['keep_pushes_inside'] is None
    assert made and all(policy.config.keep_pushes_inside is None for policy in made)
    made.clear()
    assert main(['eval', '--policy', 'heuristic', '--random', '1', '--trials', '1', '--keep-pushes-inside', '0.02',
                 '--max-actions', '1']) == 0
    assert made and all(policy.config.keep_pushes_inside == 0.02 for policy in made)


def test_eval_drops_random_scenes_as_the_reference_or_as_told(tmp_path, monkeypatch, capsys):
    from pushgrasp_sim.env import PushGraspEnv
    specs = []
    reset = PushGraspEnv.reset
    monkeypatch.setattr(PushGraspEnv, 'reset',
                        lambda self, seed, scene=None: specs.append(scene) or reset(self, seed, scene))
    out = tmp_path / 'eval.json'
    assert main(['eval', '--policy', 'heuristic', '--random', '2', '--trials', '1', '--max-actions', '1',
                 '--json', str(out)]) == 0
    assert [(s.num_objects, s.drop_margin) for s in specs] == [(2, 0.1)]  # 0.1 m inside each edge, as the reference
    assert json.loads(out.read_text())['settings']['drop_margin'] == 0.1
    assert main(['eval', '--policy', 'heuristic', '--method', 'goal', '--random', '2', '--trials', '1',
                 '--max-actions', '1', '--drop-margin', '0.15', '--json', str(out)]) == 0
    assert (specs[-1].num_objects, specs[-1].drop_margin) == (2, 0.15)
    assert json.loads(out.read_text())['settings']['drop_margin'] == 0.15
    capsys.readouterr()
    assert main(['eval', '--policy', 'heuristic', '--cases', 'challenging', '--drop-margin', '0.1']) == 2
    assert '--drop-margin' in capsys.readouterr().err
    assert main(['eval', '--policy', 'heuristic', '--random', '2', '--drop-margin', '-0.1']) == 2
    assert 'drop_margin must be' in capsys.readouterr().err
    assert main(['eval', '--policy', 'heuristic', '--random', '2', '--drop-margin', '0.3']) == 2
    assert 'half the workspace side' in capsys.readouterr().err


def test_eval_rejects_a_malformed_case_file_and_a_bad_policy_with_exit_2(tmp_path, capsys):
    bad = tmp_path / 'bad.txt'
    bad.write_text('4.obj 0.3 0.4 0.6 -0.5 0.0 0.025 0 0 0\n4.obj 0.3 0.4\n')
    assert main(['eval', '--policy', 'heuristic', '--cases', str(bad), '--json', str(tmp_path / 'x.json')]) == 2
    error = capsys.readouterr().err
    assert error.startswith('pushgrasp eval: ') and f'{bad}:2:' in error and error.count('\n') == 1
    assert not (tmp_path / 'x.json').exists()
    assert main(['eval', '--policy', str(tmp_path / 'missing.pt'), '--random', '1']) == 2
    error = capsys.readouterr().err
    assert error.startswith('pushgrasp eval: ') and error.count('\n') == 1


def test_push_out_reward_is_a_vpg_training_option(capsys):
    from pushgrasp.cli import train_agent_config
    parser = build_parser()
    assert train_agent_config(parser.parse_args(['train', '--push-out-reward', '-0.5'])).push_out_reward == -0.5
    assert train_agent_config(parser.parse_args(['train'])).push_out_reward is None  # the reference rule
    resumed = parser.parse_args(['train', '--init-from', 'reference-reward', '--push-out-reward', '0'])
    assert train_agent_config(resumed).push_out_reward == 0.0
    assert train_agent_config(parser.parse_args(['train', '--init-from', 'reference-reward'])).push_out_reward is None
    # The shipped weights were trained with it, and keep it when training goes on from them.
    assert train_agent_config(parser.parse_args(['train', '--init-from', 'shipped'])).push_out_reward == -0.5
    assert main(['train', '--method', 'goal', '--push-out-reward', '-0.5', '--out', 'unused']) == 2
    assert '--push-out-reward are options of the VPG method' in capsys.readouterr().err


def test_push_clearance_reward_is_a_goal_training_option(capsys, tmp_path):
    assert main(['train', '--push-clearance-reward', '0.1', '--out', str(tmp_path / 'vpg')]) == 2
    assert '--push-clearance-reward, --vpg-init, --switch-explore and --epsilon are options of --method goal' in \
        capsys.readouterr().err
    assert main(['train', '--switch-explore', '0.3', '--out', str(tmp_path / 'vpg')]) == 2
    assert 'are options of --method goal' in capsys.readouterr().err
    assert not (tmp_path / 'vpg').exists()
    assert main(['train', '--method', 'goal', '--stage', 'push', '--switch-explore', '0.3',
                 '--out', str(tmp_path / 'g')]) == 2
    assert 'switch_explore is a setting of the alternate stage' in capsys.readouterr().err
    assert main(['train', '--method', 'goal', '--epsilon', '1.5', '--out', str(tmp_path / 'g')]) == 2
    assert 'epsilon_start must be in [0, 1], got 1.5' in capsys.readouterr().err
    assert main(['train', '--epsilon', '0.2', '--out', str(tmp_path / 'vpg')]) == 2
    assert 'are options of --method goal' in capsys.readouterr().err
    assert not (tmp_path / 'g').exists() and not (tmp_path / 'vpg').exists()
    # A value the goal agent cannot use is refused before the run starts.
    assert main(['train', '--method', 'goal', '--push-clearance-reward', '2', '--out', str(tmp_path / 'g')]) == 2
    assert 'clearance_improvement must be in [0, 1)' in capsys.readouterr().err

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


@pytest.mark.parametrize('name', sorted(UNAVAILABLE))
def test_unavailable_subcommands_say_so_and_exit_2(name, capsys):
    assert main([name, '--seed', '1']) == 2
    error = capsys.readouterr().err
    assert error.startswith(f'pushgrasp {name}: not available in this version')


def test_unavailable_benchmarks_say_what_they_will_measure(capsys):
    assert main(['bench', 'policy']) == 2
    assert BENCHMARKS['policy'] in capsys.readouterr().err


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

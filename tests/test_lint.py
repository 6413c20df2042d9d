# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Linting: ruff, flake8 and pep257 (ament's checks), copyright headers, and the no-ROS-in-algorithms rule."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COPYRIGHT = ('# Copyright 2026 The pushgrasp Authors', '# SPDX-License-Identifier: Apache-2.0')
ALGORITHM_PACKAGES = ('pushgrasp_perception', 'pushgrasp_policy', 'pushgrasp_control', 'pushgrasp_sim')
ROS_MODULES = ('rclpy', 'launch', 'launch_ros', 'ament_index_python', 'pushgrasp_interfaces', 'rosidl_runtime_py',
               'builtin_interfaces')
# ament_pep257's defaults (the pep257 convention without the checks for missing docstrings), and D401:
# docstrings may say what a function returns ("The heightmap of ...").
PEP257_IGNORE = 'D100,D101,D102,D103,D104,D105,D106,D107,D203,D212,D404,D401'


def python_files() -> list[Path]:
    """Every Python file of the project that git tracks or will track."""
    listed = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard', '*.py'],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return [ROOT / p for p in listed if (ROOT / p).is_file()]


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-m', *command], cwd=ROOT, capture_output=True, text=True)


def test_ruff():
    result = run('ruff', 'check', '--no-cache', '.')
    assert result.returncode == 0, result.stdout + result.stderr


def test_flake8():
    result = run('flake8', *map(str, python_files()))
    assert result.returncode == 0, result.stdout + result.stderr


def test_pep257():
    result = run('pydocstyle', '--convention=pep257', f'--add-ignore={PEP257_IGNORE}',
                 *[str(p) for p in python_files() if '/test' not in str(p.relative_to(ROOT))])
    assert result.returncode == 0, result.stdout + result.stderr


def test_copyright_headers():
    missing = [str(p.relative_to(ROOT)) for p in python_files()
               if tuple(p.read_text().splitlines()[:2]) != COPYRIGHT]
    assert not missing, f'files without the copyright header {COPYRIGHT}: {missing}'


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split('.')[0])
    return names


@pytest.mark.parametrize('package', ALGORITHM_PACKAGES)
def test_algorithm_modules_import_no_ros(package):
    """Architecture rule 1: the algorithms are plain Python; only `<package>/ros/` talks to ROS."""
    source = ROOT / 'src' / package / package
    offenders = []
    for path in source.rglob('*.py'):
        if 'ros' in path.relative_to(source).parts[:-1]:
            continue
        ros = {m for m in imported_modules(path) if m in ROS_MODULES or m.endswith('_msgs')}
        if ros:
            offenders.append(f'{path.relative_to(ROOT)} imports {sorted(ros)}')
    assert not offenders, offenders

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The test environment keeps ROS 2 traffic on this machine, and CI runs the README's test command."""

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ros_discovery_is_limited_to_this_machine():
    assert os.environ.get('ROS_AUTOMATIC_DISCOVERY_RANGE') == 'LOCALHOST'
    assert os.environ.get('ROS_LOCALHOST_ONLY') == '1'


def test_each_run_has_its_own_domain_id():
    domain = os.environ.get('ROS_DOMAIN_ID')
    assert domain is not None and domain.isdigit()
    # Fast DDS derives UDP ports from the domain id; 0..101 is the range that is valid on Linux.
    assert 1 <= int(domain) <= 101


def test_env_sh_sets_the_localhost_variables():
    text = (ROOT / 'env.sh').read_text()
    assert re.search(r'^export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST$', text, re.M)
    assert re.search(r'^export ROS_LOCALHOST_ONLY=1$', text, re.M)


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / 'README.md').read_text()
    ci = (ROOT / '.ci' / 'run').read_text()
    assert '`make test`' in readme and '`make demo`' in readme
    commands = [line.strip() for line in ci.splitlines() if line.strip() and not line.startswith(('#', 'set ', 'cd '))
                and not line.startswith('export ')]
    assert commands == ['make test']

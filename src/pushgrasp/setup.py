# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Build and install the pushgrasp bringup package (ament_python).

The launch files, parameter files and rviz config live at the top of the repository
(`launch/`, `config/`, `rviz/`), where users look for them; this package installs them into
`share/pushgrasp/` so that `ros2 launch pushgrasp <file>` finds them.
"""

from glob import glob
import os

from setuptools import find_packages, setup

PACKAGE = 'pushgrasp'
REPO = os.path.relpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))


def repo_files(folder: str, pattern: str) -> list[str]:
    """Files of a top-level folder of the repository, as paths relative to this setup.py."""
    return sorted(glob(os.path.join(REPO, folder, pattern)))


setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + PACKAGE]),
        ('share/' + PACKAGE, ['package.xml']),
        ('share/' + PACKAGE + '/launch', repo_files('launch', '*.launch.py')),
        ('share/' + PACKAGE + '/config', repo_files('config', '*.yaml')),
        ('share/' + PACKAGE + '/rviz', repo_files('rviz', '*.rviz')),
    ],
    install_requires=['setuptools'],
    zip_safe=False,
    maintainer='pushgrasp maintainers',
    maintainer_email='maintainers@pushgrasp.dev',
    description='Bringup for pushgrasp: launch files, parameters, rviz config, the node graph '
                'and the pushgrasp command.',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'pushgrasp = pushgrasp.cli:main',
            'task_node = pushgrasp.ros.task_node:main',
            'recorder_node = pushgrasp.ros.recorder_node:main',
        ],
    },
)

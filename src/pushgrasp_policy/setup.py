# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Build and install the pushgrasp_policy ROS 2 package (ament_python)."""

from setuptools import find_packages, setup

PACKAGE = 'pushgrasp_policy'

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    package_data={PACKAGE: ['assets/*', 'assets/**/*', 'weights/*']},
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + PACKAGE]),
        ('share/' + PACKAGE, ['package.xml']),
    ],
    install_requires=['setuptools'],
    zip_safe=False,
    maintainer='pushgrasp maintainers',
    maintainer_email='maintainers@pushgrasp.dev',
    description=open('package.xml').read().split('<description>')[1].split('</description>')[0],
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'policy_node = pushgrasp_policy.ros.policy_node:main',
        ],
    },
)

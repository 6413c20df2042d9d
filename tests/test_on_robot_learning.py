# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""On-robot learning in the whole simulated graph: the policy node learns from the task node's transitions.

`pushgrasp launch sim learning:=true` runs episodes forever on one test case; the checkpoint in learning_dir must
appear and be updated while the graph runs, hold weights that differ from the shipped ones, and stop changing
once `learning` is switched off at run time through the policy node's parameter service.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import rclpy
import torch
from pushgrasp_interfaces.msg import Transition
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.parameter_client import AsyncParameterClient
from rclpy.qos import QoSProfile, ReliabilityPolicy

from pushgrasp.graph import build_graph
from pushgrasp_policy.checkpoint import SHIPPED, CheckpointError, load_checkpoint
from pushgrasp_sim.testcases import TESTCASE_DIR

CASE = TESTCASE_DIR / 'side_by_side.txt'  # two cubes: pushes and grasps, short episodes
NO_SHIPPED_WEIGHTS = pytest.mark.skipif(not SHIPPED['shipped'].exists(), reason='no shipped weights')


def steps_of(path: Path) -> int:
    """Learning steps in the checkpoint at `path`; -1 while there is none."""
    try:
        return int(load_checkpoint(path, required=('counters',))['counters']['steps'])
    except CheckpointError:
        return -1


def differ(a: dict, b: dict) -> bool:
    return any(not torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize('graph', ['sim', 'real', 'hsr'])
def test_the_graphs_with_a_task_node_pass_the_learning_arguments_to_the_policy_node(graph):
    values = {'learning': 'true', 'learning_dir': '/data/learning', 'learning_checkpoint_every': '5'}
    if graph == 'real':
        values['robot_ip'] = '127.0.0.1'
    nodes = {spec.name: spec for spec in build_graph(graph, **values).nodes}
    assert 'task' in nodes
    assert {k: nodes['policy'].parameters[k] for k in values if k != 'robot_ip'} == {
        'learning': True, 'learning_dir': '/data/learning', 'learning_checkpoint_every': 5}
    defaults = build_graph(graph).nodes
    assert [s.parameters['learning'] for s in defaults if s.name == 'policy'] == [False]
    with pytest.raises(KeyError, match='learning'):
        build_graph('mock', learning='true')  # no task node publishes transitions there


@pytest.mark.timeout(150)
@NO_SHIPPED_WEIGHTS
def test_the_policy_node_learns_while_the_simulated_graph_runs_until_learning_is_switched_off(
        tmp_path, stop_process_group):
    learning_dir = tmp_path / 'learning'
    checkpoint, policy = learning_dir / 'checkpoint.pt', learning_dir / 'policy.pt'
    log = tmp_path / 'graph.log'  # a file, not a pipe: an unread pipe that fills up would stall the nodes
    with open(log, 'w') as out:
        launch = subprocess.Popen(
            [shutil.which('pushgrasp'), 'launch', 'sim', 'policy:=vpg', f'test_case_file:={CASE}', 'max_actions:=4',
             'episodes:=0', 'seed:=2', 'learning:=true', f'learning_dir:={learning_dir}',
             'learning_checkpoint_every:=2'],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    rclpy.init()
    node = Node('learning_observer')
    transitions: list[Transition] = []
    node.create_subscription(Transition, '/transitions', transitions.append,
                             QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
    parameters = AsyncParameterClient(node, '/policy')

    def spin_until(condition, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and launch.poll() is None:
            if condition():
                return True
            rclpy.spin_once(node, timeout_sec=0.2)
        return condition()

    try:
        # The first checkpoint (after 2 steps) appears, then is replaced while the graph runs.
        assert spin_until(lambda: steps_of(checkpoint) >= 2 and policy.exists(), 90), 'no checkpoint was written'
        first_steps, first = steps_of(checkpoint), load_checkpoint(policy)['network']
        assert first_steps % 2 == 0
        assert differ(load_checkpoint(SHIPPED['shipped'])['network'], first), 'the weights did not change'
        assert spin_until(lambda: steps_of(checkpoint) > first_steps, 40), 'the checkpoint was not updated'
        # policy.pt is written right after checkpoint.pt (never before it): it follows within moments.
        assert spin_until(lambda: differ(first, load_checkpoint(policy)['network']), 10), 'policy.pt did not follow'

        # Learning off at run time: the pending steps are written, then nothing changes.
        assert parameters.wait_for_services(timeout_sec=10.0)
        future = parameters.set_parameters([Parameter('learning', value=False)])
        assert spin_until(future.done, 20) and future.result().results[0].successful
        off_steps, off_written = steps_of(checkpoint), checkpoint.stat().st_mtime_ns
        seen = len(transitions)
        assert spin_until(lambda: len(transitions) >= seen + 2, 40), 'the task node stopped publishing transitions'
        assert steps_of(checkpoint) == off_steps and checkpoint.stat().st_mtime_ns == off_written, \
            'the checkpoint changed after learning was switched off'
    finally:
        node.destroy_node()
        rclpy.shutdown()
        stop_process_group(launch)
    output = log.read_text()
    assert f'learning off at step {off_steps}' in output, output[-4000:]
    assert 'learning: checkpoint at step 2 written to' in output

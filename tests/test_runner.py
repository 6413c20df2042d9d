# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""`pushgrasp launch`: starts the graph's nodes as processes, forwards their logs, stops them together."""

import os
import signal
import subprocess
import sys
import time

from pushgrasp.graph import Graph, NodeSpec, build_graph
from pushgrasp.runner import GraphRunner, node_command


def test_node_command_carries_name_parameter_files_and_overrides():
    spec = build_graph('real', robot_ip='10.1.2.3', backend='moveit').nodes[2]
    command = node_command(spec)
    assert command[0].endswith('/lib/pushgrasp_control/control_node')
    assert command[command.index('-r') + 1] == '__node:=control'
    assert command[command.index('--params-file') + 1].endswith('/config/control.yaml')
    assert "backend:='moveit'" in command and "robot_ip:='10.1.2.3'" in command


def test_runner_forwards_logs_by_node_and_stops_all_when_one_dies():
    graph = build_graph('mock', seed=1)
    # A node that dies: the control node with a parameter of the wrong type fails at start-up.
    broken = NodeSpec('pushgrasp_control', 'control_node', 'broken_control',
                      'pushgrasp_control.ros.control_node:ControlNode', parameters={'linear_speed': 'fast'})
    lines = []
    runner = GraphRunner(Graph('test', 'test', graph.nodes + (broken,)), echo=lines.append)
    started = time.monotonic()
    code = runner.run(duration=60)
    assert code != 0
    assert time.monotonic() - started < 30
    assert any(line.startswith('[broken_control] ') for line in lines), lines[-10:]
    assert any('broken_control exited' in line for line in lines)
    assert not runner.nodes, 'every process was stopped and reaped'


def test_pushgrasp_launch_stops_every_node_on_ctrl_c():
    process = subprocess.Popen([sys.executable, '-m', 'pushgrasp.cli', 'launch', 'mock', 'seed:=2'],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    pids, lines = [], []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        if 'started' in line and '(pid ' in line:
            pids.append(int(line.split('(pid ')[1].split(')')[0]))
        if len(pids) == 3:
            break
    assert len(pids) == 3, lines
    time.sleep(2.0)  # let the nodes get going
    os.killpg(process.pid, signal.SIGINT)
    process.communicate(timeout=30)
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        raise AssertionError(f'node process {pid} is still running after Ctrl-C')

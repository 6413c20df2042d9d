# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The task node over DDS with the real heightmap publisher, policy node (heuristic) and control node (mock robot).

The nodes of the `mock` graph and the task node run in this process, each talking to the others over DDS, in
a namespace of their own. The control node is swapped between episodes: a working one, one that refuses every
primitive (its goals abort), and none at all; the task node runs an episode on each and stays up.
"""

import json
import threading
import uuid

import pytest
import rclpy
from pushgrasp_interfaces.msg import Transition
from rclpy.executors import MultiThreadedExecutor
from rclpy.parameter import Parameter
from std_msgs.msg import String
from std_srvs.srv import Trigger

from pushgrasp.ros.task_node import EPISODE_QOS, EPISODE_TOPIC, RUN_EPISODE_SERVICE, TRANSITIONS_TOPIC, TaskNode
from pushgrasp_control.ros.control_node import ControlNode
from pushgrasp_perception.ros.conversions import stamp_to_ns
from pushgrasp_perception.ros.heightmap_publisher import HeightmapPublisherNode
from pushgrasp_perception.ros.testing import wait_for, wait_until
from pushgrasp_policy.ros.policy_node import PolicyNode

pytestmark = pytest.mark.timeout(90)
WAIT_S = 20.0


class Graph:
    """Heightmap publisher, policy and task nodes, an optional control node, and a client; one executor."""

    def __init__(self):
        self.namespace = f'/test_{uuid.uuid4().hex[:8]}'
        self.executor = MultiThreadedExecutor(num_threads=8)
        self.publisher = self.add(HeightmapPublisherNode, seed=3, num_objects=5, rate_hz=10.0)
        self.policy = self.add(PolicyNode, policy='heuristic', seed=0)
        self.task = self.add(TaskNode, autostart=False, max_actions=3, max_consecutive_failures=5,
                             startup_timeout=10.0, heightmap_timeout=3.0, server_timeout=1.0, select_timeout=10.0,
                             execute_timeout=10.0)
        self.control = None
        self.client = rclpy.create_node('task_test_client', namespace=self.namespace)
        self.transitions: list[Transition] = []
        self.metrics: list[dict] = []
        self.client.create_subscription(Transition, TRANSITIONS_TOPIC, self.transitions.append, 10)
        self.client.create_subscription(String, EPISODE_TOPIC, lambda msg: self.metrics.append(json.loads(msg.data)),
                                        EPISODE_QOS)
        self.run_service = self.client.create_client(Trigger, RUN_EPISODE_SERVICE)
        self.executor.add_node(self.client)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def add(self, node_class, **parameters):
        overrides = [Parameter(name, value=value) for name, value in parameters.items()]
        node = node_class(namespace=self.namespace, parameter_overrides=overrides)
        self.executor.add_node(node)
        return node

    def set_control(self, **parameters):
        """Replace the control node (mock robot, 20 times real time) by one with `parameters`, or by none."""
        if self.control is not None:
            self.executor.remove_node(self.control)
            self.control.destroy_node()
            self.control = None
            assert wait_until(lambda: not self.task._execute.server_is_ready(), WAIT_S), 'old server still seen'
        if parameters.pop('present', True):
            self.control = self.add(ControlNode, backend='mock', mock_time_scale=20.0, **parameters)
            assert wait_until(self.task._execute.server_is_ready, WAIT_S), 'the task node does not see the server'

    def run_episode(self, **parameters):
        """Start one episode with the task parameters `parameters`; its metrics and transitions."""
        self.task.set_parameters([Parameter(name, value=value) for name, value in parameters.items()])
        episode = self.task.episodes_started
        assert self.run_service.wait_for_service(WAIT_S)
        response = wait_for(self.run_service.call_async(Trigger.Request()))
        assert response.success, response.message
        assert wait_until(lambda: any(m['episode_id'] == episode for m in self.metrics), 45.0), \
            f'no metrics of episode {episode}'
        metrics = next(m for m in self.metrics if m['episode_id'] == episode)
        assert wait_until(lambda: len([t for t in self.transitions if t.episode_id == episode]) ==
                          sum(s['executed'] or 'aborted' in s['error'] for s in metrics['steps']), 5.0)
        return metrics, [t for t in self.transitions if t.episode_id == episode]

    def close(self):
        self.task.stop()
        self.executor.shutdown(timeout_sec=5.0)
        self.thread.join(timeout=5.0)
        for node in (self.client, self.task, self.policy, self.publisher, self.control):
            if node is not None:
                node.destroy_node()


@pytest.fixture(scope='module')
def graph():
    rclpy.init()
    graph = Graph()
    try:
        yield graph
    finally:
        graph.close()
        rclpy.shutdown()


def test_an_episode_runs_publishes_its_transitions_and_metrics(graph):
    graph.set_control()
    metrics, transitions = graph.run_episode()
    # The mock robot moves nothing, so every action fails; the budget of 3 ends the episode first.
    assert metrics['reason'] == 'action budget: 3 actions', metrics['reason']
    assert metrics['actions'] == 3 and metrics['failed_actions'] == 3
    assert metrics['objects_source'] == 'heightmap' and metrics['objects_total'] is None
    assert metrics['completed'] is None and metrics['objects_picked'] == 0
    assert metrics['grasp_attempts'] + metrics['pushes'] == 3
    for step in metrics['steps']:
        assert step['executed'] and not step['error'] and not step['grasp_success']
        # The last phase's feedback may arrive after the result, which ends the goal's feedback (rclpy).
        assert step['execute_feedback'][:2] == ['approach', 'contact'], step['execute_feedback']
        assert step['primitive'] in ('push', 'grasp') and step['decision_ms'] > 0
        assert step['failed'] and step['changed_cells'] == 0
    assert [s['explore'] for s in metrics['steps']] == [False, True, True], 'explore after a failed action'

    assert [t.step_id for t in transitions] == [0, 1, 2]
    assert [t.episode_done for t in transitions] == [False, False, True]
    for transition, step in zip(transitions, metrics['steps'], strict=True):
        state, after = stamp_to_ns(transition.state.header.stamp), stamp_to_ns(transition.next_state.header.stamp)
        assert 0 < state < after <= stamp_to_ns(transition.header.stamp)
        assert stamp_to_ns(transition.action.header.stamp) == state, 'the primitive was chosen on the state'
        assert transition.header.frame_id == transition.action.header.frame_id == 'base_link'
        assert transition.state.height.width == transition.next_state.height.width == 224
        assert (transition.action.row, transition.action.col) == (step['row'], step['col'])
        assert transition.action.type == (1 if step['primitive'] == 'grasp' else 0)
        assert transition.reward == 0.0 and not transition.grasp_success and not transition.scene_changed
    for earlier, later in zip(transitions, transitions[1:], strict=False):
        assert later.state == earlier.next_state, 'each action is chosen on the heightmap seen after the last one'


def test_a_second_start_is_refused_while_an_episode_runs(graph):
    graph.task.set_parameters([Parameter('max_actions', value=2), Parameter('heightmap_timeout', value=3.0)])
    episode = graph.task.episodes_started
    assert wait_for(graph.run_service.call_async(Trigger.Request())).success
    second = wait_for(graph.run_service.call_async(Trigger.Request()))
    assert not second.success and 'already running' in second.message
    assert wait_until(lambda: any(m['episode_id'] == episode for m in graph.metrics), 45.0)
    assert wait_until(lambda: not graph.task.running)


def test_aborted_goals_count_as_failures_and_the_node_stays_up(graph):
    graph.set_control(max_reach=0.05)  # every primitive is out of reach: each goal is aborted
    metrics, transitions = graph.run_episode(max_actions=5, max_consecutive_failures=2)
    assert metrics['reason'] == 'consecutive failures: 2 failed actions in a row', metrics['reason']
    assert metrics['actions'] == 2
    for step in metrics['steps']:
        assert step['failed'] and not step['executed']
        assert step['error'].startswith('execute_primitive aborted: primitive refused'), step['error']
    # The robot may have moved before a goal aborted, so the transitions are still published.
    assert [t.step_id for t in transitions] == [0, 1] and all(t.reward == 0.0 for t in transitions)

    graph.set_control(present=False)
    metrics, transitions = graph.run_episode()
    assert metrics['reason'].startswith('consecutive failures') and metrics['actions'] == 2
    for step in metrics['steps']:
        assert step['failed'] and not step['executed']
        assert step['error'] == 'execute_primitive: no action server (is its node running?)'
    assert transitions == [], 'nothing was executed'

    graph.set_control()
    metrics, transitions = graph.run_episode(max_actions=1)
    assert metrics['actions'] == 1 and metrics['steps'][0]['executed'] and not metrics['steps'][0]['error']
    assert len(transitions) == 1 and transitions[0].episode_done

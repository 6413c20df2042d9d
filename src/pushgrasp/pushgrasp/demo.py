# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""`pushgrasp demo`: run the graph's real ROS 2 nodes as processes and drive them through their actions.

This version runs the `mock` graph (a synthetic heightmap, the policy node, the control node with the
mock robot): for each step it asks the policy node for a primitive (SelectPrimitive), has the control
node execute it (ExecutePrimitive), and writes a report folder: `metrics.json`, a Q-map picture per
step and the graph's log.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import rclpy
from pushgrasp_interfaces.action import ExecutePrimitive, SelectPrimitive
from pushgrasp_interfaces.msg import Heightmap as HeightmapMsg
from rclpy.action import ActionClient
from rclpy.node import Node

from pushgrasp.graph import build_graph
from pushgrasp.runner import GraphRunner
from pushgrasp_control.primitives import PrimitiveType
from pushgrasp_control.ros.conversions import msg_to_primitive
from pushgrasp_perception.ros.conversions import msg_to_heightmap, msg_to_image
from pushgrasp_policy.visualization import draw_primitive, qmap_overlay

SERVER_TIMEOUT_S = 60.0
GOAL_TIMEOUT_S = 60.0


@dataclass
class DemoConfig:
    """Settings of one demo run."""

    seed: int = 0
    out: Path = Path('demo_out')
    steps: int = 5
    num_objects: int = 5
    policy: str = 'heuristic'
    mock_time_scale: float = 4.0


class DemoClient(Node):
    """Client of the policy and control nodes' actions, and listener of the heightmap."""

    def __init__(self) -> None:
        super().__init__('pushgrasp_demo')
        self.select = ActionClient(self, SelectPrimitive, 'select_primitive')
        self.execute = ActionClient(self, ExecutePrimitive, 'execute_primitive')
        self.heightmap: HeightmapMsg | None = None
        self.create_subscription(HeightmapMsg, 'heightmap', self._on_heightmap, 5)

    def _on_heightmap(self, msg: HeightmapMsg) -> None:
        self.heightmap = msg

    def call(self, client: ActionClient, goal: Any, feedback: list[str]) -> Any:
        """Send a goal, collect feedback names, wait for the result; returns the wrapped result."""
        future = client.send_goal_async(goal, feedback_callback=lambda f: feedback.append(
            getattr(f.feedback, 'stage_name', '') or getattr(f.feedback, 'phase_name', '')))
        rclpy.spin_until_future_complete(self, future, timeout_sec=GOAL_TIMEOUT_S)
        handle = future.result()
        if handle is None or not handle.accepted:
            raise RuntimeError('goal was rejected')
        result = handle.get_result_async()
        rclpy.spin_until_future_complete(self, result, timeout_sec=GOAL_TIMEOUT_S)
        if result.result() is None:
            raise RuntimeError('no result before the timeout')
        return result.result()


def run_demo(config: DemoConfig) -> dict[str, Any]:
    """Run the demo; returns (and writes to OUT/metrics.json) its figures."""
    out = config.out
    out.mkdir(parents=True, exist_ok=True)
    graph = build_graph('mock', seed=config.seed, num_objects=config.num_objects, policy=config.policy,
                        mock_time_scale=config.mock_time_scale)
    log_path = out / 'graph.log'
    steps: list[dict[str, Any]] = []
    with log_path.open('w') as log:
        runner = GraphRunner(graph, echo=lambda line: print(line, file=log, flush=True))
        rclpy.init()
        client = DemoClient()
        try:
            runner.start()
            names = ', '.join(n.spec.name for n in runner.nodes)
            print(f'pushgrasp demo: started {len(runner.nodes)} nodes ({names}); log in {log_path}')
            deadline = time.monotonic() + SERVER_TIMEOUT_S
            while client.heightmap is None and time.monotonic() < deadline:
                rclpy.spin_once(client, timeout_sec=0.1)
                if runner.poll(0.0) is not None:
                    raise RuntimeError(f'a node exited early; see {log_path}')
            if client.heightmap is None or not client.select.wait_for_server(SERVER_TIMEOUT_S) \
                    or not client.execute.wait_for_server(SERVER_TIMEOUT_S):
                raise RuntimeError(f'the graph did not come up within {SERVER_TIMEOUT_S:.0f} s; see {log_path}')
            for step in range(config.steps):
                steps.append(run_step(client, step, out))
                runner.poll(0.0)
                s = steps[-1]
                print(f'  step {step + 1}/{config.steps}: {s["primitive"]} in {s["decision_ms"]:.0f} ms; '
                      f'executed in {s["execution_s"]:.2f} s: {"success" if s["success"] else "no success"}'
                      f'{" (" + s["error"] + ")" if s["error"] else ""}')
        finally:
            client.destroy_node()
            rclpy.shutdown()
            runner.stop()
    grasps = [s for s in steps if s['type'] == 'grasp']
    metrics = {
        'graph': 'mock', 'seed': config.seed, 'policy': config.policy,
        'objects_total': config.num_objects,
        'objects_picked': sum(s['success'] for s in grasps),
        'actions': len(steps), 'completed_steps': len(steps),
        'grasps': len(grasps), 'pushes': len(steps) - len(grasps),
        'mean_decision_ms': sum(s['decision_ms'] for s in steps) / max(1, len(steps)),
        'steps': steps,
        'note': 'mock robot: no physics and no objects are held, so grasps cannot succeed',
    }
    (out / 'metrics.json').write_text(json.dumps(metrics, indent=2) + '\n')
    print(f'pushgrasp demo: {len(steps)} actions ({metrics["grasps"]} grasps, {metrics["pushes"]} pushes); '
          f'report in {out}/')
    return metrics


def run_step(client: DemoClient, step: int, out: Path) -> dict[str, Any]:
    """Select one primitive on the latest heightmap, execute it, and save its Q-map picture."""
    select_feedback: list[str] = []
    started = time.monotonic()
    selection = client.call(client.select, SelectPrimitive.Goal(use_latest_heightmap=True, explore=False),
                            select_feedback)
    decision_ms = (time.monotonic() - started) * 1000
    if selection.status != 4:  # GoalStatus.STATUS_SUCCEEDED
        raise RuntimeError(f'SelectPrimitive failed: {selection.result.message}')
    primitive = msg_to_primitive(selection.result.primitive)
    heightmap = msg_to_heightmap(client.heightmap)
    q_msg = selection.result.grasp_q if primitive.type == PrimitiveType.GRASP else selection.result.push_q
    picture = draw_primitive(qmap_overlay(heightmap.color, msg_to_image(q_msg)), primitive,
                             heightmap.workspace.resolution)
    picture = cv2.resize(picture, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(str(out / f'step_{step:02d}_qmap.png'), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))

    execute_feedback: list[str] = []
    started = time.monotonic()
    execution = client.call(client.execute, ExecutePrimitive.Goal(primitive=selection.result.primitive),
                            execute_feedback)
    return {
        'step': step, 'type': primitive.type.name.lower(), 'primitive': primitive.describe(),
        'row': primitive.row, 'col': primitive.col, 'rotation_index': primitive.rotation_index,
        'q_value': primitive.q_value, 'decision_ms': decision_ms,
        'select_feedback': sorted(set(select_feedback)),
        'execution_s': time.monotonic() - started, 'execute_feedback': sorted(set(execute_feedback)),
        'success': bool(execution.result.success), 'error': execution.result.error,
    }

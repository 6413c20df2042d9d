# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""`pushgrasp demo`: clear a simulated cluttered table through the real ROS 2 nodes, and write a report.

The `sim` graph runs as separate processes (the sim bridge, perception, policy and control nodes); this
process is a thin client of their interfaces, as a task node on a real robot would be: wait for a fresh
heightmap, ask the policy node for a primitive (SelectPrimitive), have the control node execute it
(ExecutePrimitive), repeat until the workspace is clear, the action budget is spent or 10 actions in a
row failed. The report folder gets `metrics.json`, the Q-map of every step, an animated GIF of the
camera with the chosen actions drawn on it, and the graph's log.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import imageio.v2 as imageio
import numpy as np
import rclpy
from action_msgs.msg import GoalStatus
from geometry_msgs.msg import PoseStamped
from pushgrasp_interfaces.action import ExecutePrimitive, SelectPrimitive
from pushgrasp_interfaces.msg import Heightmap as HeightmapMsg
from pushgrasp_interfaces.srv import GetObjectPoses
from rclpy.action import ActionClient
from rclpy.node import Node
from rclpy.qos import QoSDurabilityPolicy, QoSProfile, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from pushgrasp.graph import build_graph
from pushgrasp.runner import GraphRunner
from pushgrasp_control.primitives import PrimitiveType
from pushgrasp_control.ros.conversions import msg_to_primitive
from pushgrasp_perception.ros.conversions import msg_to_heightmap, msg_to_image, stamp_to_ns
from pushgrasp_policy.visualization import draw_on_camera, draw_primitive, qmap_overlay
from pushgrasp_sim.geometry import quaternion_to_matrix

STARTUP_TIMEOUT_S = 90.0
GOAL_TIMEOUT_S = 120.0


@dataclass
class DemoConfig:
    """Settings of one demo run."""

    seed: int = 0
    out: Path = Path('demo_out')
    num_objects: int = 10
    max_actions: int = 30
    max_consecutive_failures: int = 10
    policy: str = 'heuristic'
    checkpoint: str = ''
    test_case: str = ''
    """A test-case file (reference format) instead of `num_objects` random blocks."""


@dataclass
class StepRecord:
    """One executed primitive."""

    step: int
    type: str
    primitive: str
    row: int
    col: int
    rotation_index: int
    q_value: float
    decision_ms: float
    execution_s: float
    success: bool
    error: str
    objects_remaining: int
    execute_feedback: list[str] = field(default_factory=list)


class DemoClient(Node):
    """The client side of the demo: heightmaps and camera frames in, actions out."""

    def __init__(self) -> None:
        super().__init__('pushgrasp_demo')
        self.select = ActionClient(self, SelectPrimitive, 'select_primitive')
        self.execute = ActionClient(self, ExecutePrimitive, 'execute_primitive')
        self.object_poses = self.create_client(GetObjectPoses, 'sim/get_object_poses')
        self.heightmap: HeightmapMsg | None = None
        self.image: Image | None = None
        self.camera_info: CameraInfo | None = None
        self.camera_pose: np.ndarray | None = None
        self.create_subscription(HeightmapMsg, 'heightmap', self._keep('heightmap'), 5)
        self.create_subscription(Image, 'camera/color/image_raw', self._keep('image'), qos_profile_sensor_data)
        self.create_subscription(CameraInfo, 'camera/color/camera_info', self._keep('camera_info'),
                                 qos_profile_sensor_data)
        latched = QoSProfile(depth=1, durability=QoSDurabilityPolicy.TRANSIENT_LOCAL)
        self.create_subscription(PoseStamped, 'camera/pose', self._on_camera_pose, latched)

    def _keep(self, name: str):
        return lambda msg: setattr(self, name, msg)

    def _on_camera_pose(self, msg: PoseStamped) -> None:
        pose = np.eye(4)
        o, p = msg.pose.orientation, msg.pose.position
        pose[:3, :3] = quaternion_to_matrix((o.w, o.x, o.y, o.z))
        pose[:3, 3] = (p.x, p.y, p.z)
        self.camera_pose = pose

    def spin_until(self, predicate, timeout: float) -> bool:
        """Spin until predicate() holds or the timeout passes."""
        deadline = time.monotonic() + timeout
        while not predicate() and time.monotonic() < deadline:
            rclpy.spin_once(self, timeout_sec=0.05)
        return bool(predicate())

    def call_action(self, client: ActionClient, goal: Any, feedback: list[str]) -> Any:
        """Send a goal, collect feedback, and return the GetResult response."""
        future = client.send_goal_async(goal, feedback_callback=lambda f: feedback.append(
            getattr(f.feedback, 'stage_name', '') or getattr(f.feedback, 'phase_name', '')))
        if not self.spin_until(future.done, GOAL_TIMEOUT_S) or not future.result().accepted:
            raise RuntimeError('goal was not accepted')
        result = future.result().get_result_async()
        if not self.spin_until(result.done, GOAL_TIMEOUT_S):
            raise RuntimeError('no result before the timeout')
        return result.result()

    def objects_remaining(self) -> int:
        """Objects inside the workspace, from the simulator (ground truth for the report)."""
        future = self.object_poses.call_async(GetObjectPoses.Request())
        if not self.spin_until(future.done, 10.0):
            raise RuntimeError('sim/get_object_poses did not answer')
        return sum(o.inside_workspace for o in future.result().objects)

    def fresh_heightmap(self, after_ns: int, timeout: float = 30.0) -> HeightmapMsg:
        """The first heightmap stamped after `after_ns` (so it shows the scene after the last action)."""
        if not self.spin_until(lambda: self.heightmap is not None and
                               stamp_to_ns(self.heightmap.header.stamp) > after_ns, timeout):
            raise RuntimeError('no fresh heightmap from the perception node')
        return self.heightmap


def run_demo(config: DemoConfig) -> dict[str, Any]:
    """Run the demo; returns (and writes to OUT/metrics.json) its figures."""
    out = config.out
    out.mkdir(parents=True, exist_ok=True)
    graph = build_graph('sim', seed=config.seed, num_objects=config.num_objects, policy=config.policy,
                        checkpoint=config.checkpoint, test_case_file=str(Path(config.test_case).resolve())
                        if config.test_case else '')
    log_path = out / 'graph.log'
    steps: list[StepRecord] = []
    frames: list[np.ndarray] = []
    started = time.monotonic()
    with log_path.open('w') as log:
        runner = GraphRunner(graph, echo=lambda line: print(line, file=log, flush=True))
        rclpy.init()
        client = DemoClient()
        try:
            runner.start()
            names = ', '.join(n.spec.name for n in runner.nodes)
            print(f'pushgrasp demo: started {len(runner.nodes)} nodes ({names}); log in {log_path}')
            ready = client.spin_until(lambda: client.heightmap is not None and client.camera_pose is not None
                                      and client.image is not None and client.camera_info is not None
                                      and client.select.server_is_ready() and client.execute.server_is_ready()
                                      and client.object_poses.service_is_ready()
                                      or runner.poll(0.0) is not None, STARTUP_TIMEOUT_S)
            if not ready or runner.poll(0.0) is not None:
                raise RuntimeError(f'the graph did not come up within {STARTUP_TIMEOUT_S:.0f} s; see {log_path}')
            total = client.objects_remaining()
            remaining, failures, last_ns = total, 0, 0
            print(f'pushgrasp demo: {total} objects on the table; clearing with the {config.policy} policy')
            while remaining > 0 and len(steps) < config.max_actions and failures < config.max_consecutive_failures:
                # After a failed action explore (epsilon-greedy) rather than repeat the same choice.
                record, frame = run_step(client, len(steps), out, last_ns, explore=failures > 0)
                last_ns = client.get_clock().now().nanoseconds
                remaining = record.objects_remaining
                picked = record.type == 'grasp' and record.success
                failures = 0 if picked or (record.type == 'push' and not record.error) else failures + 1
                steps.append(record)
                frames.append(frame)
                runner.poll(0.0)
                print(f'  action {record.step + 1}: {record.primitive} -> '
                      f'{"picked" if picked else "done" if not record.error else record.error} '
                      f'({remaining} left, {record.decision_ms:.0f} ms to decide, {record.execution_s:.1f} s to act)')
        finally:
            client.destroy_node()
            rclpy.try_shutdown()
            runner.stop()
    if frames:
        imageio.mimsave(out / 'episode.gif', [cv2.resize(f, (320, 240), interpolation=cv2.INTER_AREA)
                                              for f in frames], duration=0.8, loop=0)
    grasps = [s for s in steps if s.type == 'grasp']
    picked = sum(s.success for s in grasps)
    metrics = {
        'graph': 'sim', 'seed': config.seed, 'policy': config.policy,
        'objects_total': total, 'objects_picked': picked, 'objects_remaining': remaining,
        'completed': remaining == 0, 'actions': len(steps),
        'grasp_success': picked / len(grasps) if grasps else 0.0,
        'action_efficiency': total / len(steps) if steps and remaining == 0 else 0.0,
        'mean_decision_ms': float(np.mean([s.decision_ms for s in steps])) if steps else 0.0,
        'wall_time_s': time.monotonic() - started,
        'steps': [asdict(s) for s in steps],
    }
    (out / 'metrics.json').write_text(json.dumps(metrics, indent=2) + '\n')
    print(f'pushgrasp demo: picked {picked} of {total} objects in {len(steps)} actions '
          f'({metrics["wall_time_s"]:.0f} s); report in {out}/')
    return metrics


def run_step(client: DemoClient, step: int, out: Path, after_ns: int,
             explore: bool = False) -> tuple[StepRecord, np.ndarray]:
    """Decide on a fresh heightmap, execute, and record the step's pictures."""
    heightmap_msg = client.fresh_heightmap(after_ns)
    image = msg_to_image(client.image)
    select_feedback: list[str] = []
    started = time.monotonic()
    selection = client.call_action(client.select, SelectPrimitive.Goal(heightmap=heightmap_msg, explore=explore),
                                   select_feedback)
    decision_ms = (time.monotonic() - started) * 1000
    if selection.status != GoalStatus.STATUS_SUCCEEDED:
        raise RuntimeError(f'SelectPrimitive failed: {selection.result.message}')
    primitive = msg_to_primitive(selection.result.primitive)
    heightmap = msg_to_heightmap(heightmap_msg)
    q_msg = selection.result.grasp_q if primitive.type == PrimitiveType.GRASP else selection.result.push_q
    picture = draw_primitive(qmap_overlay(heightmap.color, msg_to_image(q_msg)), primitive,
                             heightmap.workspace.resolution)
    picture = cv2.resize(picture, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(str(out / f'step_{step:02d}_qmap.png'), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    k = np.array(client.camera_info.k).reshape(3, 3)
    frame = draw_on_camera(image, primitive, client.camera_pose, k,
                           f'{step + 1}: {primitive.type.name.lower()} (q {primitive.q_value:.2f})')

    execute_feedback: list[str] = []
    started = time.monotonic()
    execution = client.call_action(client.execute, ExecutePrimitive.Goal(primitive=selection.result.primitive),
                                   execute_feedback)
    record = StepRecord(
        step=step, type=primitive.type.name.lower(), primitive=primitive.describe(), row=primitive.row,
        col=primitive.col, rotation_index=primitive.rotation_index, q_value=float(primitive.q_value),
        decision_ms=decision_ms, execution_s=time.monotonic() - started,
        success=bool(execution.result.success), error=execution.result.error,
        objects_remaining=client.objects_remaining(),
        execute_feedback=sorted({name.lower() for name in execute_feedback if name}))
    return record, frame

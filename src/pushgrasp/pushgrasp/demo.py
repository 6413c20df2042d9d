# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""`pushgrasp demo`: clear a simulated cluttered table with the `sim` graph's task node, and write a report.

The `sim` graph runs as separate processes (the sim bridge, perception, policy, control and task nodes). The
task node runs the episode (see `pushgrasp.ros.task_node`): fresh heightmap, SelectPrimitive,
ExecutePrimitive, Transition, until the workspace is clear, the action budget is spent or too many actions in a
row failed. This process only starts the episode (`task/run_episode`) and reads what the graph publishes:
the Transitions, the policy node's picture of every choice (`q_maps/chosen`), the camera, and the episode's
metrics (`task/episode`). The report folder gets `metrics.json` (the task node's episode metrics), the Q-map
picture of every step, an animated GIF of the camera with the chosen actions drawn on it, and the graph's log.

Goal mode (`DemoConfig.goal`, `pushgrasp demo --goal red`): the task node picks the one object of that colour
instead of clearing the table (the graph's `goal` argument) with the shipped goal-conditioned policy (or
`DemoConfig.goal_checkpoint`'s), and the report says whether it was picked and in how many motions (the metrics'
goal_picked and motion_number).
"""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import imageio.v2 as imageio
import numpy as np
import rclpy
from geometry_msgs.msg import PoseStamped
from pushgrasp_interfaces.msg import Transition
from rclpy.qos import QoSDurabilityPolicy, QoSProfile, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

from pushgrasp.graph import build_graph
from pushgrasp.ros.episode_client import EpisodeClient
from pushgrasp.ros.task_node import EPISODE_QOS, EPISODE_TOPIC, TRANSITION_QOS, TRANSITIONS_TOPIC
from pushgrasp.runner import GraphRunner
from pushgrasp.task import ColorGoal
from pushgrasp_control.ros.conversions import msg_to_primitive
from pushgrasp_perception.ros.conversions import msg_to_heightmap, msg_to_image, stamp_to_ns
from pushgrasp_policy.ros.policy_node import CHOSEN_Q_TOPIC, VISUALIZATION_QOS
from pushgrasp_policy.visualization import draw_on_camera, draw_primitive
from pushgrasp_sim.geometry import quaternion_to_matrix

STARTUP_TIMEOUT_S = 90.0
STALL_TIMEOUT_S = 300.0
"""The demo gives up when the task node publishes nothing for this long (its own timeouts are shorter)."""
LATE_TRANSITION_TIMEOUT_S = 15.0
"""How long the demo waits, after the metrics, for Transitions still on their way (they are large)."""
CAMERA_BUFFER = 15
"""Camera frames kept to find the one a decision was made on (3 s at the simulated camera's 5 Hz)."""


@dataclass
class DemoConfig:
    """Settings of one demo run."""

    seed: int = 0
    out: Path = Path('demo_out')
    num_objects: int = 10
    max_actions: int = 30
    max_consecutive_failures: int = 10
    policy: str = 'vpg'
    checkpoint: str = ''
    test_case: str = ''
    """A test-case file (reference format) instead of `num_objects` random blocks."""
    goal: str = ''
    """Goal mode: the colour of the one object to pick (a colour name such as 'red', or 'R,G,B'); empty: clear."""
    goal_checkpoint: str = 'goal'
    """Goal mode: the policy node's goal policy, a goal-conditioned checkpoint or a policy spec used greedily on the
    goal ('goal', the default: the shipped goal-conditioned weights; empty: the `policy` used greedily)."""


@dataclass
class Camera:
    """The simulated camera as the demo sees it: recent colour frames, intrinsics and pose."""

    frames: deque[Image] = field(default_factory=lambda: deque(maxlen=CAMERA_BUFFER))
    info: CameraInfo | None = None
    pose: np.ndarray | None = None

    def frame_at(self, stamp_ns: int) -> np.ndarray | None:
        """Return the colour frame stamped `stamp_ns` (a heightmap's stamp), else the newest one not after it."""
        older = [f for f in self.frames if stamp_to_ns(f.header.stamp) <= stamp_ns]
        exact = [f for f in older if stamp_to_ns(f.header.stamp) == stamp_ns]
        chosen = (exact or older or list(self.frames) or [None])[-1]
        return msg_to_image(chosen) if chosen is not None else None


class DemoClient(EpisodeClient):
    """The demo's window on the graph: starts the task node's episode and collects what the graph publishes."""

    def __init__(self) -> None:
        super().__init__('pushgrasp_demo')
        self.transitions: list[Transition] = []
        self.metrics: dict[str, Any] | None = None
        self.pictures: dict[int, Image] = {}
        """The policy node's picture of each decision, by the stamp of the heightmap it was made on."""
        self.decision_frames: dict[int, np.ndarray] = {}
        """The camera frame each decision was made on, by the same stamp."""
        self.camera = Camera()
        self.create_subscription(Transition, TRANSITIONS_TOPIC, self.transitions.append, TRANSITION_QOS)
        self.create_subscription(String, EPISODE_TOPIC, self._on_metrics, EPISODE_QOS)
        self.create_subscription(Image, CHOSEN_Q_TOPIC, self._on_picture, VISUALIZATION_QOS)
        self.create_subscription(Image, 'camera/color/image_raw', self._on_frame, qos_profile_sensor_data)
        self.create_subscription(CameraInfo, 'camera/color/camera_info', self._on_camera_info,
                                 qos_profile_sensor_data)
        latched = QoSProfile(depth=1, durability=QoSDurabilityPolicy.TRANSIENT_LOCAL)
        self.create_subscription(PoseStamped, 'camera/pose', self._on_camera_pose, latched)

    def _on_metrics(self, msg: String) -> None:
        self.metrics = json.loads(msg.data)

    def _on_frame(self, msg: Image) -> None:
        self.camera.frames.append(msg)

    def _on_picture(self, msg: Image) -> None:
        stamp = stamp_to_ns(msg.header.stamp)
        self.pictures[stamp] = msg
        frame = self.camera.frame_at(stamp)
        if frame is not None:
            self.decision_frames[stamp] = frame

    def _on_camera_info(self, msg: CameraInfo) -> None:
        self.camera.info = msg

    def _on_camera_pose(self, msg: PoseStamped) -> None:
        pose = np.eye(4)
        o, p = msg.pose.orientation, msg.pose.position
        pose[:3, :3] = quaternion_to_matrix((o.w, o.x, o.y, o.z))
        pose[:3, 3] = (p.x, p.y, p.z)
        self.camera.pose = pose

    def ready(self) -> bool:
        """Tell whether the task node can be started and everything the report needs is published."""
        return (super().ready() and self.camera.pose is not None and self.camera.info is not None
                and bool(self.camera.frames) and self.count_publishers(TRANSITIONS_TOPIC) > 0
                and self.count_publishers(CHOSEN_Q_TOPIC) > 0)


def run_demo(config: DemoConfig) -> dict[str, Any]:
    """Run the demo; returns (and writes to OUT/metrics.json) its figures.

    Raises RuntimeError with the reason when the graph fails, or for a goal colour that is not one.
    """
    goal = None
    if config.goal.strip():
        try:
            goal = ColorGoal(config.goal)
        except ValueError as error:
            raise RuntimeError(f'goal: {error}') from None
    out = config.out
    out.mkdir(parents=True, exist_ok=True)
    graph = build_graph('sim', seed=config.seed, num_objects=config.num_objects, policy=config.policy,
                        checkpoint=config.checkpoint, test_case_file=str(Path(config.test_case).resolve())
                        if config.test_case else '', autostart=False, episodes=1, max_actions=config.max_actions,
                        max_consecutive_failures=config.max_consecutive_failures,
                        goal=goal.color if goal is not None else '',
                        goal_checkpoint=config.goal_checkpoint if goal is not None else '')
    log_path = out / 'graph.log'
    frames: list[np.ndarray] = []
    pictures: dict[int, str] = {}
    started = time.monotonic()
    with log_path.open('w') as log:
        runner = GraphRunner(graph, echo=lambda line: print(line, file=log, flush=True))
        rclpy.init()
        client = DemoClient()
        try:
            runner.start()
            names = ', '.join(n.spec.name for n in runner.nodes)
            print(f'pushgrasp demo: started {len(runner.nodes)} nodes ({names}); log in {log_path}')
            client.start_episodes(runner, STARTUP_TIMEOUT_S, log_path)
            if goal is not None:
                chooser = (f'the goal policy {config.goal_checkpoint!r}' if config.goal_checkpoint
                           else f'the {config.policy} policy used greedily on the goal')
                print(f'pushgrasp demo: the task node picks {goal.describe()} with {chooser}')
            else:
                print(f'pushgrasp demo: the task node clears the table with the {config.policy} policy')
            last_progress = time.monotonic()
            while client.metrics is None:
                count = len(client.transitions)
                client.spin_until(lambda seen=count: len(client.transitions) > seen or client.metrics is not None,
                                  1.0)
                if len(client.transitions) > count:
                    last_progress = time.monotonic()
                for transition in client.transitions[count:]:
                    frames.append(report_step(client, transition, out, pictures))
                if runner.poll(0.0) is not None:
                    raise RuntimeError(f'a node of the graph exited during the episode; see {log_path}')
                if time.monotonic() - last_progress > STALL_TIMEOUT_S:
                    raise RuntimeError(f'the task node published nothing for {STALL_TIMEOUT_S:.0f} s; see {log_path}')
            # The last Transition and the metrics travel on different topics, and a Transition (two heightmaps)
            # takes longer to deliver: wait for the one of every step that observed a next state.
            count = len(client.transitions)
            observed = sum(s.get('changed_cells') is not None for s in client.metrics['steps'])
            client.spin_until(lambda: len(client.transitions) >= observed, LATE_TRANSITION_TIMEOUT_S)
            for transition in client.transitions[count:]:
                frames.append(report_step(client, transition, out, pictures))
            episode = client.metrics
            for step in episode['steps']:  # no Transition: the task node saw no heightmap after the action
                if step['step'] not in pictures:
                    report_decision_picture(client, step, out, pictures)
        finally:
            client.destroy_node()
            rclpy.try_shutdown()
            runner.stop()
    if frames:
        imageio.mimsave(out / 'episode.gif', [cv2.resize(f, (320, 240), interpolation=cv2.INTER_AREA)
                                              for f in frames], duration=0.8, loop=0)
    for step in episode['steps']:
        step['picture'] = pictures.get(step['step'], '')
    metrics = {'graph': 'sim', 'seed': config.seed, 'policy': config.policy, **episode,
               'demo_wall_time_s': round(time.monotonic() - started, 1)}
    (out / 'metrics.json').write_text(json.dumps(metrics, indent=2) + '\n')
    total = metrics['objects_total'] if metrics['objects_total'] is not None else '?'
    took = f'{metrics["reason"]}; {metrics["demo_wall_time_s"]:.0f} s'
    if goal is not None:
        motions = metrics['motion_number']
        outcome = f'picked in {motions} motion{"" if motions == 1 else "s"}' if metrics['goal_picked'] else 'NOT picked'
        print(f'pushgrasp demo: {goal.describe()} was {outcome} ({metrics["actions"]} actions, '
              f'{metrics["other_picked"]} other objects picked; {took}); report in {out}/')
    else:
        print(f'pushgrasp demo: picked {metrics["objects_picked"]} of {total} objects in {metrics["actions"]} '
              f'actions ({took}); report in {out}/')
    return metrics


def report_decision_picture(client: DemoClient, step: dict[str, Any], out: Path, pictures: dict[int, str]) -> None:
    """Write the policy node's picture of a step that has no Transition (so no heightmap of its own to draw on).

    The picture is found by the stamp of the heightmap the step's primitive was chosen on; without one (it did
    not arrive, or the step had no primitive) the step has no picture, and the progress line says so.
    """
    picture_msg = client.pictures.get(int(step.get('heightmap_stamp_ns') or 0))
    index = int(step['step'])
    seen = 'the scene after it was not seen'
    if picture_msg is None:
        print(f'  action {index + 1}: {step["description"]} ({seen}; no picture of the choice either)')
        return
    write_step_picture(msg_to_image(picture_msg), index, out, pictures)
    print(f'  action {index + 1}: {step["description"]} ({seen})')


def write_step_picture(picture: np.ndarray, step: int, out: Path, pictures: dict[int, str]) -> None:
    """Write a step's (rows, cols, 3) RGB picture at twice its size as out/step_<k>_qmap.png; note it in `pictures`."""
    picture = cv2.resize(picture, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    path = out / f'step_{step:02d}_qmap.png'
    cv2.imwrite(str(path), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    pictures[step] = str(path)


def report_step(client: DemoClient, transition: Transition, out: Path, pictures: dict[int, str]) -> np.ndarray:
    """Write the step's Q-map picture, print its progress line; return its camera frame with the action drawn."""
    primitive = msg_to_primitive(transition.action)
    stamp = stamp_to_ns(transition.state.header.stamp)
    step = transition.step_id
    picture_msg = client.pictures.get(stamp)
    if picture_msg is not None:
        picture = msg_to_image(picture_msg)
    else:  # the policy node's picture did not arrive: the primitive on the colour heightmap
        heightmap = msg_to_heightmap(transition.state)
        picture = draw_primitive(heightmap.color.copy(), primitive, heightmap.workspace.resolution)
    write_step_picture(picture, step, out, pictures)

    kind = primitive.type.name.lower()
    outcome = ('picked' if transition.grasp_success else 'missed') if kind == 'grasp' else \
        ('scene changed' if transition.scene_changed else 'nothing changed')
    print(f'  action {step + 1}: {primitive.describe()} -> {outcome}')
    image = client.decision_frames.get(stamp)
    if image is None:
        image = client.camera.frame_at(stamp)
    k = np.array(client.camera.info.k).reshape(3, 3)
    return draw_on_camera(image, primitive, client.camera.pose, k, f'{step + 1}: {kind} (q {primitive.q_value:.2f})')

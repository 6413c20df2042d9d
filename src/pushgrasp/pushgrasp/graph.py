# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The node graphs of pushgrasp, described once.

The launch files (`launch/*.launch.py`, through `pushgrasp.launching`) and the project's own runner
(`pushgrasp launch NAME`, through `pushgrasp.runner`) both build their nodes from `build_graph`, so the
two cannot drift. This module imports no ROS: it is plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

BOOL_WORDS = {'true': True, '1': True, 'yes': True, 'false': False, '0': False, 'no': False}


@dataclass(frozen=True)
class Argument:
    """A launch argument of a graph (also a command-line option of `pushgrasp launch`)."""

    name: str
    default: str | int | float | bool
    description: str

    def parse(self, text: Any) -> Any:
        """Convert a launch-argument string to the type of the default."""
        if not isinstance(text, str):
            return text
        if isinstance(self.default, bool):
            if text.lower() not in BOOL_WORDS:
                raise ValueError(f'argument {self.name}: expected true or false, got {text!r}')
            return BOOL_WORDS[text.lower()]
        try:
            return type(self.default)(text)
        except ValueError as error:
            raise ValueError(f'argument {self.name}: expected a {type(self.default).__name__}, '
                             f'got {text!r}') from error


@dataclass(frozen=True)
class NodeSpec:
    """One node of a graph: what to run and how to configure it."""

    package: str
    executable: str
    name: str
    node_class: str
    """`module:Class` of the node, for tools that inspect its declared parameters and topics."""
    parameter_files: tuple[str, ...] = ()
    """YAML files in the bringup package's config/ folder, applied in order."""
    parameters: dict[str, Any] = field(default_factory=dict)
    """Overrides applied after the parameter files."""
    remappings: tuple[tuple[str, str], ...] = ()
    optional: bool = False
    """Started only when its executable is installed (e.g. rviz2, which the PyPI set-up lacks)."""
    arguments: tuple[str, ...] = ()
    """Extra command-line arguments (before --ros-args)."""


@dataclass(frozen=True)
class Graph:
    """A set of nodes that run together, and the topics they expect from drivers outside pushgrasp."""

    name: str
    description: str
    nodes: tuple[NodeSpec, ...]
    external_topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class GraphDefinition:
    """A named graph: its arguments and the function that builds it from their values."""

    name: str
    description: str
    arguments: tuple[Argument, ...]
    build: Callable[[dict[str, Any]], Graph]


# --- shared pieces -----------------------------------------------------------------------------------

REALSENSE_TOPICS = {
    'color_topic': '/camera/camera/color/image_raw',
    'depth_topic': '/camera/camera/aligned_depth_to_color/image_raw',
    'camera_info_topic': '/camera/camera/color/camera_info',
}
HSR_HEAD_CAMERA_TOPICS = {
    'color_topic': '/head_rgbd_sensor/rgb/image_rect_color',
    'depth_topic': '/head_rgbd_sensor/depth_registered/image_rect_raw',
    'camera_info_topic': '/head_rgbd_sensor/rgb/camera_info',
}

SEED = Argument('seed', 0, 'Seed of everything random in the graph (exploration, synthetic scenes).')
POLICY = Argument('policy', 'vpg', 'Policy the policy node serves: vpg (learned), heuristic or random.')
CHECKPOINT = Argument('checkpoint', '', 'Checkpoint of the vpg policy: a path, shipped or grasp-only (empty: '
                                        'the shipped weights).')
USE_RVIZ = Argument('use_rviz', False, 'Start rviz2 with the pushgrasp config (needs a system ROS 2).')
EPISODES = Argument('episodes', 1, 'Episodes the task node runs per start; 0: forever (a simulated scene is reset '
                                   'between episodes).')
TCP_OFFSET = Argument('moveit_tcp_offset', float('nan'),
                      'moveit backend: metres from the tip link (tool0, hand_palm_link) to between the fingertips '
                      '(no default on purpose: measure it; unset, the control node refuses to move).')
MAX_ACTIONS = Argument('max_actions', 30, 'Action budget of an episode.')
RECORD_ARGUMENTS = (
    Argument('record', False, 'Record the run to a rosbag2 bag with the recorder node.'),
    Argument('bag', '', 'Bag directory the recorder creates (refused when it exists; empty: pushgrasp_<date>_<time>).'),
    Argument('bag_storage', 'mcap', 'Storage of the bag: mcap, or sqlite3 (survives a SIGKILL as it is).'),
    Argument('record_camera', False, 'Also record the simulated camera topics (large).'),
)
GOAL_ARGUMENTS = (
    Argument('goal', '', 'Goal mode: the colour of the one object the task node picks, a colour name (red, blue, '
                         'green, ...) or "R,G,B" in 0..255; empty: clear the whole table.'),
    Argument('goal_checkpoint', '', 'Goal policy of the policy node: a goal-conditioned checkpoint, or a policy spec '
                                    "used greedily on the goal; empty: the graph's policy used greedily on the goal."),
)
MAX_FAILURES = Argument('max_consecutive_failures', 10, 'An episode ends after this many failed actions in a row.')
LEARNING_ARGUMENTS = (
    Argument('learning', False, 'On-robot learning: the vpg policy learns from every transition (switchable at run '
                                'time: ros2 param set /policy learning true|false; needs learning_dir).'),
    Argument('learning_dir', '', 'Directory of on-robot learning (checkpoint.pt, policy.pt, replay/); an earlier '
                                 'session in it is continued. Empty: no learning.'),
    Argument('learning_checkpoint_every', 10, 'On-robot learning: steps between checkpoints written to '
                                              'learning_dir.'),
)


def task_arguments(autostart: bool) -> tuple[Argument, ...]:
    """Launch arguments of the task node; `autostart` is the default of its autostart argument."""
    start = 'now' if autostart else 'only when task/run_episode is called'
    return (Argument('autostart', autostart, f'Start the task node\'s episodes at once (default: {start}).'),
            EPISODES, MAX_ACTIONS, MAX_FAILURES)


def perception_node(values: dict[str, Any], camera_topics: dict[str, str]) -> NodeSpec:
    """The perception node reading one RGB-D camera."""
    topics = {key: values.get(key, default) for key, default in camera_topics.items()}
    return NodeSpec('pushgrasp_perception', 'perception_node', 'perception',
                    'pushgrasp_perception.ros.perception_node:PerceptionNode',
                    parameter_files=('perception.yaml',),
                    parameters={**topics, 'calibration_file': values.get('calibration_file', '')})


def policy_node(values: dict[str, Any], extra: dict[str, Any] | None = None) -> NodeSpec:
    """The policy node serving SelectPrimitive (and learning on the robot, in graphs with LEARNING_ARGUMENTS)."""
    learning = {a.name: values[a.name] for a in LEARNING_ARGUMENTS if a.name in values}
    goal = {'goal_checkpoint': values['goal_checkpoint']} if 'goal_checkpoint' in values else {}
    return NodeSpec('pushgrasp_policy', 'policy_node', 'policy', 'pushgrasp_policy.ros.policy_node:PolicyNode',
                    parameter_files=('policy.yaml',),
                    parameters={'policy': values['policy'], 'checkpoint': values['checkpoint'],
                                'seed': values['seed'], **learning, **goal, **(extra or {})})


def control_node(backend: str, extra: dict[str, Any] | None = None) -> NodeSpec:
    """The control node serving ExecutePrimitive on the given robot backend."""
    return NodeSpec('pushgrasp_control', 'control_node', 'control', 'pushgrasp_control.ros.control_node:ControlNode',
                    parameter_files=('control.yaml',), parameters={'backend': backend, **(extra or {})})


def task_node(values: dict[str, Any], extra: dict[str, Any] | None = None) -> NodeSpec:
    """Describe the task node, which runs episodes against the policy and control nodes."""
    return NodeSpec('pushgrasp', 'task_node', 'task', 'pushgrasp.ros.task_node:TaskNode',
                    parameter_files=('task.yaml',),
                    parameters={'autostart': values['autostart'], 'episodes': values['episodes'],
                                'max_actions': values['max_actions'],
                                'max_consecutive_failures': values['max_consecutive_failures'],
                                'seed': values['seed'], 'goal_color': values['goal'], **(extra or {})})


def recorder_node(values: dict[str, Any]) -> NodeSpec:
    """Describe the recorder node, which writes the graph's topics to a rosbag2 bag."""
    return NodeSpec('pushgrasp', 'recorder_node', 'recorder', 'pushgrasp.ros.recorder_node:RecorderNode',
                    parameter_files=('recorder.yaml',),
                    parameters={'output': values['bag'], 'storage': values['bag_storage'],
                                'record_camera': values['record_camera']})


def rviz_node() -> NodeSpec:
    """rviz2 with the pushgrasp display config (optional: not in the PyPI set-up)."""
    return NodeSpec('rviz2', 'rviz2', 'rviz', '', arguments=('-d', '$(share pushgrasp)/rviz/pushgrasp.rviz'),
                    optional=True)


def with_rviz(nodes: list[NodeSpec], values: dict[str, Any]) -> tuple[NodeSpec, ...]:
    """The nodes, plus rviz2 when the use_rviz argument is set."""
    return tuple(nodes + ([rviz_node()] if values.get('use_rviz') else []))


# --- the graphs ----------------------------------------------------------------------------------------

def build_mock(values: dict[str, Any]) -> Graph:
    """Policy and control on a synthetic heightmap with the mock robot: no camera, no robot, no physics."""
    publisher = NodeSpec('pushgrasp_perception', 'heightmap_publisher', 'heightmap_publisher',
                         'pushgrasp_perception.ros.heightmap_publisher:HeightmapPublisherNode',
                         parameter_files=('heightmap_publisher.yaml',),
                         parameters={'seed': values['seed'], 'num_objects': values['num_objects'],
                                     'file': values['heightmap_file']})
    nodes = [publisher, policy_node(values),
             control_node('mock', {'mock_time_scale': values['mock_time_scale']})]
    return Graph('mock', MOCK.description, with_rviz(nodes, values))


SIM_CAMERA_TOPICS = {
    'color_topic': '/camera/color/image_raw',
    'depth_topic': '/camera/aligned_depth_to_color/image_raw',
    'camera_info_topic': '/camera/color/camera_info',
}


def build_sim(values: dict[str, Any]) -> Graph:
    """The embedded simulated work cell seen as a camera plus a robot, with the same nodes as the real robot."""
    bridge = NodeSpec('pushgrasp_sim', 'sim_bridge', 'sim_bridge', 'pushgrasp_sim.ros.sim_bridge:SimBridgeNode',
                      parameter_files=('sim_bridge.yaml',),
                      parameters={'seed': values['seed'], 'num_objects': values['num_objects'],
                                  'test_case_file': values['test_case_file'],
                                  'depth_encoding': values['depth_encoding']})
    # The simulated camera's pose, written like a calibration result of the real camera.
    perception = perception_node({**values, 'calibration_file': '$(share pushgrasp)/config/sim_camera.yaml'},
                                 SIM_CAMERA_TOPICS)
    # Between episodes the task node resets the scene the same way: the same number of objects or test case.
    task = task_node(values, {'scene_num_objects': values['num_objects'],
                              'scene_test_case_file': values['test_case_file']})
    # The simulator knows which object each heightmap cell shows: the policy node serves GOAL_ID goals with it.
    policy = policy_node(values, {'object_labels_topic': 'sim/object_labels'})
    nodes = [bridge, perception, policy, control_node('sim'), task]
    if values['record']:
        nodes.append(recorder_node(values))
    return Graph('sim', SIM.description, with_rviz(nodes, values))


def moveit_settings(robot_model: str, values: dict[str, Any]) -> dict[str, Any]:
    """Control-node parameters of the moveit backend: the model, its planning frame and the TCP offset."""
    frames = {'ur5': 'base', 'hsr': 'base_footprint'}  # pushgrasp_control.backends.moveit.MODELS
    return {'robot_model': robot_model, 'base_frame': frames[robot_model],
            'moveit_tcp_offset': float(values['moveit_tcp_offset'])}


def build_real(values: dict[str, Any]) -> Graph:
    """A UR5 (ur_rtde or MoveIt) with a RealSense camera."""
    control = {'robot_ip': values['robot_ip']}
    if values['backend'] == 'moveit':
        control.update(moveit_settings('ur5', values))
    nodes = [perception_node(values, REALSENSE_TOPICS), policy_node(values),
             control_node(values['backend'], control), task_node(values)]
    camera = tuple(values.get(key, default) for key, default in REALSENSE_TOPICS.items())
    return Graph('real', REAL.description, with_rviz(nodes, values), external_topics=camera)


def build_hsr(values: dict[str, Any]) -> Graph:
    """A Toyota HSR through MoveIt with its head RGB-D camera."""
    nodes = [perception_node(values, HSR_HEAD_CAMERA_TOPICS), policy_node(values),
             control_node('moveit', moveit_settings('hsr', values)), task_node(values)]
    camera = tuple(values.get(key, default) for key, default in HSR_HEAD_CAMERA_TOPICS.items())
    return Graph('hsr', HSR.description, with_rviz(nodes, values), external_topics=camera)


def camera_arguments(topics: dict[str, str]) -> tuple[Argument, ...]:
    """Launch arguments for the camera topics, with the given defaults."""
    return (Argument('color_topic', topics['color_topic'], 'Colour image topic of the RGB-D camera.'),
            Argument('depth_topic', topics['depth_topic'], 'Depth image aligned to colour (16UC1 mm or 32FC1 m).'),
            Argument('camera_info_topic', topics['camera_info_topic'], 'CameraInfo of the colour image.'),
            Argument('calibration_file', '', 'Camera-to-base calibration YAML (empty: the parameter file).'))


MOCK = GraphDefinition(
    'mock', 'Policy and control nodes on a synthetic heightmap with the mock robot (no camera, robot or physics).',
    (SEED, POLICY, CHECKPOINT, USE_RVIZ,
     Argument('num_objects', 5, 'Blocks in the synthetic scene.'),
     Argument('heightmap_file', '', 'A saved heightmap (.npz) to publish instead of a synthetic scene.'),
     Argument('mock_time_scale', 1.0, 'Mock robot speed-up: motions take duration / mock_time_scale.')),
    build_mock)
REAL = GraphDefinition(
    'real', 'A UR5 (ur_rtde or MoveIt backend) with a RealSense camera.',
    (SEED, POLICY, CHECKPOINT, USE_RVIZ,
     Argument('backend', 'ur_rtde', 'Robot backend: ur_rtde or moveit.'),
     Argument('robot_ip', '192.168.1.10', 'IP address of the UR controller.'),
     TCP_OFFSET,
     *camera_arguments(REALSENSE_TOPICS), *task_arguments(autostart=False), *LEARNING_ARGUMENTS, *GOAL_ARGUMENTS),
    build_real)
HSR = GraphDefinition(
    'hsr', 'A Toyota HSR through MoveIt with its head RGB-D camera.',
    (SEED, POLICY, CHECKPOINT, USE_RVIZ, TCP_OFFSET, *camera_arguments(HSR_HEAD_CAMERA_TOPICS),
     *task_arguments(autostart=False), *LEARNING_ARGUMENTS, *GOAL_ARGUMENTS),
    build_hsr)

SIM = GraphDefinition(
    'sim', 'The embedded MuJoCo work cell (a UR5, a gripper, an RGB-D camera, toy blocks) with the same '
           'perception, policy, control and task nodes as the real robot.',
    (SEED, POLICY, CHECKPOINT, USE_RVIZ,
     Argument('num_objects', 10, 'Random objects in the first scene.'),
     Argument('test_case_file', '', 'A test-case file (reference format) for the first scene instead.'),
     Argument('depth_encoding', '32FC1', 'Simulated depth images: 32FC1 metres or 16UC1 millimetres.'),
     *task_arguments(autostart=True), *RECORD_ARGUMENTS, *LEARNING_ARGUMENTS, *GOAL_ARGUMENTS),
    build_sim)

GRAPHS: dict[str, GraphDefinition] = {g.name: g for g in (SIM, MOCK, REAL, HSR)}

# Graphs users may ask for that a later part of the project provides, and what to use meanwhile.
PLANNED_GRAPHS: dict[str, str] = {}


def build_graph(name: str, **values: Any) -> Graph:
    """The graph `name` with its arguments set from `values` (strings are parsed; missing use defaults)."""
    if name not in GRAPHS:
        if name in PLANNED_GRAPHS:
            raise KeyError(f'graph {name!r}: {PLANNED_GRAPHS[name]}')
        raise KeyError(f'unknown graph {name!r}; known graphs: {", ".join(sorted(GRAPHS))}')
    definition = GRAPHS[name]
    known = {a.name: a for a in definition.arguments}
    unknown = set(values) - set(known)
    if unknown:
        raise KeyError(f'graph {name!r} has no argument(s) {sorted(unknown)}; it takes {sorted(known)}')
    parsed = {a.name: a.parse(values.get(a.name, a.default)) for a in definition.arguments}
    return definition.build(parsed)


def expand_share(text: str, share_directory: Callable[[str], str]) -> str:
    """Replace `$(share PKG)` in `text` by PKG's share directory, looked up with `share_directory`."""
    while '$(share ' in text:
        start = text.index('$(share ')
        end = text.index(')', start)
        package = text[start + len('$(share '):end].strip()
        text = text[:start] + share_directory(package) + text[end + 1:]
    return text

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The node-graph description is consistent with the nodes, parameter files and launch files it names."""

import ast
import importlib
import math
import re
import runpy
import time
from pathlib import Path

import pytest
import rclpy
import yaml
from rclpy.action import (ActionClient, ActionServer, get_action_client_names_and_types_by_node,
                          get_action_server_names_and_types_by_node)
from rclpy.node import Node
from rclpy.parameter import Parameter

from ament_index_python.packages import get_package_share_directory

from pushgrasp.graph import GRAPHS, build_graph, expand_share
from pushgrasp.runner import config_path, find_executable, node_command

ROOT = Path(__file__).resolve().parents[1]
LAUNCH_FILES = sorted((ROOT / 'launch').glob('*.launch.py'))
ROS_INFRASTRUCTURE = ('/rosout', '/parameter_events')
# Every graph with its defaults, plus variants that change which topics and backends are used.
# The real robot's address is loopback here, so that no test ever tries to reach a robot on a network.
VARIANTS = [(name, {'robot_ip': '127.0.0.1'} if name == 'real' else {}) for name in GRAPHS] + [
    ('real', {'backend': 'moveit', 'robot_ip': '127.0.0.1', 'color_topic': '/cam/color/image_raw',
              'depth_topic': '/cam/depth/image_raw',
              'camera_info_topic': '/cam/color/camera_info'}),
    ('mock', {'use_rviz': 'true', 'seed': '7'}),
    ('sim', {'record': 'true', 'record_camera': 'true', 'bag_storage': 'sqlite3', 'bag': '/nonexistent/bag'}),
]
VARIANT_IDS = [f'{name}-{i}' for i, (name, _) in enumerate(VARIANTS)]


def graph_nodes(name, values):
    return [spec for spec in build_graph(name, **values).nodes if not spec.optional]


def node_class(spec):
    module, _, cls = spec.node_class.partition(':')
    return getattr(importlib.import_module(module), cls)


class StartedNode:
    """A node of a graph constructed in this process with exactly its command-line arguments."""

    def __init__(self, spec):
        ros_args = node_command(spec)[1 + len(spec.arguments):]
        rclpy.init(args=['node', *ros_args])
        try:
            self.node = node_class(spec)()
        except Exception:
            rclpy.shutdown()
            raise

    def close(self):
        self.node.destroy_node()
        rclpy.shutdown()


def started(spec):
    return StartedNode(spec)


def console_scripts(package):
    setup = (ROOT / 'src' / package / 'setup.py').read_text()
    return dict(re.findall(r"'(\w+) = ([\w.]+:\w+)'", setup))


@pytest.mark.parametrize(('name', 'values'), VARIANTS, ids=VARIANT_IDS)
def test_every_executable_exists(name, values):
    for spec in graph_nodes(name, values):
        assert find_executable(spec.package, spec.executable), f'{spec.package}/{spec.executable} is not installed'
        entry = console_scripts(spec.package).get(spec.executable)
        assert entry, f'{spec.executable} is not a console script of {spec.package}'
        module, _, function = entry.partition(':')
        assert callable(getattr(importlib.import_module(module), function))
        assert spec.node_class.split(':')[0] == module, f'{spec.name}: node class and executable disagree'
        assert issubclass(node_class(spec), Node)


@pytest.mark.parametrize(('name', 'values'), VARIANTS, ids=VARIANT_IDS)
def test_parameter_files_match_the_declared_parameters(name, values):
    for spec in graph_nodes(name, values):
        node = started(spec)
        try:
            declared = {n: node.node.get_parameter(n) for n in node.node._parameters}
            for filename in spec.parameter_files:
                document = yaml.safe_load(config_path(filename).read_text())
                assert list(document) == [spec.name], f'{filename} must configure exactly node {spec.name!r}'
                parameters = document[spec.name]['ros__parameters']
                for key, value in parameters.items():
                    assert key in declared, f'{filename}: {key!r} is not a parameter of {spec.name}'
                    file_type = Parameter.Type.from_parameter_value(value)
                    assert declared[key].type_ == file_type, \
                        f'{filename}: {key} is {file_type.name} in the file, {declared[key].type_.name} in the node'
                    if key not in spec.parameters:
                        assert declared[key].value == value, f'{filename}: {key} was not applied'
            for key, value in spec.parameters.items():
                assert key in declared, f'graph {name}: {key!r} is not a parameter of {spec.name}'
                if isinstance(value, str):
                    value = expand_share(value, get_package_share_directory)
                applied = declared[key].value
                same = applied == value or (isinstance(value, float) and math.isnan(value) and math.isnan(applied))
                assert same, f'graph {name}: override {key} was not applied'
        finally:
            node.close()


def own_actions(node, timeout=10.0, settle=1.0):
    """The action servers and clients of `node` as the ROS graph lists them, once it lists all the node holds.

    The graph learns of a new node's entities asynchronously: on a loaded machine a query right after the node
    started can miss some, and a node of the same name started by an earlier test can still be listed for a
    while, making up the count. So the listings are collected until they hold as many entries as the node holds
    and then `settle` seconds without a new one (at most `timeout` seconds in all).
    """
    name, namespace = node.get_name(), node.get_namespace()
    held_servers = sum(isinstance(w, ActionServer) for w in node.waitables)
    held_clients = sum(isinstance(w, ActionClient) for w in node.waitables)
    servers, clients = set(), set()
    start = last_new = time.monotonic()
    while True:
        now = time.monotonic()
        listed_servers = {n for n, _ in get_action_server_names_and_types_by_node(node, name, namespace)}
        listed_clients = {n for n, _ in get_action_client_names_and_types_by_node(node, name, namespace)}
        if not (listed_servers <= servers and listed_clients <= clients):
            servers, clients, last_new = servers | listed_servers, clients | listed_clients, now
        complete = len(servers) >= held_servers and len(clients) >= held_clients
        if (complete and now - last_new >= settle) or now - start > timeout:
            return servers, clients
        time.sleep(0.05)


@pytest.mark.parametrize(('name', 'values'), VARIANTS, ids=VARIANT_IDS)
def test_every_subscription_has_a_publisher(name, values):
    graph = build_graph(name, **values)
    published, subscribed, servers, clients = set(graph.external_topics), {}, set(), {}
    for spec in graph_nodes(name, values):
        node = started(spec)
        try:
            published |= {p.topic_name for p in node.node.publishers}
            for subscription in node.node.subscriptions:
                subscribed.setdefault(subscription.topic_name, []).append(spec.name)
            own_servers, own_clients = own_actions(node.node)
            servers |= own_servers
            for action in own_clients:
                clients.setdefault(action, []).append(spec.name)
        finally:
            node.close()
    orphans = {t: n for t, n in subscribed.items() if t not in published and not t.startswith(ROS_INFRASTRUCTURE)}
    assert not orphans, f'graph {name}: topics subscribed but published by no node: {orphans}'
    missing = {a: n for a, n in clients.items() if a not in servers}
    assert not missing, f'graph {name}: action clients without a server: {missing}'
    assert subscribed, f'graph {name}: no node subscribes to anything (the test would prove nothing)'
    assert servers, f'graph {name}: no action server found (the test would prove nothing)'


def launch_calls(path):
    """The graph names a launch file passes to launch_description()."""
    tree = ast.parse(path.read_text(), str(path))
    return [node.args[0].value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, 'id', None) == 'launch_description'
            and node.args and isinstance(node.args[0], ast.Constant)]


def test_every_graph_has_a_launch_file():
    assert {p.name.removesuffix('.launch.py') for p in LAUNCH_FILES} == set(GRAPHS)


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=[p.name for p in LAUNCH_FILES])
def test_launch_file_is_thin_and_names_only_described_graphs(path):
    compile(path.read_text(), str(path), 'exec')
    calls = launch_calls(path)
    assert calls == [path.name.removesuffix('.launch.py')], f'{path.name} must build its graph from the description'
    assert len(path.read_text().splitlines()) < 25, f'{path.name} should be a thin wrapper'


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=[p.name for p in LAUNCH_FILES])
def test_generate_launch_description(path):
    pytest.importorskip('launch_ros', reason='the launch packages are not installed (no system ROS 2)')
    from launch import LaunchContext, LaunchDescription
    from launch.actions import DeclareLaunchArgument
    description = runpy.run_path(str(path))['generate_launch_description']()
    assert isinstance(description, LaunchDescription)
    declared = {a.name for a in description.entities if isinstance(a, DeclareLaunchArgument)}
    assert declared == {a.name for a in GRAPHS[path.name.removesuffix('.launch.py')].arguments}
    LaunchContext()  # the description is built without errors


def test_unknown_arguments_and_graphs_are_refused_with_the_reason():
    with pytest.raises(KeyError, match='no argument'):
        build_graph('real', robot_ipp='10.0.0.1')
    with pytest.raises(KeyError, match='known graphs'):
        build_graph('nope')
    with pytest.raises(ValueError, match='expected true or false'):
        build_graph('mock', use_rviz='maybe')


def test_launch_files_and_configs_are_installed_where_ros2_launch_looks():
    """`ros2 launch pushgrasp NAME.launch.py` finds files under the package's share directory."""
    share = Path(get_package_share_directory('pushgrasp'))
    for path in LAUNCH_FILES:
        assert (share / 'launch' / path.name).is_file(), f'{path.name} is not installed'
    for path in sorted((ROOT / 'config').glob('*.yaml')):
        assert (share / 'config' / path.name).is_file(), f'{path.name} is not installed'
    assert (share / 'rviz' / 'pushgrasp.rviz').is_file()

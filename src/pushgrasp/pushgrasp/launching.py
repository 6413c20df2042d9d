# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Build `ros2 launch` descriptions from the graph description (needs the `launch` and `launch_ros` packages).

The launch files in `launch/` are one call to `launch_description(NAME)`; the nodes, their parameters
and the arguments all come from `pushgrasp.graph`, which `pushgrasp launch` uses too.
"""

from __future__ import annotations

from typing import Any

from ament_index_python.packages import get_package_share_directory
from launch import LaunchContext, LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from pushgrasp.graph import GRAPHS, build_graph, expand_share


def share(parameters: dict[str, Any]) -> dict[str, Any]:
    """Parameters with `$(share PKG)` in string values replaced by the package's share directory."""
    return {name: expand_share(value, get_package_share_directory) if isinstance(value, str) else value
            for name, value in parameters.items()}


def launch_description(graph_name: str) -> LaunchDescription:
    """The LaunchDescription of graph `graph_name`, with one launch argument per graph argument."""
    definition = GRAPHS[graph_name]
    arguments = [DeclareLaunchArgument(a.name, default_value=str(a.default).lower()
                                       if isinstance(a.default, bool) else str(a.default),
                                       description=a.description) for a in definition.arguments]

    def nodes(context: LaunchContext, *_: Any) -> list[Node]:
        values = {a.name: LaunchConfiguration(a.name).perform(context) for a in definition.arguments}
        graph = build_graph(graph_name, **values)
        config = get_package_share_directory('pushgrasp') + '/config/'
        return [Node(package=spec.package, executable=spec.executable, name=spec.name, output='screen',
                     arguments=[expand_share(a, get_package_share_directory) for a in spec.arguments],
                     parameters=[config + f for f in spec.parameter_files] + [share(spec.parameters)],
                     remappings=list(spec.remappings))
                for spec in graph.nodes]

    return LaunchDescription([*arguments, OpaqueFunction(function=nodes)])

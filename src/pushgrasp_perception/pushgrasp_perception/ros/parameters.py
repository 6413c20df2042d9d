# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Typed, described ROS parameters declared from one table per node."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node


@dataclass(frozen=True)
class ParamSpec:
    """One ROS parameter: its name, default (which fixes its type) and a one-line description."""

    name: str
    default: Any
    description: str
    read_only: bool = False


def declare_parameters(node: Node, specs: tuple[ParamSpec, ...]) -> dict[str, Any]:
    """Declare every parameter of `specs` on `node` and return their current values by name."""
    for spec in specs:
        node.declare_parameter(spec.name, spec.default,
                               ParameterDescriptor(description=spec.description, read_only=spec.read_only))
    return {spec.name: node.get_parameter(spec.name).value for spec in specs}

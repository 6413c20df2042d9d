# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""pushgrasp_control: push and grasp primitives, their geometry and safety checks, robot backends.

The modules at this level are plain Python; ROS adapters live in `pushgrasp_control.ros`.
"""

from pushgrasp_control.motion import (
    ExecutionResult, GripperCommand, MotionLimits, MotionPlan, Phase, PrimitiveRefused, Robot, RobotError, Waypoint,
    execute_plan, plan_primitive, validate_plan)
from pushgrasp_control.primitives import Primitive, PrimitiveType, primitive_from_pixel, rotation_angle

__all__ = ['ExecutionResult', 'GripperCommand', 'MotionLimits', 'MotionPlan', 'Phase', 'Primitive', 'PrimitiveRefused',
           'PrimitiveType', 'Robot', 'RobotError', 'Waypoint', 'execute_plan', 'plan_primitive', 'primitive_from_pixel',
           'rotation_angle', 'validate_plan']

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""pushgrasp_policy: push-grasp policies that choose a primitive on a heightmap.

The modules at this level are plain Python; the ROS node lives in `pushgrasp_policy.ros`.
"""

from pushgrasp_policy.decision import Decision, grasp_mask, select_from_q_maps
from pushgrasp_policy.heuristic import HeuristicConfig, HeuristicPolicy
from pushgrasp_policy.policy import Policy, PolicyConfig, QMapPolicy
from pushgrasp_policy.random_policy import RandomPolicy
from pushgrasp_policy.registry import POLICY_NAMES, make_policy

__all__ = ['Decision', 'HeuristicConfig', 'HeuristicPolicy', 'POLICY_NAMES', 'Policy', 'PolicyConfig',
           'QMapPolicy', 'RandomPolicy', 'grasp_mask', 'make_policy', 'select_from_q_maps']

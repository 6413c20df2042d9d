# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""ROS 2 adapters of pushgrasp_sim: the sim bridge node."""

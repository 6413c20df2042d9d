# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""pushgrasp bringup: the node-graph description, the graph runner and the `pushgrasp` command."""

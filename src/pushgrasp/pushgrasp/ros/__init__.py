# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The bringup package's nodes (the task node); the rest of `pushgrasp` imports no node code."""

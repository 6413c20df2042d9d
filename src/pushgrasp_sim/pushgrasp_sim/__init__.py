# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""pushgrasp_sim."""

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Training curves from a run's transitions.csv: the running grasp success, as the reference plots it."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np

from pushgrasp_policy.checkpoint import atomic_write_bytes

CURVE_FIELDS = ('run', 'transition', 'grasp_success_rate', 'grasp_attempts', 'push_fraction', 'picks_per_action')


def training_curve(run_dir: str | os.PathLike, window: int = 200, every: int = 25) -> list[dict]:
    """Rates of a run every `every` transitions, over the last `window` transitions.

    Each row: the grasp success of the grasps among those transitions, the share of pushes, and picks
    per action.
    """
    path = Path(run_dir) / 'transitions.csv'
    with open(path, newline='') as log:
        rows = list(csv.DictReader(log))
    if not rows:
        raise ValueError(f'{path} has no transitions')
    is_grasp = np.array([r['primitive'] == 'grasp' for r in rows])
    success = np.array([r['grasp_success'] == '1' for r in rows])
    curve = []
    for end in range(every, len(rows) + 1, every):
        start = max(0, end - window)
        grasps = is_grasp[start:end]
        attempts = int(grasps.sum())
        curve.append({'run': Path(run_dir).name, 'transition': end,
                      'grasp_success_rate': round(float(success[start:end][grasps].mean()), 4) if attempts else '',
                      'grasp_attempts': attempts,
                      'push_fraction': round(float(1.0 - grasps.mean()), 4),
                      'picks_per_action': round(float(success[start:end].mean()), 4)})
    return curve


def write_curve_csv(curve: list[dict], path: str | os.PathLike) -> None:
    """Write curve rows (of one or more runs) as CSV, atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CURVE_FIELDS)
    writer.writeheader()
    writer.writerows(curve)
    atomic_write_bytes(path, buffer.getvalue().encode())


def plot_curves(curve: list[dict], path: str | os.PathLike, window: int = 200) -> None:
    """Grasp success (solid) and push share (dashed) against transitions, one colour per run, as a PNG."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4), dpi=120)
    runs = list(dict.fromkeys(row['run'] for row in curve))
    for index, run in enumerate(runs):
        rows = [r for r in curve if r['run'] == run and r['grasp_success_rate'] != '']
        colour = f'C{index}'
        axis.plot([r['transition'] for r in rows], [r['grasp_success_rate'] for r in rows], color=colour,
                  label=f'{run}: grasp success')
        if any(r['push_fraction'] > 0 for r in rows):  # the grasping-only baseline never pushes
            axis.plot([r['transition'] for r in rows], [r['push_fraction'] for r in rows], color=colour, ls='--',
                      alpha=0.6, label=f'{run}: share of pushes')
    axis.set_xlabel('training transitions')
    axis.set_ylabel(f'rate over the last {window} transitions')
    axis.set_ylim(0, 1)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc='lower right')
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format='png')
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())

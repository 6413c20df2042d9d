# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Checkpoint files: written atomically, refused with a clear reason when corrupt or incompatible.

A checkpoint is a torch-saved dict with a format tag and version, the network configuration and weights,
and (for training checkpoints) the optimiser, replay and random-generator state needed to resume.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path
from collections.abc import Callable, Sequence
from typing import Any

import torch

FORMAT = 'pushgrasp-checkpoint'
VERSION = 1
SHIPPED_DIR = Path(__file__).resolve().parent / 'weights'
SHIPPED = {'shipped': SHIPPED_DIR / 'vpg_push_out.pt', 'push-out': SHIPPED_DIR / 'vpg_push_out.pt',
           'reference-reward': SHIPPED_DIR / 'vpg_reference_reward.pt', 'grasp-only': SHIPPED_DIR / 'grasp_only.pt',
           'goal': SHIPPED_DIR / 'goal.pt', 'goal-alternate': SHIPPED_DIR / 'goal_alternate.pt'}
"""Shipped checkpoints by name (docs/results.md): the VPG-style push-grasp policy, trained with
`--push-out-reward -0.5` (also named 'push-out'); the same trained with the reference's reward rule alone
('reference-reward', the goal grasp stage's explorer); the grasping-only baseline; the goal-conditioned
push-grasp policy (a goal agent's, see pushgrasp_policy.goal_agent: after the alternate stage, a stage of
early goal grasps on packed scenes, `--switch-explore`); the same before that stage ('goal-alternate', shipped
as 'goal' until 2026-11-22)."""


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: missing, corrupt, or written for another network."""


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` so that a reader sees either the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp', dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private; a result file should not be
        with os.fdopen(fd, 'wb') as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_checkpoint(path: str | os.PathLike, payload: dict[str, Any]) -> None:
    """Save `payload` (tensors, numpy arrays, plain Python values) atomically with the format tag."""
    buffer = io.BytesIO()
    torch.save({'format': FORMAT, 'version': VERSION, **payload}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | os.PathLike, required: tuple[str, ...] = ('network_config', 'network')) -> dict:
    """The payload of the checkpoint at `path`; CheckpointError saying why when it cannot be used."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f'checkpoint {path} does not exist')
    try:
        # weights_only: a checkpoint is data, never code to run.
        payload = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as error:  # torch raises many types for a truncated or foreign file
        raise CheckpointError(f'checkpoint {path} is corrupt or not a pushgrasp checkpoint '
                              f'({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ""})'
                              ) from error
    if not isinstance(payload, dict) or payload.get('format') != FORMAT:
        raise CheckpointError(f'{path} is not a pushgrasp checkpoint')
    if payload.get('version') != VERSION:
        raise CheckpointError(f'checkpoint {path} has format version {payload.get("version")}, '
                              f'this pushgrasp reads version {VERSION}')
    missing = [key for key in required if key not in payload]
    if missing:
        raise CheckpointError(f'checkpoint {path} lacks {", ".join(missing)}')
    return payload


def resolve_checkpoint(spec: str | os.PathLike) -> Path:
    """The file of a shipped checkpoint name ('shipped', 'grasp-only', 'goal', ...) or of a path."""
    return SHIPPED.get(str(spec), Path(spec))


def checkpoint_fingerprint(spec: str | os.PathLike) -> dict[str, str]:
    """{'file', 'sha256'} of the checkpoint a spec names, for records of what ran; {} when it names no file."""
    path = resolve_checkpoint(spec)
    if not path.is_file():
        return {}
    digest = hashlib.sha256()
    with path.open('rb') as stream:
        for block in iter(lambda: stream.read(1 << 20), b''):
            digest.update(block)
    return {'file': str(path), 'sha256': digest.hexdigest()}


def load_agent_checkpoint(path: str | os.PathLike[str], required: Sequence[str], config_key: str,
                          read_config: Callable[[dict], Any]) -> tuple[dict[str, Any], Any]:
    """Return (payload, settings) of an agent's checkpoint at `path` (or a shipped name).

    `read_config` turns `payload[config_key]` into the agent's settings; settings it cannot read raise
    CheckpointError, like a missing or corrupt file and missing `required` entries.
    """
    resolved = resolve_checkpoint(path)
    payload = load_checkpoint(resolved, required=tuple(required) + (config_key,))
    try:
        return payload, read_config(payload[config_key])
    except (TypeError, ValueError, KeyError) as error:
        raise CheckpointError(f'checkpoint {resolved} has settings this pushgrasp cannot read: {error}') from error

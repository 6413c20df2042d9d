# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Run a node graph as separate processes without the `ros2` CLI (`pushgrasp launch NAME`).

It starts the same executables with the same parameters as the launch files (both come from
`pushgrasp.graph`), prefixes each output line with the node's name, and stops every node on Ctrl-C,
on SIGTERM, or as soon as one of them exits.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from collections.abc import Callable

import yaml
from ament_index_python.packages import PackageNotFoundError, get_package_prefix, get_package_share_directory

from pushgrasp.graph import Graph, NodeSpec, expand_share

STOP_TIMEOUT_S = 5.0


def find_executable(package: str, executable: str) -> Path | None:
    """The installed executable `lib/<package>/<executable>`, or None when it is not installed."""
    try:
        path = Path(get_package_prefix(package)) / 'lib' / package / executable
    except (PackageNotFoundError, ValueError):
        return None
    return path if path.is_file() and os.access(path, os.X_OK) else None


def config_path(filename: str) -> Path:
    """A parameter file of the bringup package's config/ folder."""
    return Path(get_package_share_directory('pushgrasp')) / 'config' / filename


def parameter_literal(value: Any) -> str:
    """A parameter value as `-p name:=value` expects it (YAML)."""
    if isinstance(value, str):
        return yaml.safe_dump(value, default_style="'").strip().removesuffix('...').strip() if value else "''"
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix('...').strip()


def node_command(spec: NodeSpec) -> list[str]:
    """The command line that runs `spec` as `ros2 run` / `ros2 launch` would."""
    executable = find_executable(spec.package, spec.executable)
    if executable is None:
        raise FileNotFoundError(f'executable {spec.executable!r} of package {spec.package!r} is not installed')
    command = [str(executable), *(expand_share(a, get_package_share_directory) for a in spec.arguments)]
    command += ['--ros-args', '-r', f'__node:={spec.name}']
    for filename in spec.parameter_files:
        command += ['--params-file', str(config_path(filename))]
    for name, value in spec.parameters.items():
        if isinstance(value, str):
            value = expand_share(value, get_package_share_directory)
        command += ['-p', f'{name}:={parameter_literal(value)}']
    for source, target in spec.remappings:
        command += ['-r', f'{source}:={target}']
    return command


@dataclass
class RunningNode:
    """A started node process."""

    spec: NodeSpec
    process: subprocess.Popen
    buffer: bytes = b''


class GraphRunner:
    """Start the nodes of a graph, forward their output, and stop them together."""

    def __init__(self, graph: Graph, output: IO[str] | None = None,
                 echo: Callable[[str], None] | None = None) -> None:
        self.graph = graph
        self.output = output or sys.stdout
        self.echo = echo or (lambda line: print(line, file=self.output, flush=True))
        self.nodes: list[RunningNode] = []
        self._selector = selectors.DefaultSelector()
        self._stopping = False

    def start(self) -> None:
        """Start every node (optional nodes only when installed)."""
        for spec in self.graph.nodes:
            if spec.optional and find_executable(spec.package, spec.executable) is None:
                self.echo(f'[pushgrasp launch] {spec.name}: {spec.package}/{spec.executable} is not installed, '
                          'skipped')
                continue
            command = node_command(spec)
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
            node = RunningNode(spec, process)
            os.set_blocking(process.stdout.fileno(), False)
            self._selector.register(process.stdout, selectors.EVENT_READ, node)
            self.nodes.append(node)
            self.echo(f'[pushgrasp launch] started {spec.name} (pid {process.pid}): {" ".join(command)}')

    def _forward(self, node: RunningNode, final: bool = False) -> None:
        try:
            chunk = node.process.stdout.read() or b''
        except (BlockingIOError, ValueError):
            chunk = b''
        node.buffer += chunk
        *lines, node.buffer = node.buffer.split(b'\n')
        if final and node.buffer:
            lines, node.buffer = [*lines, node.buffer], b''
        for line in lines:
            self.echo(f'[{node.spec.name}] {line.decode(errors="replace").rstrip()}')

    def poll(self, timeout: float = 0.1) -> RunningNode | None:
        """Forward available output; return a node that has exited, if any."""
        for key, _ in self._selector.select(timeout):
            self._forward(key.data)
        for node in self.nodes:
            if node.process.poll() is not None:
                self._forward(node, final=True)
                return node
        return None

    def run(self, duration: float | None = None) -> int:
        """Run until a node exits, a signal arrives, or `duration` seconds pass; return an exit code."""
        deadline = None if duration is None else time.monotonic() + duration
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

        def on_signal(signum: int, _frame: Any) -> None:
            self._stopping = True

        for sig in previous:
            signal.signal(sig, on_signal)
        code = 0
        try:
            self.start()
            while not self._stopping and (deadline is None or time.monotonic() < deadline):
                exited = self.poll()
                if exited is not None:
                    code = exited.process.returncode or 1
                    self.echo(f'[pushgrasp launch] {exited.spec.name} exited with code '
                              f'{exited.process.returncode}; stopping the graph')
                    break
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return code

    def stop(self) -> None:
        """Stop every node: SIGINT (as Ctrl-C), then SIGTERM, then SIGKILL after a timeout each."""
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            alive = [n for n in self.nodes if n.process.poll() is None]
            if not alive:
                break
            for node in alive:
                try:
                    os.killpg(node.process.pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while time.monotonic() < deadline and any(n.process.poll() is None for n in alive):
                self.poll(0.05)
        for node in self.nodes:
            self._forward(node, final=True)
            try:
                self._selector.unregister(node.process.stdout)
            except (KeyError, ValueError):
                pass
            node.process.stdout.close()
        self.nodes = []

    def __enter__(self) -> GraphRunner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""A Robotiq 2F-85 gripper driven through the Robotiq URCap's ASCII socket on the UR controller (port 63352).

Protocol (one command per line, ASCII): ``SET <VAR> <value>`` answers ``ack``; ``GET <VAR>`` answers
``<VAR> <value>``. Variables used here: ACT (activate), GTO (go to the requested position), POS (requested
position 0..255 for SET, actual position for GET), PRE (echo of the requested position), SPE and FOR (speed
and force 0..255), STA (3 = activated) and OBJ (0 = moving, 1 = stopped on an object while opening,
2 = stopped on an object while closing, 3 = at the requested position).

Width: position 0 is fully open (85 mm between the jaws) and `closed_position` (default 255) fully closed,
and the width is taken as linear in between: ``0.085 * (closed_position - pos) / closed_position``, clipped
at 0. This is an approximation (the finger linkage is not exactly linear); a real 2F-85 closed on nothing
typically stops around position 227-230, so set `closed_position` to the reading of the empty, fully closed
gripper, or an empty close reads as a few millimetres open and can pass for a held object.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from pushgrasp_control.motion import RobotError

DEFAULT_PORT = 63352
"""TCP port of the Robotiq URCap's socket server on the UR controller."""
OPEN_WIDTH = 0.085
"""Jaw opening of the open 2F-85, metres."""

SocketFactory = Callable[[str, int, float], Any]
"""(host, port, timeout) -> a connected socket-like object with sendall, recv and close."""


def _default_socket(host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to the URCap socket with `timeout` seconds on every operation."""
    connection = socket.create_connection((host, port), timeout=timeout)
    connection.settimeout(timeout)
    return connection


class Robotiq2F85:
    """A Robotiq 2F-85 behind the URCap socket (see the module docstring); thread-safe, connects lazily."""

    def __init__(self, host: str, port: int = DEFAULT_PORT, socket_factory: SocketFactory | None = None,
                 timeout: float = 2.0, speed: int = 255, force: int = 100, closed_position: int = 255,
                 motion_timeout: float = 5.0, poll_period: float = 0.02) -> None:
        """Describe the gripper at `host`:`port`; nothing is sent until the first command.

        `timeout` bounds every socket operation (seconds), `motion_timeout` a whole activation or finger motion.
        `speed` and `force` (0..255) are used by `open` and `close` unless given there.
        """
        for name, value in (('speed', speed), ('force', force)):
            if not 0 <= value <= 255:
                raise ValueError(f'{name} must be in 0..255, got {value}')
        if not 0 < closed_position <= 255:
            raise ValueError(f'closed_position must be in 1..255, got {closed_position}')
        if not timeout > 0 or not motion_timeout > 0:
            raise ValueError('timeouts must be positive')
        self.host, self.port = host, int(port)
        self.timeout, self.motion_timeout, self.poll_period = float(timeout), float(motion_timeout), float(poll_period)
        self.speed, self.force, self.closed_position = int(speed), int(force), int(closed_position)
        self._socket_factory = socket_factory or _default_socket
        self._socket: Any = None
        self._buffer = b''
        self._activated = False
        self._lock = threading.RLock()

    # -- protocol ---------------------------------------------------------------------------------------------

    def _where(self) -> str:
        return f'Robotiq gripper at {self.host}:{self.port}'

    def _disconnect(self) -> None:
        if self._socket is not None:
            try:
                self._socket.close()
            except OSError:
                pass
        self._socket, self._buffer, self._activated = None, b'', False

    def _command(self, line: str) -> str:
        """Send one command line and return the reply line (without the newline); RobotError on failure."""
        with self._lock:
            try:
                if self._socket is None:
                    self._socket = self._socket_factory(self.host, self.port, self.timeout)
                self._socket.sendall(line.encode('ascii') + b'\n')
                while b'\n' not in self._buffer:
                    chunk = self._socket.recv(1024)
                    if not chunk:
                        raise ConnectionError('the connection was closed')
                    self._buffer += chunk
            except TimeoutError as error:  # socket.timeout is TimeoutError
                self._disconnect()
                raise RobotError(f'{self._where()} did not answer {line!r} within {self.timeout:g} s') from error
            except OSError as error:
                self._disconnect()
                raise RobotError(f'{self._where()}: {line!r} failed: {error}') from error
            reply, self._buffer = self._buffer.split(b'\n', 1)
            return reply.decode('ascii', 'replace').strip()

    def _set(self, *values: tuple[str, int]) -> None:
        """SET each (variable, value) in the given order, checking every ``ack``."""
        for name, value in values:
            line = f'SET {name} {int(value)}'
            reply = self._command(line)
            if reply != 'ack':
                raise RobotError(f'{self._where()} refused {line!r}: {reply!r}')

    def _get(self, name: str) -> int:
        """The integer value of a variable (GET)."""
        line = f'GET {name.upper()}'
        reply = self._command(line)
        parts = reply.split()
        if len(parts) != 2 or parts[0] != name.upper():
            raise RobotError(f'{self._where()} answered {line!r} with {reply!r}')
        try:
            return int(parts[1])
        except ValueError as error:
            raise RobotError(f'{self._where()} answered {line!r} with {reply!r}') from error

    def _wait(self, what: str, done: Callable[[], bool]) -> None:
        deadline = time.monotonic() + self.motion_timeout
        while not done():
            if time.monotonic() > deadline:
                raise RobotError(f'{self._where()}: {what} did not finish within {self.motion_timeout:g} s')
            time.sleep(self.poll_period)

    # -- gripper ----------------------------------------------------------------------------------------------

    def activate(self) -> None:
        """Activate the gripper unless it already is (STA 3): SET ACT 1, wait for STA 3, SET GTO 1."""
        with self._lock:
            if self._activated:
                return
            if self._get('STA') != 3:
                self._set(('ACT', 1))
                self._wait('activation', lambda: self._get('STA') == 3)
            self._set(('GTO', 1))
            self._activated = True

    def move(self, position: int, speed: int | None = None, force: int | None = None) -> int:
        """Move the fingers to `position` (0 open .. 255 closed) and wait; the OBJ status it ended with."""
        if not 0 <= position <= 255:
            raise ValueError(f'position must be in 0..255, got {position}')
        with self._lock:
            self.activate()
            self._set(('SPE', self.speed if speed is None else speed), ('FOR', self.force if force is None else force),
                      ('POS', position), ('GTO', 1))
            # PRE echoes the request once the gripper took it; before that OBJ may still show the last move.
            self._wait(f'accepting position {position}', lambda: self._get('PRE') == position)
            status = {'obj': 0}

            def stopped() -> bool:
                status['obj'] = self._get('OBJ')
                return status['obj'] != 0

            self._wait(f'the move to position {position}', stopped)
            return status['obj']

    def open(self, speed: int | None = None, force: int | None = None) -> None:
        """Open the fingers fully (position 0)."""
        self.move(0, speed, force)

    def close(self, speed: int | None = None, force: int | None = None) -> float:
        """Close the fingers until they stop (on an object or fully closed); the jaw opening in metres."""
        self.move(255, speed, force)
        return self.width()

    def position(self) -> int:
        """The actual finger position 0..255 (GET POS)."""
        return self._get('POS')

    def width(self) -> float:
        """The jaw opening in metres (see the module docstring for the approximation)."""
        return position_to_width(self.position(), self.closed_position)

    def object_detected(self) -> bool:
        """Whether the last move stopped on an object (OBJ 1 or 2)."""
        return self._get('OBJ') in (1, 2)

    def close_connection(self) -> None:
        """Close the socket (the next command reconnects and re-checks activation)."""
        with self._lock:
            self._disconnect()


def position_to_width(position: int, closed_position: int = 255) -> float:
    """Jaw opening in metres of finger `position`: linear from 85 mm at 0 to 0 at `closed_position`."""
    return max(0.0, OPEN_WIDTH * (closed_position - position) / closed_position)

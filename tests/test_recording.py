# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Recording: a simulated episode recorded through the graph reads back with rosbags' AnyReader."""

import json
import shutil
import subprocess
import sys
import textwrap

import pytest
from rosbags.highlevel import AnyReader

from pushgrasp.recording import BagRecorder
from pushgrasp.runner import find_executable

CASE = """4.obj 0.31 0.47 0.65 -0.600 -0.120 0.025 0 0 0
3.obj 0.61 0.46 0.37 -0.560 0.130 0.0125 0 0 1.2
"""
EXPECTED = {'/heightmap': 'pushgrasp_interfaces/msg/Heightmap', '/transitions': 'pushgrasp_interfaces/msg/Transition',
            '/task/episode': 'std_msgs/msg/String',
            '/selected_primitive/markers': 'visualization_msgs/msg/MarkerArray'}


@pytest.mark.timeout(180)
def test_a_recorded_sim_episode_reads_back_with_anyreader(tmp_path):
    case = tmp_path / 'case.txt'
    case.write_text(CASE)
    bag, report = tmp_path / 'bag', tmp_path / 'record.json'
    run = subprocess.run([shutil.which('pushgrasp'), 'record', '--sim', '--episodes', '1', '--seed', '2', '--case',
                          str(case), '--max-actions', '3', '--out', str(bag), '--json', str(report)],
                         capture_output=True, text=True, timeout=170)
    assert run.returncode == 0, run.stdout + run.stderr + (tmp_path / 'bag.log').read_text()
    assert '/transitions (pushgrasp_interfaces/msg/Transition)' in run.stdout
    figures = json.loads(report.read_text())
    [episode] = figures['episodes']
    assert episode['actions'] >= 1
    assert (bag / 'metadata.yaml').exists() and (bag / 'bag.mcap').exists()

    with AnyReader([bag]) as reader:
        types = {c.topic: c.msgtype for c in reader.connections}
        assert types == EXPECTED
        counts = {c.topic: c.msgcount for c in reader.connections}
        assert counts['/transitions'] == episode['actions']
        assert counts['/task/episode'] == 1
        assert counts['/heightmap'] >= episode['actions'] + 1
        assert all('Heightmap' in c.msgdef.data for c in reader.connections if c.topic == '/transitions')
        transitions = [reader.deserialize(raw, c.msgtype) for c, _, raw in reader.messages()
                       if c.topic == '/transitions']
        heightmap = next(reader.deserialize(raw, c.msgtype) for c, _, raw in reader.messages()
                         if c.topic == '/heightmap')
        metrics = next(json.loads(reader.deserialize(raw, c.msgtype).data) for c, _, raw in reader.messages()
                       if c.topic == '/task/episode')
    assert [t.step_id for t in transitions] == list(range(episode['actions']))
    assert transitions[-1].episode_done
    assert transitions[0].state.height.encoding == '32FC1' and transitions[0].state.height.width > 0
    assert heightmap.color.encoding == 'rgb8'
    assert len(heightmap.color.data) == heightmap.color.width * heightmap.color.height * 3
    assert metrics['actions'] == episode['actions']


def test_an_existing_bag_is_refused(tmp_path):
    existing = tmp_path / 'old_bag'
    existing.mkdir()
    run = subprocess.run([shutil.which('pushgrasp'), 'record', '--out', str(existing)], capture_output=True,
                         text=True, timeout=30)
    assert run.returncode == 2 and 'exists already' in run.stderr and 'not overwriting' in run.stderr
    with pytest.raises(FileExistsError, match='exists already'):
        BagRecorder(existing)
    node = subprocess.run([str(find_executable('pushgrasp', 'recorder_node')), '--ros-args', '-p',
                           f'output:={existing}'], capture_output=True, text=True, timeout=30)
    assert node.returncode == 1 and 'exists already' in node.stdout + node.stderr
    assert list(existing.iterdir()) == []


def test_a_killed_sqlite3_recording_keeps_what_was_flushed(tmp_path):
    script = textwrap.dedent(f"""
        import os, signal
        from rclpy.serialization import serialize_message
        from std_msgs.msg import String
        from pushgrasp.recording import DEFAULT_TOPICS, BagRecorder
        bag = BagRecorder({str(tmp_path / 'bag')!r}, 'sqlite3')
        for topic in DEFAULT_TOPICS:
            bag.add_topic(topic)
        for i in range(5):
            bag.write('/task/episode', 1000 + i, serialize_message(String(data=str(i))))
        bag.flush()
        bag.write('/task/episode', 2000, serialize_message(String(data='lost')))
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    run = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, timeout=30)
    assert run.returncode == -9, run.stderr
    with AnyReader([tmp_path / 'bag']) as reader:
        data = [reader.deserialize(raw, c.msgtype).data for c, _, raw in reader.messages()]
    assert data == [str(i) for i in range(5)]


def test_recorded_topics_are_checked():
    from pushgrasp.recording import parse_topics
    assert [t.name for t in parse_topics('heightmap, /transitions, extra=std_msgs/msg/String')] == \
        ['heightmap', 'transitions', 'extra']
    with pytest.raises(ValueError, match='no known type'):
        parse_topics('unknown_topic')

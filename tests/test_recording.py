# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Recording: a simulated episode recorded through the graph reads back with rosbags' AnyReader; killed recordings.

MCAP recordings are split bags (one file per flush period): a SIGKILL loses at most the open file, and the bag
opens as it is, as a killed sqlite3 recording does.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from rosbags.highlevel import AnyReader
from ruamel.yaml import YAML

from pushgrasp.recording import BagRecorder, bag_closed
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
    assert (bag / 'bag_0.mcap').exists() and not (bag / '.writing').exists()  # a split bag, closed
    files = check_metadata(bag)
    assert sum(f['message_count'] for f in files) == sum(figures['topics'][t]['messages'] for t in figures['topics'])

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


def check_metadata(bag):
    """Check that metadata.yaml lists every file of the bag, with counts that add up; return its files."""
    info = YAML(typ='safe').load((bag / 'metadata.yaml').read_text())['rosbag2_bagfile_information']
    files = info['files']
    assert info['version'] == 9 and info['storage_identifier'] == 'mcap'
    assert info['relative_file_paths'] == [f['path'] for f in files]
    assert sorted(f['path'] for f in files) == sorted(p.name for p in bag.glob('*.mcap'))
    assert [f['path'] for f in files] == [f'{bag.name}_{k}.mcap' for k in range(len(files))]
    assert sum(f['message_count'] for f in files) == info['message_count']
    assert sum(t['message_count'] for t in info['topics_with_message_count']) == info['message_count']
    recorded = [f for f in files if f['message_count']]
    if recorded:
        start = min(f['starting_time']['nanoseconds_since_epoch'] for f in recorded)
        end = max(f['starting_time']['nanoseconds_since_epoch'] + f['duration']['nanoseconds'] for f in recorded)
        assert info['starting_time']['nanoseconds_since_epoch'] == start
        assert info['duration']['nanoseconds'] == end - start
    return files


def test_a_closed_split_mcap_bag_lists_every_file_with_its_counts(tmp_path):
    from rclpy.serialization import serialize_message
    from std_msgs.msg import String

    from pushgrasp.recording import DEFAULT_TOPICS, TopicSpec
    path = tmp_path / 'run'
    bag = BagRecorder(path, 'mcap', compress=True, split_seconds=0.2)
    for topic in DEFAULT_TOPICS + (TopicSpec('notes', 'std_msgs/msg/String'),):
        bag.add_topic(topic)
    bag.flush()  # nothing recorded yet: one file without messages, so that the bag opens from now on
    with AnyReader([path]) as reader:
        assert {c.topic for c in reader.connections} == {'/' + t.name for t in DEFAULT_TOPICS} | {'/notes'}
        assert reader.message_count == 0 and all(c.msgdef.data for c in reader.connections)
    bag.flush()  # no message since: no new file
    assert [f.path for f in bag.files] == ['run_0.mcap']

    sent = []
    for k in range(3):  # three flushes with messages: three more files
        for i in range(4):
            sent.append(f'{k}.{i}')
            bag.write('/notes' if i == 3 else '/task/episode', 1_000_000 * len(sent),
                      serialize_message(String(data=sent[-1])))
        bag.flush()
    bag.write('/task/episode', 1_000_000 * (len(sent) + 1), serialize_message(String(data='late')))
    time.sleep(0.25)  # the open file is older than split_seconds: the next message goes to a new one
    bag.write('/task/episode', 1_000_000 * (len(sent) + 2), serialize_message(String(data='later')))
    sent += ['late', 'later']
    bag.close()
    bag.close()

    assert not (path / '.writing').exists() and bag_closed(path)
    files = check_metadata(path)
    assert [f['message_count'] for f in files] == [0, 4, 4, 4, 1, 1]
    assert files[1]['starting_time']['nanoseconds_since_epoch'] == 1_000_000
    assert files[1]['duration']['nanoseconds'] == 3_000_000
    with AnyReader([path]) as reader:
        data = [reader.deserialize(raw, c.msgtype).data for c, _, raw in reader.messages()]
        counts = {c.topic: c.msgcount for c in reader.connections}
    assert data == sent
    assert counts == {'/heightmap': 0, '/transitions': 0, '/task/episode': len(sent) - 3,
                      '/selected_primitive/markers': 0, '/notes': 3}


def test_a_killed_mcap_recording_opens_and_loses_at_most_the_last_second(tmp_path):
    # As the recorder node does: messages as they come, a flush (closing the open file) every second.
    script = textwrap.dedent(f"""
        import os, signal, sys, time
        from rclpy.serialization import serialize_message
        from std_msgs.msg import String
        from pushgrasp.recording import DEFAULT_TOPICS, BagRecorder
        bag = BagRecorder({str(tmp_path / 'bag')!r}, 'mcap', split_seconds=1.0)
        for topic in DEFAULT_TOPICS:
            bag.add_topic(topic)
        started = last_flush = time.monotonic()
        i = 0
        while time.monotonic() - started < 3.5:
            bag.write('/task/episode', time.time_ns(), serialize_message(String(data=str(i))))
            i += 1
            if time.monotonic() - last_flush >= 1.0:
                bag.flush()
                last_flush = time.monotonic()
            time.sleep(0.01)
        print(i, time.time_ns(), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    run = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, timeout=60)
    assert run.returncode == -9, run.stderr
    sent, killed_ns = (int(v) for v in run.stdout.split())
    path = tmp_path / 'bag'
    assert (path / '.writing' / '.writing.mcap').exists()  # the open file, half written, outside the bag
    assert not bag_closed(path)  # `pushgrasp record` says the recording did not end cleanly
    files = check_metadata(path)
    assert len(files) >= 3
    with AnyReader([path]) as reader:
        messages = [(int(reader.deserialize(raw, c.msgtype).data), stamp) for c, stamp, raw in reader.messages()]
    assert [i for i, _ in messages] == list(range(len(messages)))  # in order, none missing up to the last kept
    assert len(messages) < sent  # the open file was lost...
    assert messages[-1][1] >= killed_ns - 1.25e9  # ...and it held at most the last second (and a little)


@pytest.mark.timeout(60)
def test_a_killed_recorder_node_leaves_a_bag_that_opens(tmp_path):
    import rclpy
    from rclpy.node import Node
    from std_msgs.msg import String
    topic = f'recording_kill_test_{os.getpid()}'  # a topic no other run on this machine publishes
    path = tmp_path / 'bag'
    recorder = subprocess.Popen([str(find_executable('pushgrasp', 'recorder_node')), '--ros-args', '-p',
                                 f'output:={path}', '-p', f'topics:={topic}=std_msgs/msg/String', '-p',
                                 'flush_period:=1.0'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rclpy.init()
    node = Node('recording_kill_publisher')
    publisher = node.create_publisher(String, topic, 10)
    sent = []
    try:
        deadline = time.monotonic() + 30
        while publisher.get_subscription_count() == 0 and time.monotonic() < deadline:
            assert recorder.poll() is None, 'the recorder node exited'
            time.sleep(0.05)
        assert publisher.get_subscription_count() > 0, 'the recorder node did not subscribe'
        started = time.monotonic()
        while time.monotonic() - started < 3.5:
            publisher.publish(String(data=str(len(sent))))
            sent.append(time.monotonic())
            time.sleep(0.02)
        recorder.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        assert recorder.wait(10) == -9
    finally:
        if recorder.poll() is None:
            recorder.kill()
        node.destroy_node()
        rclpy.shutdown()
    check_metadata(path)
    with AnyReader([path]) as reader:
        data = [int(reader.deserialize(raw, c.msgtype).data) for c, _, raw in reader.messages()]
    assert data and data == list(range(data[0], data[0] + len(data)))
    # Everything published more than a second (and a margin for scheduling) before the kill is in the bag.
    assert all(k <= data[-1] for k, at in enumerate(sent) if at < killed - 1.5)
    assert len(data) < len(sent)


def test_recorded_topics_are_checked():
    from pushgrasp.recording import parse_topics
    assert [t.name for t in parse_topics('heightmap, /transitions, extra=std_msgs/msg/String')] == \
        ['heightmap', 'transitions', 'extra']
    with pytest.raises(ValueError, match='no known type'):
        parse_topics('unknown_topic')

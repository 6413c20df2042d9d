# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Latency of the perception node: camera frame in, Heightmap message out, over DDS, in this process.

A camera node publishes CameraInfo, a colour image (rgb8) and an aligned depth image (16UC1 millimetres)
with one stamp per frame, as a RealSense driver does; a PerceptionNode pairs and projects them; a listener
receives the Heightmap. The latency of a frame is the time from just before its colour image is published
to the reception of the Heightmap carrying its stamp. Frames go one at a time (the next is sent once the
previous Heightmap arrived or timed out), all three nodes spun by one executor in the calling thread, so the
figure is the pipeline's own latency: serialisation, DDS transport, conversion, projection, publication.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import rclpy
from pushgrasp_interfaces.msg import Heightmap as HeightmapMsg
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from pushgrasp_perception.ros.conversions import image_to_msg, ns_to_stamp, stamp_to_ns
from pushgrasp_perception.ros.perception_node import PerceptionNode
from pushgrasp_perception.ros.topics import HEIGHTMAP_TOPIC
from pushgrasp_perception.synthetic_rgbd import random_block_views
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE, Workspace

COLOR_TOPIC = 'camera/color/image_raw'
DEPTH_TOPIC = 'camera/aligned_depth_to_color/image_raw'
INFO_TOPIC = 'camera/color/camera_info'
FRAME_PERIOD_NS = 33_333_333
"""Stamps of consecutive frames are this far apart (a 30 Hz camera); they need not be the clock's."""

_namespaces = itertools.count()


@dataclass
class LatencySamples:
    """The frames of a latency run: stamps sent, stamps of the Heightmaps received, and latencies."""

    sent_stamps: list[int] = field(default_factory=list)
    received_stamps: list[int] = field(default_factory=list)
    """Stamps (ns) of every Heightmap received after the warm-up, in order of arrival."""
    latencies_ms: list[float] = field(default_factory=list)
    """Per received frame: colour image published -> Heightmap with its stamp received, milliseconds."""
    lost: int = 0
    """Measured frames whose Heightmap did not arrive within the timeout."""

    @property
    def median_ms(self) -> float:
        """Median latency in milliseconds (NaN when nothing arrived)."""
        return float(np.median(self.latencies_ms)) if self.latencies_ms else float('nan')


def node_latency_samples(frames: int = 30, seed: int = 0, warmup: int = 3, timeout_s: float = 2.0,
                         workspace: Workspace = DEFAULT_WORKSPACE, discovery_timeout_s: float = 10.0,
                         domain_id: int | None = None) -> LatencySamples:
    """Send `warmup` + `frames` synthetic 640x480 RGB-D frames through a PerceptionNode; the measured frames.

    The nodes live in a private rclpy context (domain `domain_id`, default ROS_DOMAIN_ID) under a namespace
    of their own, so other graphs on the machine are not disturbed.

    Raises:
        RuntimeError: the nodes did not discover each other within `discovery_timeout_s`.
    """
    view = random_block_views(seed, workspace=workspace)[0]
    context = Context()
    rclpy.init(context=context, domain_id=domain_id)
    executor = SingleThreadedExecutor(context=context)
    namespace = f'/pushgrasp_latency_{os.getpid()}_{next(_namespaces)}'
    nodes: list[Node] = []
    try:
        perception = PerceptionNode(context=context, namespace=namespace, parameter_overrides=[
            Parameter('camera_pose', value=[float(v) for v in view.camera_pose.ravel()]),
            Parameter('workspace_bounds', value=workspace.bounds()),
            Parameter('resolution', value=workspace.resolution),
            Parameter('color_topic', value=COLOR_TOPIC),
            Parameter('depth_topic', value=DEPTH_TOPIC),
            Parameter('camera_info_topic', value=INFO_TOPIC),
        ])
        nodes.append(perception)
        camera = Node('latency_camera', context=context, namespace=namespace)
        nodes.append(camera)
        listener = Node('latency_listener', context=context, namespace=namespace)
        nodes.append(listener)
        for node in nodes:
            executor.add_node(node)
        publishers = [camera.create_publisher(kind, topic, qos_profile_sensor_data)
                      for kind, topic in ((CameraInfo, INFO_TOPIC), (Image, COLOR_TOPIC), (Image, DEPTH_TOPIC))]
        arrivals: list[tuple[int, float]] = []  # (stamp, time of reception) of every Heightmap
        listener.create_subscription(HeightmapMsg, HEIGHTMAP_TOPIC,
                                     lambda msg: arrivals.append((stamp_to_ns(msg.header.stamp), time.perf_counter())),
                                     5)

        def spin_until(condition: Callable[[], bool], timeout: float) -> bool:
            deadline = time.monotonic() + timeout
            while not condition() and time.monotonic() < deadline:
                executor.spin_once(timeout_sec=0.001)
            return condition()

        def wait_for(stamp_ns: int, start: int) -> float | None:
            """Spin until a Heightmap stamped `stamp_ns` arrived (at or after arrivals[start]); its arrival time."""
            def arrival() -> float | None:
                return next((t for s, t in arrivals[start:] if s == stamp_ns), None)
            spin_until(lambda: arrival() is not None, timeout_s)
            return arrival()

        connected = spin_until(lambda: all(p.get_subscription_count() > 0 for p in publishers)
                               and perception.outputs.heightmap.get_subscription_count() > 0, discovery_timeout_s)
        if not connected:
            raise RuntimeError(f'the latency nodes did not discover each other within {discovery_timeout_s} s')

        height, width = view.depth.shape
        info = CameraInfo(width=width, height=height, k=view.intrinsics.ravel().tolist(),
                          distortion_model='plumb_bob', d=[0.0] * 5)
        color_msg = image_to_msg(view.color, 'rgb8')
        depth_msg = image_to_msg(view.depth, '16UC1')
        info.header = Header(stamp=ns_to_stamp(time.time_ns()), frame_id='camera_color_optical_frame')
        publishers[0].publish(info)
        spin_until(lambda: perception.intrinsics is not None, timeout_s)
        samples = LatencySamples()
        first_ns = time.time_ns()
        measured_from = len(arrivals)
        for index in range(warmup + frames):
            stamp_ns = first_ns + index * FRAME_PERIOD_NS
            header = Header(stamp=ns_to_stamp(stamp_ns), frame_id='camera_color_optical_frame')
            info.header = color_msg.header = depth_msg.header = header
            publishers[0].publish(info)
            sent = time.perf_counter()
            publishers[1].publish(color_msg)
            publishers[2].publish(depth_msg)
            received = wait_for(stamp_ns, len(arrivals))
            if index < warmup:
                measured_from = len(arrivals)
                continue
            samples.sent_stamps.append(stamp_ns)
            if received is None:
                samples.lost += 1
            else:
                samples.latencies_ms.append((received - sent) * 1e3)
        samples.received_stamps = [stamp for stamp, _ in arrivals[measured_from:]]
        return samples
    finally:
        executor.shutdown()
        for node in nodes:
            node.destroy_node()
        context.try_shutdown()

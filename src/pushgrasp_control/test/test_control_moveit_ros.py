# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The MoveIt backend's ROS side.

The PoseStamped factory; the GripperCommand client against a stand-in gripper controller (a real rclpy action
server over DDS); and the control node executing a grasp through MoveItRobot with a stand-in moveit_py module
and either that gripper controller or a stand-in Robotiq URCap socket on loopback. The GripperCommand tests
need control_msgs, which is not among ROS 2's PyPI wheels: without it they are skipped and the node's
"control_msgs is missing" refusal is tested instead.
"""

import importlib.util
import math
import socketserver
import sys
import threading
import time
import types
import uuid

import numpy as np
import pytest
import rclpy
from action_msgs.msg import GoalStatus
from geometry_msgs.msg import PoseStamped
from pushgrasp_interfaces.action import ExecutePrimitive, MoveTool
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import MultiThreadedExecutor
from rclpy.parameter import Parameter

from pushgrasp_control.backends import BackendUnavailable
from pushgrasp_control.backends.moveit import tool_down_quaternion
from pushgrasp_control.motion import GripperCommand as GripperStep
from pushgrasp_control.motion import RobotError, plan_primitive
from pushgrasp_control.primitives import PrimitiveType, primitive_from_pixel
from pushgrasp_control.ros.control_node import ControlNode
from pushgrasp_control.ros.conversions import msg_to_primitive, pose_stamped, primitive_to_msg
from pushgrasp_control.ros.gripper_action import GripperActionClient
from pushgrasp_control.ros.moveit_backend import MoveItSettings, make_gripper, resolve_gripper
from pushgrasp_perception.ros.testing import ActionHarness, wait_until
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE

try:
    from control_msgs.action import GripperCommand
except ImportError:
    GripperCommand = None

HAS_MOVEIT_PY = importlib.util.find_spec('moveit') is not None
needs_control_msgs = pytest.mark.skipif(
    GripperCommand is None, reason='control_msgs is not installed (it is not among the ROS 2 PyPI wheels)')
pytestmark = pytest.mark.timeout(20)


def fresh_namespace():
    return f'/test_{uuid.uuid4().hex[:8]}'


def grasp_goal(frame, surface=0.05):
    height = np.zeros(DEFAULT_WORKSPACE.shape, np.float32)
    height[112, 112] = surface
    primitive = primitive_from_pixel(PrimitiveType.GRASP, 4, 112, 112, height, DEFAULT_WORKSPACE)
    return ExecutePrimitive.Goal(primitive=primitive_to_msg(primitive, frame))


class Spinner:
    """Nodes spun by a MultiThreadedExecutor in a background thread."""

    def __init__(self):
        self.executor = MultiThreadedExecutor(num_threads=3)
        self.nodes = []
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def add(self, node):
        self.nodes.append(node)
        self.executor.add_node(node)
        return node

    def close(self):
        self.executor.shutdown()
        self.thread.join(timeout=5.0)
        for node in self.nodes:
            node.destroy_node()


@pytest.fixture
def spin(ros):
    spinner = Spinner()
    yield spinner
    spinner.close()


# -- the PoseStamped factory ------------------------------------------------------------------------------------

def test_pose_stamped_builds_the_moveit_goal():
    quaternion = tool_down_quaternion(0.4)
    msg = pose_stamped('base', (0.5, -0.1, 0.3), quaternion)
    assert isinstance(msg, PoseStamped)
    assert msg.header.frame_id == 'base'
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (0, 0)  # the latest transform
    p, q = msg.pose.position, msg.pose.orientation
    assert (p.x, p.y, p.z) == (0.5, -0.1, 0.3)
    np.testing.assert_allclose([q.x, q.y, q.z, q.w], [math.cos(0.2), math.sin(0.2), 0.0, 0.0])
    with pytest.raises(ValueError, match='unit length'):
        pose_stamped('base', (0.5, 0.0, 0.3), (0.0, 0.0, 0.0, 2.0))
    with pytest.raises(ValueError, match='finite'):
        pose_stamped('base', (math.nan, 0.0, 0.3), (0.0, 0.0, 0.0, 1.0))
    with pytest.raises(ValueError, match='3 finite coordinates'):
        pose_stamped('base', (0.5, 0.0), (0.0, 0.0, 0.0, 1.0))


# -- the gripper choice -----------------------------------------------------------------------------------------

def test_gripper_choice_per_robot_model():
    assert resolve_gripper(MoveItSettings(robot_model='ur5')) == ('robotiq_socket', '')
    assert resolve_gripper(MoveItSettings(robot_model='hsr')) == ('gripper_action', '/gripper_controller/grasp')
    assert resolve_gripper(MoveItSettings(robot_model='ur5', gripper='gripper_action')) == \
        ('gripper_action', '/robotiq_gripper_controller/gripper_cmd')
    assert resolve_gripper(MoveItSettings(robot_model='hsr', gripper='gripper_action', gripper_action='hand')) == \
        ('gripper_action', 'hand')
    assert resolve_gripper(MoveItSettings(robot_model='hsr', gripper='none')) == ('none', '')
    assert make_gripper(None, MoveItSettings(gripper='none')) is None
    with pytest.raises(ValueError, match='needs robot_ip'):
        make_gripper(None, MoveItSettings(gripper='robotiq_socket', robot_ip=''))
    with pytest.raises(ValueError, match='unknown gripper'):
        resolve_gripper(MoveItSettings(gripper='suction'))
    with pytest.raises(ValueError, match='unknown robot_model'):
        resolve_gripper(MoveItSettings(robot_model='ur10'))


# -- a stand-in gripper controller: a GripperCommand action server over DDS --------------------------------------

class FakeGripperController:
    """A GripperActionController stand-in: records goals; closing fingers stall on an object at `object_at`.

    Positions are in the controller's units; `closed` is the fully closed position. A stall succeeds when
    `allow_stalling`, else aborts (ros2_control's behaviour). `hang`: goals never finish until canceled.
    """

    def __init__(self, namespace, name='gripper_cmd', *, start=0.0, closed=0.0, object_at=None,
                 allow_stalling=True, hang=False, accept=True, log=None):
        self.node = rclpy.create_node('fake_gripper_controller', namespace=namespace)
        self.goals, self.position, self.closed = [], start, closed
        self.object_at, self.allow_stalling, self.hang, self.accept = object_at, allow_stalling, hang, accept
        self.log = log if log is not None else []
        self.canceled = threading.Event()
        self.server = ActionServer(
            self.node, GripperCommand, name, execute_callback=self._execute,
            goal_callback=lambda goal: GoalResponse.ACCEPT if self.accept else GoalResponse.REJECT,
            cancel_callback=lambda handle: CancelResponse.ACCEPT, callback_group=ReentrantCallbackGroup())

    def _execute(self, handle):
        command = handle.request.command
        self.goals.append((command.position, command.max_effort))
        self.log.append(('gripper', command.position))
        if self.hang:
            while not handle.is_cancel_requested:
                time.sleep(0.01)
            self.canceled.set()
            handle.canceled()
            return GripperCommand.Result(position=self.position)
        target, stalled = command.position, False
        closing = abs(target - self.closed) < abs(self.position - self.closed)
        if closing and self.object_at is not None and \
                min(self.position, target) < self.object_at < max(self.position, target):
            target, stalled = self.object_at, True
        self.position = target
        result = GripperCommand.Result(position=target, effort=command.max_effort if stalled else 0.0,
                                       stalled=stalled, reached_goal=not stalled)
        if stalled and not self.allow_stalling:
            handle.abort()
        else:
            handle.succeed()
        return result


def gripper_client(spin, namespace, **kwargs):
    node = spin.add(rclpy.create_node('gripper_client', namespace=namespace))
    return GripperActionClient(node, 'gripper_cmd', **kwargs)


@needs_control_msgs
def test_gripper_action_opens_closes_and_reports_the_width(spin):
    namespace = fresh_namespace()
    controller = FakeGripperController(namespace, start=0.0)
    spin.add(controller.node)
    gripper = gripper_client(spin, namespace, max_effort=25.0)
    with pytest.raises(RobotError, match='reported no width yet'):
        gripper.width()
    gripper.open()
    assert controller.goals == [(0.085, 25.0)]
    assert gripper.width() == pytest.approx(0.085)
    assert gripper.reached_goal and not gripper.stalled
    assert gripper.close() == 0.0  # nothing between the fingers: fully closed
    assert controller.goals[-1] == (0.0, 25.0)
    assert gripper.width() == 0.0


@needs_control_msgs
@pytest.mark.parametrize('allow_stalling', [True, False])
def test_a_close_stalled_on_an_object_reports_its_width(spin, allow_stalling):
    # A gripper whose position is a finger angle: 0 rad open (85 mm), 0.8 rad closed.
    namespace = fresh_namespace()
    controller = FakeGripperController(namespace, start=0.0, closed=0.8, object_at=0.5,
                                       allow_stalling=allow_stalling)
    spin.add(controller.node)
    gripper = gripper_client(spin, namespace, open_position=0.0, closed_position=0.8, open_width=0.085)
    width = gripper.close()
    assert controller.goals == [(0.8, 10.0)]
    assert width == pytest.approx(0.085 * 0.3 / 0.8) and gripper.width() == width
    assert gripper.stalled and not gripper.reached_goal
    gripper.open()
    assert controller.goals[-1] == (0.0, 10.0) and gripper.width() == pytest.approx(0.085)


@needs_control_msgs
def test_rejected_and_unfinished_goals_raise(spin):
    namespace = fresh_namespace()
    controller = FakeGripperController(namespace, accept=False)
    spin.add(controller.node)
    gripper = gripper_client(spin, namespace, motion_timeout=0.5)
    with pytest.raises(RobotError, match='rejected the close goal'):
        gripper.close()
    controller.accept, controller.hang = True, True
    started = time.monotonic()
    with pytest.raises(RobotError, match=r'the open did not finish within 0.5 s \(goal canceled\)'):
        gripper.open()
    assert time.monotonic() - started >= 0.5
    assert controller.canceled.wait(2.0)


@needs_control_msgs
def test_a_missing_server_raises_after_the_timeout(spin):
    namespace = fresh_namespace()
    gripper = gripper_client(spin, namespace, server_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(RobotError, match=rf'no control_msgs/action/GripperCommand action server {namespace}'
                                         r'/gripper_cmd within 0.5 s \(is the gripper controller running\?\)'):
        gripper.close()
    assert time.monotonic() - started >= 0.5
    # An action of another type under that name (e.g. an effort-only grasp action) is named in the error.
    # It lives in another context (DDS participant): one participant refuses a name with two types.
    context = rclpy.Context()
    context.init()
    other = rclpy.create_node('other_gripper', namespace=namespace, context=context)
    try:
        server = ActionServer(other, MoveTool, 'gripper_cmd', lambda handle: MoveTool.Result())
        assert wait_until(lambda: ('other_gripper', namespace) in spin.nodes[-1].get_node_names_and_namespaces())
        with pytest.raises(RobotError, match='is served with type pushgrasp_interfaces/action/MoveTool'):
            gripper.open()
        server.destroy()
    finally:
        other.destroy_node()
        context.shutdown()


@pytest.mark.skipif(GripperCommand is not None, reason='control_msgs is installed')
def test_without_control_msgs_the_client_says_what_to_install(ros):
    node = rclpy.create_node('gripper_client', namespace=fresh_namespace())
    try:
        with pytest.raises(BackendUnavailable, match='control_msgs is missing .*ros-jazzy-control-msgs'):
            GripperActionClient(node, 'gripper_cmd')
    finally:
        node.destroy_node()


# -- the control node with the moveit backend -------------------------------------------------------------------

class FakePlanningComponent:
    def __init__(self, log):
        self.log = log

    def set_start_state_to_current_state(self):
        self.log.append(('start',))

    def set_goal_state(self, pose_stamped_msg, pose_link):
        self.log.append(('goal', pose_stamped_msg, pose_link))

    def plan(self, single_plan_parameters):
        self.log.append(('plan', vars(single_plan_parameters).copy()))
        return types.SimpleNamespace(trajectory='trajectory')


class FakeMoveItPy:
    """moveit_py's MoveItPy: records planning and execution in a log shared with the gripper stand-ins."""

    def __init__(self, node_name, log):
        self.node_name, self.log, self.groups = node_name, log, []

    def get_planning_component(self, group):
        self.groups.append(group)
        return FakePlanningComponent(self.log)

    def execute(self, trajectory, controllers):
        self.log.append(('execute', trajectory, controllers))

    def get_trajactory_execution_manager(self):
        return types.SimpleNamespace(stop_execution=lambda: self.log.append(('stop_execution',)))


@pytest.fixture
def fake_moveit(monkeypatch):
    """A stand-in `moveit.planning` module (MoveItPy, PlanRequestParameters) in place of moveit_py."""
    state = types.SimpleNamespace(log=[], instances=[])

    def moveit_py(node_name):
        state.instances.append(FakeMoveItPy(node_name, state.log))
        return state.instances[-1]

    planning = types.ModuleType('moveit.planning')
    planning.MoveItPy = moveit_py
    planning.PlanRequestParameters = lambda moveit: types.SimpleNamespace()
    package = types.ModuleType('moveit')
    package.planning = planning
    monkeypatch.setitem(sys.modules, 'moveit', package)
    monkeypatch.setitem(sys.modules, 'moveit.planning', planning)
    return state


class URCapServer:
    """The Robotiq URCap socket on loopback: answers SET/GET like a 2F-85 that stops on an object at `stop_at`."""

    def __init__(self, stop_at, log):
        self.var = {'STA': 0, 'ACT': 0, 'GTO': 0, 'POS': 0, 'PRE': 0, 'OBJ': 0, 'SPE': 0, 'FOR': 0}
        self.stop_at, self.log = stop_at, log
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                for raw in self.rfile:
                    self.wfile.write(fake.answer(raw.decode().strip()).encode() + b'\n')

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True

        self.server = Server(('127.0.0.1', 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, line):
        words = line.split()
        if words[0] == 'GET':
            return f'{words[1]} {self.var[words[1]]}'
        name, value = words[1], int(words[2])
        self.var[name] = value
        if name == 'ACT' and value == 1:
            self.var['STA'] = 3
        if name == 'POS':
            self.var['PRE'] = value
            self.log.append(('gripper', value))
        if name == 'GTO' and value == 1 and self.var['STA'] == 3:
            closing_on_object = self.var['PRE'] > self.stop_at
            self.var['POS'] = self.stop_at if closing_on_object else self.var['PRE']
            self.var['OBJ'] = 2 if closing_on_object else 3
        return 'ack'

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def check_grasp_sequence(log, node, goal, frame, tip, tcp_offset, open_command, close_command):
    """Check that each waypoint of the grasp is a Pilz LIN plan and execution, then its gripper command."""
    plan = plan_primitive(msg_to_primitive(goal.primitive), node.limits)
    assert plan.release and plan.park  # the object is held, so it is taken to the drop position
    expected, seen = [], []
    for waypoint in plan.waypoints + plan.release + plan.park:
        expected.append(('move', [*(waypoint.position + [0.0, 0.0, tcp_offset]), waypoint.yaw]))
        if waypoint.gripper == GripperStep.OPEN:
            expected.append(('gripper', open_command))
        elif waypoint.gripper == GripperStep.CLOSE:
            expected.append(('gripper', close_command))
    for index, entry in enumerate(log):
        if entry[0] == 'goal':
            _, msg, link = entry
            assert isinstance(msg, PoseStamped) and msg.header.frame_id == frame and link == tip
            assert [e[0] for e in log[index - 1:index + 3]] == ['start', 'goal', 'plan', 'execute']
            params = log[index + 1][1]
            assert (params['planning_pipeline'], params['planner_id']) == ('pilz_industrial_motion_planner', 'LIN')
            p, q = msg.pose.position, msg.pose.orientation
            yaw = 2.0 * math.atan2(q.y, q.x)
            np.testing.assert_allclose([q.x, q.y, q.z, q.w], tool_down_quaternion(yaw), atol=1e-12)
            seen.append(('move', [p.x, p.y, p.z, yaw]))
        elif entry[0] == 'gripper':
            seen.append(entry)
    assert [tag for tag, _ in seen] == [tag for tag, _ in expected]
    for (tag, value), (_, wanted) in zip(seen, expected, strict=True):
        assert value == pytest.approx(wanted, abs=1e-9), f'{tag}: {value} != {wanted}'


def test_control_node_grasps_through_moveit_and_the_robotiq_socket(ros, fake_moveit):
    urcap = URCapServer(stop_at=153, log=fake_moveit.log)
    harness = ActionHarness(ControlNode, ExecutePrimitive, 'execute_primitive', backend='moveit',
                            robot_model='ur5', base_frame='base', moveit_tcp_offset=0.16,
                            moveit_node_name='moveit_under_test', gripper='robotiq_socket', robot_ip='127.0.0.1',
                            robotiq_port=urcap.port)
    try:
        assert harness.node.setup_error == ''
        assert [(m.node_name, m.groups) for m in fake_moveit.instances] == [('moveit_under_test', ['ur_manipulator'])]
        goal = grasp_goal('base')
        status, result = harness.run(goal)
        assert status == GoalStatus.STATUS_SUCCEEDED, result.error
        assert result.success and result.grasp_width == pytest.approx(0.085 * (255 - 153) / 255)
        check_grasp_sequence(fake_moveit.log, harness.node, goal, 'base', 'tool0', 0.16, 0, 255)
    finally:
        if harness.node.robot is not None:
            harness.node.robot.gripper.close_connection()
        harness.close()
        urcap.close()


@needs_control_msgs
def test_control_node_grasps_through_moveit_and_the_gripper_action(ros, fake_moveit, spin):
    # The HSR: fingers at 0 (closed) .. 1 (open, 100 mm); an object stops them at 0.4 (40 mm).
    harness = ActionHarness(ControlNode, ExecutePrimitive, 'execute_primitive', backend='moveit',
                            robot_model='hsr', base_frame='base_footprint', moveit_tcp_offset=0.12,
                            gripper_action='gripper_controller/grasp', gripper_open_position=1.0,
                            gripper_closed_position=0.0, gripper_open_width=0.1, gripper_max_effort=5.0,
                            gripper_timeout=3.0)
    try:
        controller = FakeGripperController(harness.namespace, 'gripper_controller/grasp', start=0.0, closed=0.0,
                                           object_at=0.4, log=fake_moveit.log)
        spin.add(controller.node)
        assert harness.node.setup_error == ''
        assert [m.groups for m in fake_moveit.instances] == [['arm']]
        goal = grasp_goal('base_footprint')
        status, result = harness.run(goal)
        assert status == GoalStatus.STATUS_SUCCEEDED, result.error
        assert result.success and result.grasp_width == pytest.approx(0.04)
        assert {effort for _, effort in controller.goals} == {5.0}
        check_grasp_sequence(fake_moveit.log, harness.node, goal, 'base_footprint', 'hand_palm_link', 0.12, 1.0, 0.0)
    finally:
        harness.close()


@pytest.mark.parametrize(('parameters', 'reason'), [
    ({'base_frame': 'base', 'moveit_tcp_offset': 0.16, 'robot_model': 'ur10'}, "unknown robot_model 'ur10'"),
    ({'base_frame': 'base'}, 'needs moveit_tcp_offset'),
    ({'moveit_tcp_offset': 0.16}, "plans the ur5 in frame 'base', but primitives are given in base_frame 'base_link'"),
    pytest.param({'robot_model': 'hsr', 'base_frame': 'base_footprint', 'moveit_tcp_offset': 0.12},
                 'control_msgs is missing',
                 marks=pytest.mark.skipif(GripperCommand is not None, reason='control_msgs is installed')),
])
def test_control_node_refuses_a_misconfigured_moveit_backend(ros, fake_moveit, parameters, reason):
    overrides = [Parameter(name, value=value) for name, value in {'backend': 'moveit', **parameters}.items()]
    node = ControlNode(namespace=fresh_namespace(), parameter_overrides=overrides)
    try:
        assert node.robot is None and reason in node.setup_error
    finally:
        node.destroy_node()


@pytest.mark.skipif(HAS_MOVEIT_PY, reason='moveit_py is installed')
def test_without_moveit_py_the_node_stays_up_and_aborts_goals_with_the_reason(ros):
    harness = ActionHarness(ControlNode, ExecutePrimitive, 'execute_primitive', backend='moveit',
                            robot_model='hsr', base_frame='base_footprint', moveit_tcp_offset=0.12)
    try:
        for _ in range(2):
            status, result = harness.run(grasp_goal('base_footprint'))
            assert status == GoalStatus.STATUS_ABORTED
            assert 'not available: moveit_py is missing' in result.error and 'ros-jazzy-moveit-py' in result.error
    finally:
        harness.close()

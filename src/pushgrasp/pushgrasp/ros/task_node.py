# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The task node: the loop a user runs to clear a table with the policy and control nodes.

Per action: wait for a heightmap stamped after the previous action, ask the policy for a primitive
(`select_primitive`), have the control node execute it (`execute_primitive`), wait for the heightmap after it,
publish the Transition and log the step. The episode ends when the workspace is clear, after
`max_consecutive_failures` failed actions in a row, or when `max_actions` are spent (see `pushgrasp.task` for
the rules and the metrics); then its metrics are published. A missing server, a rejected, aborted or timed-out
goal and a missing heightmap are logged with the reason and count as failed actions; the node stays up.

Goal mode (`goal_color` set, e.g. 'red'): every SelectPrimitive goal is a GOAL_COLOR goal for that colour, and the
episode is about that one object: it ends when the object was picked (a successful grasp after which the colour
is no longer seen in the heightmap), when it is lost (no longer seen although no grasp took it: pushed out or
hidden; or not seen at the start), or by the usual failure and budget rules (`pushgrasp.task`). Its metrics
gain goal, goal_picked and motion_number.

Subscribes:  heightmap (pushgrasp_interfaces/Heightmap), keeping only the newest.
Action clients: select_primitive (SelectPrimitive), execute_primitive (ExecutePrimitive).
Service clients, used when they exist (the simulator): sim/get_object_poses (count the objects before and
             after every action), sim/reset (a new scene before every episode but the node's first); and
             publish_heightmap (std_srvs/Trigger; only with `request_heightmap`, for a perception node that
             publishes on request).
Publishes:   transitions (pushgrasp_interfaces/Transition): one per primitive sent to the control node;
             task/episode (std_msgs/String, transient local): the JSON metrics of every finished episode
             (`pushgrasp.task.Episode.metrics`).
Service:     task/run_episode (std_srvs/Trigger): start `episodes` episodes now (answers at once; refused while
             episodes run). With `autostart` they start when the node starts.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from action_msgs.msg import GoalStatus
from pushgrasp_interfaces.action import ExecutePrimitive, SelectPrimitive
from pushgrasp_interfaces.msg import Heightmap as HeightmapMsg
from pushgrasp_interfaces.msg import Transition
from pushgrasp_interfaces.srv import GetObjectPoses, ResetScene
from rclpy.action import ActionClient
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Header, String
from std_srvs.srv import Trigger

from pushgrasp.task import ActionOutcome, ColorGoal, Episode
from pushgrasp_control.ros.conversions import msg_to_primitive
from pushgrasp_perception.ros.conversions import msg_to_heightmap, stamp_to_ns
from pushgrasp_perception.ros.node_main import spin_node
from pushgrasp_perception.ros.parameters import ParamSpec, declare_parameters
from pushgrasp_perception.ros.topics import HEIGHTMAP_TOPIC
from pushgrasp_policy.change import changed_cells, workspace_empty
from pushgrasp_policy.evaluation import EvaluationConfig, trial_seed

TRANSITIONS_TOPIC = 'transitions'
"""pushgrasp_interfaces/Transition: one per primitive sent to the control node."""
EPISODE_TOPIC = 'task/episode'
"""std_msgs/String (transient local): the JSON metrics of each finished episode."""
RUN_EPISODE_SERVICE = 'task/run_episode'
"""std_srvs/Trigger: start `episodes` episodes."""

HEIGHTMAP_QOS = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE)
TRANSITION_QOS = QoSProfile(depth=10, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE)
# A late subscriber (a report, a recorder started afterwards) still gets the last episode's metrics.
EPISODE_QOS = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)
RECHECK_S = 0.1
"""Waits re-check conditions nobody announces (a server appearing) this often, seconds."""
SIM_DISCOVERY_S = 2.0
"""How long the first episode waits for the simulator's services to be discovered, seconds."""
STATUS_NAMES = {GoalStatus.STATUS_SUCCEEDED: 'succeeded', GoalStatus.STATUS_ABORTED: 'aborted',
                GoalStatus.STATUS_CANCELED: 'canceled'}


@dataclass
class GoalOutcome:
    """How an action goal went."""

    accepted: bool = False
    """The server accepted the goal (so the robot may have moved)."""
    status: int = GoalStatus.STATUS_UNKNOWN
    result: Any = None
    """The action's result message, when one came."""
    error: str = ''
    """Why the goal did not succeed (no server, rejected, timed out, aborted, canceled); empty on success."""


class TaskNode(Node):
    """Runs episodes of select-execute-observe against the policy and control nodes (see the module docstring)."""

    PARAMETERS: tuple[ParamSpec, ...] = (
        ParamSpec('autostart', False, 'Start `episodes` episodes as soon as the node is up (else wait for '
                  f'{RUN_EPISODE_SERVICE}).', read_only=True),
        ParamSpec('episodes', 1, 'Episodes per start (autostart or a task/run_episode call); 0: run forever. '
                  'Before every episode but the first the simulated scene is reset, when sim/reset exists.'),
        ParamSpec('max_actions', 30, 'Action budget of an episode (attempts, failed ones included).'),
        ParamSpec('max_consecutive_failures', 10,
                  'End the episode after this many failed actions in a row (nothing changed or picked, '
                  'or not executed).'),
        ParamSpec('explore', False, 'Ask the policy for epsilon-greedy choices on every action.'),
        ParamSpec('explore_after_failure', True,
                  'Ask the policy to explore on the action after a failed one, rather than repeat the choice.'),
        ParamSpec('seed', 0, 'Seed of the scenes the simulator is reset to between episodes: episode k gets '
                  'pushgrasp_policy.evaluation.trial_seed(seed, 0, k).'),
        ParamSpec('scene_num_objects', 10, 'Random objects of a reset scene (simulator only).'),
        ParamSpec('scene_test_case_file', '', 'A test-case file for reset scenes instead of random objects '
                  '(simulator only).'),
        ParamSpec('goal_color', '', 'Goal mode: the colour of the one object to pick, a colour name (red, blue, ...) '
                  'or "R,G,B" in 0..255; empty: clear the workspace. Read when an episode starts.'),
        ParamSpec('goal_color_tolerance', 0.0, 'Goal mode: largest colour distance (0..255) counted as the goal '
                  "colour; 0: the colour segmentation's default."),
        ParamSpec('base_frame', 'base_link', 'Robot base frame: frame_id of the transitions.', read_only=True),
        ParamSpec('request_heightmap', False, 'Call publish_heightmap (std_srvs/Trigger) for every fresh heightmap, '
                  'for a perception node that publishes only on request.', read_only=True),
        ParamSpec('startup_timeout', 60.0, 'Seconds an episode waits for a heightmap and the policy and control '
                  'servers before it starts anyway (each missing piece then fails actions).'),
        ParamSpec('heightmap_timeout', 10.0, 'Seconds to wait for a heightmap newer than the last action.'),
        ParamSpec('server_timeout', 5.0, 'Seconds to wait for a missing action server before the action fails.'),
        ParamSpec('select_timeout', 30.0, 'Seconds for the policy to answer a select_primitive goal.'),
        ParamSpec('execute_timeout', 120.0, 'Seconds for an execute_primitive goal; then it is canceled (the '
                  'robot stops) and the action fails.'),
        ParamSpec('service_timeout', 30.0, 'Seconds for the simulator services (sim/reset, sim/get_object_poses).'),
    )

    def __init__(self, node_name: str = 'task', **kwargs: Any) -> None:
        """Declare parameters, create the clients, publishers and the run service; start episodes on autostart."""
        super().__init__(node_name, **kwargs)
        params = declare_parameters(self, self.PARAMETERS)
        self._base_frame: str = params['base_frame']
        self._wake = threading.Condition()
        self._state_lock = threading.Lock()
        self._running = False
        """Episodes were asked for and have not finished."""
        self._in_episodes = False
        """The episode callback is executing (an executor thread is inside it)."""
        self._closing = False
        self._sim_checked = False
        self._scene_seed: int = params['seed']
        """Seed of the current scene: the graph's first scene has the node's seed, reset scenes their own."""
        self._latest: HeightmapMsg | None = None
        self._active_goal: Any = None
        self.episodes_started = 0
        """Episodes begun in the node's life (the next episode's id)."""
        self.episode: Episode | None = None
        """The running or last episode."""
        self.last_metrics: dict[str, Any] | None = None

        # Clients' callbacks (results, feedback, heightmaps) must run while the episode waits for them.
        clients = ReentrantCallbackGroup()
        self._subscription = self.create_subscription(HeightmapMsg, HEIGHTMAP_TOPIC, self._on_heightmap,
                                                      HEIGHTMAP_QOS, callback_group=clients)
        self._select = ActionClient(self, SelectPrimitive, 'select_primitive', callback_group=clients)
        self._execute = ActionClient(self, ExecutePrimitive, 'execute_primitive', callback_group=clients)
        self._object_poses = self.create_client(GetObjectPoses, 'sim/get_object_poses', callback_group=clients)
        self._reset_scene = self.create_client(ResetScene, 'sim/reset', callback_group=clients)
        self._heightmap_request = self.create_client(Trigger, 'publish_heightmap', callback_group=clients) \
            if params['request_heightmap'] else None
        self._transitions = self.create_publisher(Transition, TRANSITIONS_TOPIC, TRANSITION_QOS)
        self._episodes = self.create_publisher(String, EPISODE_TOPIC, EPISODE_QOS)
        self.create_service(Trigger, RUN_EPISODE_SERVICE, self._on_run_episode, callback_group=clients)
        # Episodes run in their own callback (one at a time), started by triggering this guard condition.
        self._start = self.create_guard_condition(self._run_episodes, callback_group=MutuallyExclusiveCallbackGroup())
        if params['autostart']:
            self._running = True
            self._start.trigger()
        start = 'now' if params['autostart'] else f'when {self.resolve_service_name(RUN_EPISODE_SERVICE)} is called'
        self.get_logger().info(f'task node ready; episodes start {start}')

    # --- life cycle ----------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether episodes were asked for and have not finished yet."""
        with self._state_lock:
            return self._running

    def stop(self) -> None:
        """Stop for good: end the episode at its next wait, cancel the goal in flight (the robot stops)."""
        with self._state_lock:
            self._closing = True
            goal = self._active_goal
        if goal is not None:
            goal.cancel_goal_async()
        self._notify()

    def destroy_node(self) -> None:
        """Stop the episode, then destroy the node."""
        self.stop()
        deadline = time.monotonic() + 2.0
        while self._in_episodes and time.monotonic() < deadline:
            with self._wake:
                self._wake.wait(RECHECK_S)
        super().destroy_node()

    def _on_run_episode(self, _request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        with self._state_lock:
            busy, closing = self._running, self._closing
            if not busy and not closing:
                self._running = True
        if closing:
            response.success, response.message = False, 'the task node is shutting down'
        elif busy:
            episode = self.episode
            response.success = False
            response.message = 'an episode is already running' + (
                f' (episode {episode.episode_id}, {episode.actions} actions so far)' if episode else '')
        else:
            self._start.trigger()
            count = self._param('episodes')
            response.success = True
            response.message = f'starting {count if count else "endless"} episode{"" if count == 1 else "s"} ' \
                               f'from episode {self.episodes_started}'
        return response

    # --- waiting without blocking the other callbacks ------------------------------------------------------
    def _notify(self, *_: Any) -> None:
        with self._wake:
            self._wake.notify_all()

    def _wait(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Wait until `condition()` holds; False on timeout or when the node stops."""
        deadline = time.monotonic() + timeout
        with self._wake:
            while not self._closing:
                if condition():
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._wake.wait(min(remaining, RECHECK_S))
        return False

    def _wait_future(self, future: Any, timeout: float) -> bool:
        future.add_done_callback(self._notify)
        return self._wait(future.done, timeout)

    def _param(self, name: str) -> Any:
        return self.get_parameter(name).value

    def _on_heightmap(self, msg: HeightmapMsg) -> None:
        self._latest = msg
        self._notify()

    # --- episodes ------------------------------------------------------------------------------------------
    def _run_episodes(self) -> None:
        self._in_episodes = True
        try:
            count = self._param('episodes')
            done = 0
            while not self._closing and (count <= 0 or done < count):
                try:
                    rules, goal = self._rules(), self._goal()
                except ValueError as error:  # e.g. max_actions 0 or an unknown goal colour: fix the parameter first
                    self.get_logger().error(f'episode {self.episodes_started} not started: {error}')
                    break
                self._run_episode(rules, goal)
                done += 1
        except Exception as error:  # the node must stay up whatever an episode met
            self.get_logger().error(f'episode stopped by an internal error: {error!r}')
        finally:
            with self._state_lock:
                self._running = False
            self._in_episodes = False
            self._notify()

    def _rules(self) -> EvaluationConfig:
        return EvaluationConfig(max_actions=self._param('max_actions'),
                                max_consecutive_failures=self._param('max_consecutive_failures'))

    def _goal(self) -> ColorGoal | None:
        """Return the goal of goal mode, None without one; ValueError (GoalError) for a colour that is not one."""
        color = self._param('goal_color').strip()
        if not color:
            return None
        return ColorGoal(color, float(self._param('goal_color_tolerance')))

    def _run_episode(self, rules: EvaluationConfig, goal: ColorGoal | None) -> None:
        episode_id = self.episodes_started
        self.episodes_started += 1
        self._wait_for_graph(self._param('startup_timeout'))
        if episode_id > 0 and self._reset_scene.service_is_ready():
            self._reset(episode_id)
        started_ns = self.get_clock().now().nanoseconds
        initial = self._objects_inside()
        case = (Path(self._param('scene_test_case_file')).stem or f'random{self._param("scene_num_objects")}') \
            if initial is not None else ''
        episode = Episode(episode_id, self._scene_seed, rules, initial, case=case, goal=goal)
        self.episode = episode
        state = self._fresh_heightmap(started_ns, self._param('heightmap_timeout'))
        try:
            if state is not None:
                heightmap = msg_to_heightmap(state)
                episode.start_on_heightmap(workspace_empty(heightmap.height), episode.goal_visible_in(heightmap))
        except ValueError as error:
            self.get_logger().warning(f'malformed heightmap: {error}')
            state = None
        source = f'{len(initial)} objects (simulator)' if initial is not None else 'objects not counted (no simulator)'
        aim = f'goal: pick {goal.describe()}' if goal is not None else 'clear the workspace'
        self.get_logger().info(f'episode {episode_id} starts ({aim}): {source}, budget {episode.budget} actions, '
                               f'ends after {rules.max_consecutive_failures} failures in a row')
        last_ns = started_ns
        while not episode.done and not self._closing:
            explore = self._param('explore') or (self._param('explore_after_failure') and episode.failures > 0)
            try:
                state, last_ns = self._step(episode, state, last_ns, explore)
            except Exception as error:  # count it, log it, carry on
                self.get_logger().error(f'episode {episode_id}: action failed by an internal error: {error!r}')
                if not episode.done:
                    step = episode.record(ActionOutcome(error=f'internal error: {error}', explore=explore))
                    self.get_logger().warning(episode.describe_step(step))
                state, last_ns = None, self.get_clock().now().nanoseconds
        if not episode.done:
            episode.end('stopped: the task node is shutting down')
        self._publish_metrics(episode)

    def _wait_for_graph(self, timeout: float) -> None:
        needs = {f'a heightmap on {self._subscription.topic_name}': lambda: self._latest is not None,
                 'the policy server select_primitive': self._select.server_is_ready,
                 'the control server execute_primitive': self._execute.server_is_ready}
        missing = [name for name, ready in needs.items() if not ready()]
        if missing:
            self.get_logger().info(f'waiting up to {timeout:.0f} s for {", ".join(missing)}')
            if not self._wait(lambda: all(ready() for ready in needs.values()), timeout) and not self._closing:
                missing = [name for name, ready in needs.items() if not ready()]
                self.get_logger().warning(f'still missing after {timeout:.0f} s: {", ".join(missing)}; starting '
                                          'anyway (what is missing fails the actions that need it)')
        if not self._sim_checked:
            # The simulator, when there is one, has been up since its camera fed the first heightmap.
            self._sim_checked = True
            if self._latest is not None:
                self._wait(self._object_poses.service_is_ready, SIM_DISCOVERY_S)

    def _reset(self, episode_id: int) -> None:
        """Reset the simulated scene for episode `episode_id` (seed `trial_seed(seed, 0, episode_id)`)."""
        seed = trial_seed(max(self._param('seed'), 0), 0, episode_id)
        case = self._param('scene_test_case_file')
        request = ResetScene.Request(seed=seed, num_objects=max(self._param('scene_num_objects'), 0),
                                     scene_type=ResetScene.Request.TEST_CASE if case else ResetScene.Request.RANDOM,
                                     test_case_file=case)
        future = self._reset_scene.call_async(request)
        if not self._wait_future(future, self._param('service_timeout')):
            self.get_logger().warning('sim/reset did not answer; the episode runs on the current scene')
        elif not future.result().success:
            self.get_logger().warning(f'sim/reset failed ({future.result().message}); the episode runs on the '
                                      'current scene')
        else:
            self._scene_seed = seed
            self.get_logger().info(f'scene reset: {future.result().message}')

    def _objects_inside(self) -> set[int] | None:
        """Ids of the objects inside the workspace, from the simulator; None without one or when it fails."""
        if not self._object_poses.service_is_ready():
            return None
        future = self._object_poses.call_async(GetObjectPoses.Request())
        if not self._wait_future(future, self._param('service_timeout')):
            self.get_logger().warning('sim/get_object_poses did not answer; objects not counted this time')
            return None
        response = future.result()
        if not response.success:
            self.get_logger().warning(f'sim/get_object_poses failed: {response.message}')
            return None
        return {int(o.id) for o in response.objects if o.inside_workspace}

    def _fresh_heightmap(self, after_ns: int, timeout: float) -> HeightmapMsg | None:
        """Wait for a heightmap stamped after `after_ns` (the scene after the last action); None if none came."""
        if self._heightmap_request is not None and self._heightmap_request.service_is_ready():
            self._heightmap_request.call_async(Trigger.Request())

        def fresh() -> bool:
            latest = self._latest
            return latest is not None and stamp_to_ns(latest.header.stamp) > after_ns
        return self._latest if self._wait(fresh, timeout) else None

    def _call(self, client: ActionClient, goal: Any, timeout: float, name: str,
              feedback: Callable[[Any], None] | None = None) -> GoalOutcome:
        """Send `goal` and wait for its result (a goal without a result within `timeout` is canceled)."""
        if not client.server_is_ready() and not self._wait(client.server_is_ready, self._param('server_timeout')):
            return GoalOutcome(error=f'{name}: no action server (is its node running?)')
        sent = client.send_goal_async(goal, feedback_callback=feedback)
        if not self._wait_future(sent, timeout):
            # Should the goal be accepted later, cancel it: nobody waits for it any more.
            sent.add_done_callback(lambda f: f.result().cancel_goal_async() if f.result().accepted else None)
            return GoalOutcome(error=f'{name}: the server did not answer the goal within {timeout:g} s')
        handle = sent.result()
        if not handle.accepted:
            return GoalOutcome(error=f'{name}: goal rejected by the server')
        with self._state_lock:
            self._active_goal = handle
        try:
            future = handle.get_result_async()
            if not self._wait_future(future, timeout):
                handle.cancel_goal_async()
                why = 'the task node stopped' if self._closing else f'no result within {timeout:g} s'
                return GoalOutcome(accepted=True, error=f'{name}: {why}; goal canceled')
        finally:
            with self._state_lock:
                self._active_goal = None
        response = future.result()
        outcome = GoalOutcome(accepted=True, status=response.status, result=response.result)
        if response.status != GoalStatus.STATUS_SUCCEEDED:
            reason = getattr(response.result, 'error', '') or getattr(response.result, 'message', '')
            outcome.error = f'{name} {STATUS_NAMES.get(response.status, f"status {response.status}")}: ' \
                            f'{reason or "no reason given"}'
        return outcome

    def _step(self, episode: Episode, state: HeightmapMsg | None, last_ns: int,
              explore: bool) -> tuple[HeightmapMsg | None, int]:
        """Attempt one action and record it; return the heightmap to decide on next and when the action ended."""
        if state is None:
            state = self._fresh_heightmap(last_ns, self._param('heightmap_timeout'))
            if state is not None and episode.goal is not None:  # the goal's fate after an unobserved action
                episode.observe_goal(bool(episode.goal_visible_in(msg_to_heightmap(state))))
                if episode.done:
                    self.get_logger().info(f'episode {episode.episode_id}: {episode.result.reason}')
                    return state, last_ns
        if state is None:
            return self._failed(episode, f'no heightmap newer than the last action within '
                                         f'{self._param("heightmap_timeout"):g} s on {self._subscription.topic_name}',
                                explore)
        # Decide.
        request = SelectPrimitive.Goal(heightmap=state, explore=explore)
        if episode.goal is not None:
            request.goal_type = SelectPrimitive.Goal.GOAL_COLOR
            request.goal_color, request.goal_color_tolerance = episode.goal.color, episode.goal.tolerance
        started = time.monotonic()
        selection = self._call(self._select, request, self._param('select_timeout'), 'select_primitive')
        decision_ms = (time.monotonic() - started) * 1000.0
        if selection.error:
            return self._failed(episode, selection.error, explore)
        try:
            primitive = msg_to_primitive(selection.result.primitive)
        except ValueError as error:
            return self._failed(episode, f'select_primitive returned an invalid primitive: {error}', explore)

        # Act.
        phases: list[str] = []

        def on_feedback(msg: Any) -> None:
            name = msg.feedback.phase_name.lower()
            if name and name not in phases:
                phases.append(name)
        started = time.monotonic()
        execution = self._call(self._execute, ExecutePrimitive.Goal(primitive=selection.result.primitive),
                               self._param('execute_timeout'), 'execute_primitive', on_feedback)
        execution_s = time.monotonic() - started
        ended_ns = self.get_clock().now().nanoseconds

        # Observe (only when the robot may have moved).
        next_state = cells = empty = goal_visible = None
        error = execution.error
        if execution.accepted:
            next_state = self._fresh_heightmap(ended_ns, self._param('heightmap_timeout'))
            if next_state is None:
                missing = f'no heightmap after the action within {self._param("heightmap_timeout"):g} s'
                error = f'{error}; {missing}' if error else missing
            else:
                before, after = msg_to_heightmap(state), msg_to_heightmap(next_state)
                cells = changed_cells(before.height, after.height) if before.shape == after.shape else None
                empty = workspace_empty(after.height)
                goal_visible = episode.goal_visible_in(after)
        succeeded = execution.status == GoalStatus.STATUS_SUCCEEDED
        outcome = ActionOutcome(
            primitive=primitive, executed=succeeded, grasp_success=succeeded and bool(execution.result.success),
            executor_scene_changed=execution.result is not None and bool(execution.result.scene_changed),
            changed_cells=cells, workspace_empty=empty, goal_visible=goal_visible, error=error, explore=explore,
            decision_ms=decision_ms,
            objects_inside=self._objects_inside() if execution.accepted and episode.objects_known else None,
            execution_s=execution_s if execution.accepted else 0.0, execute_feedback=phases)
        step = episode.record(outcome)
        if step.error:  # (rclpy wants one severity per logging call site)
            self.get_logger().warning(episode.describe_step(step))
        else:
            self.get_logger().info(episode.describe_step(step))
        if next_state is not None:
            self._transitions.publish(Transition(
                header=Header(stamp=self.get_clock().now().to_msg(), frame_id=self._base_frame),
                episode_id=episode.episode_id, step_id=step.step, state=state, action=selection.result.primitive,
                reward=step.reward, next_state=next_state, grasp_success=step.grasp_success,
                scene_changed=step.scene_changed, episode_done=episode.done))
        return next_state, ended_ns

    def _failed(self, episode: Episode, error: str, explore: bool) -> tuple[None, int]:
        step = episode.record(ActionOutcome(error=error, explore=explore))
        self.get_logger().warning(episode.describe_step(step))
        return None, self.get_clock().now().nanoseconds

    def _publish_metrics(self, episode: Episode) -> None:
        metrics = episode.metrics()
        self.last_metrics = metrics
        self.get_logger().info(f'{episode.describe()} ({metrics["wall_time_s"]:.0f} s)')
        try:
            self._episodes.publish(String(data=json.dumps(metrics)))
        except Exception as error:  # e.g. the node is being destroyed
            self.get_logger().warning(f'could not publish the metrics of episode {episode.episode_id}: {error!r}')


def main(args: list[str] | None = None) -> None:
    """Run the task node until shut down."""
    spin_node(TaskNode, args, multithreaded=True)


if __name__ == '__main__':
    main()

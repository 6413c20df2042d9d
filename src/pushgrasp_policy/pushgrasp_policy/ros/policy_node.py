# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The policy node: chooses the next push or grasp on a heightmap through the `select_primitive` action.

Subscribes:  heightmap (pushgrasp_interfaces/Heightmap), keeping only the newest; with `object_labels_topic`
             set, that topic (sensor_msgs/Image 16UC1), keeping the last few (GOAL_ID goals, below).
Action:      select_primitive (pushgrasp_interfaces/SelectPrimitive): feedback per stage (preprocess,
             inference, selection); a cancel is honoured between stages.
Publishes, after every decision (base frame, stamped with the heightmap's stamp; for rviz):
             q_maps/push, q_maps/grasp (sensor_msgs/Image rgb8): the Q-map of each primitive, best over
               rotations, colour-mapped over the colour heightmap (non-finite values left uncoloured);
             q_maps/chosen (sensor_msgs/Image rgb8): the chosen primitive drawn on its type's Q-map at the
               chosen rotation;
             selected_primitive/markers (visualization_msgs/MarkerArray): an arrow for a push, an open
               gripper for a grasp, and a "push q=..." / "grasp q=..." caption.

Goal-oriented requests (goal_type GOAL_MASK, GOAL_COLOR or GOAL_ID): the goal is turned into a mask of the goal
object's heightmap cells (pushgrasp_perception.goal_mask: the given mask, the colour segmentation of the colour
heightmap, or the object labels), and the goal policy chooses a primitive to pick that object
(pushgrasp_policy.goal_policy). The goal policy is the `goal_checkpoint` parameter's: a goal-conditioned agent's
checkpoint, any other policy spec used greedily on the goal, or, empty, the node's own policy used greedily on the
goal (grasps on the goal only, pushes near it). A goal that is not visible in the heightmap, a malformed mask, an
unknown colour and a GOAL_ID without object labels are aborted with the reason; the node stays up. A goal-
conditioned agent counts its pushes since its last grasp; it starts afresh whenever the goal asked for changes.
GOAL_ID is for the simulator: with `object_labels_topic` set (the sim graph: sim/object_labels, which the sim
bridge publishes with every camera frame: 16UC1 at heightmap resolution, object index + 1, 0 where no object is)
the labels stamped like the heightmap are used, else the first ones stamped after it (the scene does not move
while the robot waits for the decision).

With policy 'vpg', a missing, corrupt or incompatible checkpoint is refused at start: the constructor raises
CheckpointError ("cannot load checkpoint ...: <reason>") and `main()` exits with code 1.

On-robot learning (policy 'vpg' with a `learning_dir`): the node also subscribes to `transitions`
(pushgrasp_interfaces/Transition), which the task node publishes after every action. While the `learning`
parameter is true (it can be switched at run time: `ros2 param set /policy learning true`), every transition is
handed to a pushgrasp_policy.online.OnlineLearner, in its own callback group, which learns one step from it and
writes checkpoint.pt and policy.pt into `learning_dir` every `learning_checkpoint_every` steps. The learner shares
the served network: decisions and learning steps take turns under the policy lock, so a decision always sees one
consistent set of weights. A learning directory that already holds a checkpoint is continued at start (its
weights replace those of `checkpoint`). Switching learning off, and stopping the node, writes the steps not yet
checkpointed. A transition that cannot be learned from is logged and skipped.
"""

from __future__ import annotations

import threading

import numpy as np
from pushgrasp_interfaces.action import SelectPrimitive
from pushgrasp_interfaces.msg import Heightmap as HeightmapMsg
from pushgrasp_interfaces.msg import Transition as TransitionMsg
from rcl_interfaces.msg import SetParametersResult
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.action.server import ServerGoalHandle
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from pushgrasp_control.primitives import NUM_ROTATIONS, PUSH_LENGTH
from pushgrasp_control.ros.conversions import primitive_to_msg
from pushgrasp_perception.goal_mask import (GoalError, GoalNotVisible, GoalType, goal_mask_from_spec,
                                            goal_spec_from_message)
from pushgrasp_perception.ros.conversions import image_to_msg, msg_to_heightmap, msg_to_image, ns_to_stamp, stamp_to_ns
from pushgrasp_perception.ros.parameters import ParamSpec, declare_parameters
from pushgrasp_perception.ros.topics import HEIGHTMAP_TOPIC
from pushgrasp_perception.heightmap import Heightmap
from pushgrasp_perception.ros.node_main import spin_node
from pushgrasp_policy.decision import KEEP_PUSHES_INSIDE, Decision
from pushgrasp_policy.goal_policy import GoalPolicy, GreedyGoalPolicy, goal_policy_from_spec
from pushgrasp_policy.policy import Policy, keep_pushes_inside_setting
from pushgrasp_policy.registry import POLICY_NAMES, make_policy
from pushgrasp_policy.ros.markers import primitive_markers
from pushgrasp_policy.visualization import chosen_primitive_overlay, masked_qmap_overlay

# Only the newest heightmap matters; reliable like the perception nodes' publishers, so that a large
# heightmap is not lost to one dropped fragment.
HEIGHTMAP_QOS = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE)
# The pictures of the last decision; transient local, so that an rviz started later still shows them.
VISUALIZATION_QOS = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE,
                               durability=DurabilityPolicy.TRANSIENT_LOCAL)

PUSH_Q_TOPIC = 'q_maps/push'
"""sensor_msgs/Image rgb8: push Q-map (best over rotations) over the colour heightmap."""
GRASP_Q_TOPIC = 'q_maps/grasp'
"""sensor_msgs/Image rgb8: grasp Q-map (best over rotations) over the colour heightmap."""
CHOSEN_Q_TOPIC = 'q_maps/chosen'
"""sensor_msgs/Image rgb8: the chosen primitive drawn on its Q-map at the chosen rotation."""
MARKERS_TOPIC = 'selected_primitive/markers'
"""visualization_msgs/MarkerArray: the chosen primitive in 3-D."""
TRANSITIONS_TOPIC = 'transitions'
"""pushgrasp_interfaces/Transition: the task node's executed transitions, learned from when `learning` is on."""
# Like the task node's publisher: every transition is worth learning from, and a few may queue during a step.
TRANSITION_QOS = QoSProfile(depth=10, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE)
# Object labels come with every camera frame; a few are kept to find the one of the heightmap a goal names.
LABELS_QOS = QoSProfile(depth=5, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE)
LABELS_KEPT = 20
"""Object-label images kept (4 s of the simulated camera's 5 Hz frames)."""

STAGE_NAMES = {
    SelectPrimitive.Feedback.STAGE_PREPROCESS: 'PREPROCESS',
    SelectPrimitive.Feedback.STAGE_INFERENCE: 'INFERENCE',
    SelectPrimitive.Feedback.STAGE_SELECTION: 'SELECTION',
}


class PolicyNode(Node):
    """Serves `select_primitive` goals with the configured policy on the given or the newest heightmap."""

    PARAMETERS: tuple[ParamSpec, ...] = (
        ParamSpec('policy', 'heuristic', f'Policy to run: {", ".join(POLICY_NAMES)}.', read_only=True),
        ParamSpec('checkpoint', '', "Checkpoint of policy 'vpg': a path or a shipped name ('shipped', "
                  "'grasp-only'); empty: the shipped one. Must be empty for the other policies.", read_only=True),
        ParamSpec('seed', 0, 'Seed of the policy and of the exploration random generator.', read_only=True),
        ParamSpec('epsilon', 0.1, 'Probability of a random primitive type when a goal asks to explore.',
                  read_only=True),
        ParamSpec('num_rotations', NUM_ROTATIONS, 'Number of gripper rotations evaluated per pixel.',
                  read_only=True),
        ParamSpec('push_length', PUSH_LENGTH, 'Length of a push stroke in metres.', read_only=True),
        ParamSpec('keep_pushes_inside', KEEP_PUSHES_INSIDE, 'Metres: pushes of this node\'s policy are cut short, '
                  'or left out, so that what they shove ahead stays this far inside the workspace; negative: pushes '
                  'run their full stroke whatever lies ahead. A goal_checkpoint policy\'s pushes are not cut.',
                  read_only=True),
        ParamSpec('base_frame', 'base_link', 'Robot base frame; heightmaps and primitives are in this frame.',
                  read_only=True),
        ParamSpec('goal_checkpoint', '', 'Goal policy of goal-oriented requests: a goal-conditioned checkpoint, or '
                  "any policy spec ('heuristic', 'shipped', a VPG checkpoint) used greedily on the goal; empty: this "
                  "node's own policy used greedily on the goal.", read_only=True),
        ParamSpec('object_labels_topic', '', 'Topic of the object-label heightmaps GOAL_ID goals need (16UC1, '
                  'object index + 1; the sim graph: sim/object_labels); empty: GOAL_ID goals are aborted.',
                  read_only=True),
        ParamSpec('learning', False, "Learn online from the transitions topic (policy 'vpg' with a learning_dir "
                  'only); can be switched at run time.'),
        ParamSpec('learning_dir', '', 'Directory of on-robot learning: checkpoint.pt, policy.pt and the replay; '
                  'an earlier session in it is continued. Empty: no learning.', read_only=True),
        ParamSpec('learning_checkpoint_every', 10, 'Learning steps between checkpoints written to learning_dir.',
                  read_only=True),
    )

    def __init__(self, node_name: str = 'policy', **kwargs) -> None:
        """Declare parameters, build the policy, subscribe to heightmaps and start the action server."""
        super().__init__(node_name, **kwargs)
        params = declare_parameters(self, self.PARAMETERS)
        self._base_frame: str = params['base_frame']
        self._latest: HeightmapMsg | None = None
        self._latest_lock = threading.Lock()
        self._policy_lock = threading.Lock()  # policies and generators are not thread-safe
        self.policy: Policy | None = None
        self.setup_error = ''
        try:
            self.policy = make_policy(params['policy'], params['seed'], params['checkpoint'],
                                      num_rotations=params['num_rotations'], push_length=params['push_length'],
                                      epsilon=params['epsilon'],
                                      keep_pushes_inside=keep_pushes_inside_setting(params['keep_pushes_inside']))
        except ValueError as error:
            # Only the learned policies import torch, and with it the checkpoint module.
            from pushgrasp_policy.checkpoint import CheckpointError
            if isinstance(error, CheckpointError):
                # Refuse to start: serving goals without the weights asked for would hide the fault.
                # spin_node (main) logs the message once and exits with code 1.
                super().destroy_node()
                raise CheckpointError(f'cannot load checkpoint {params["checkpoint"] or "shipped"}: {error}') \
                    from error
            self.setup_error = f'policy could not be created: {error}'
            self.get_logger().error(f'{self.setup_error}; every goal will be aborted')
        seed = max(int(params['seed']), 0)
        self._rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))
        self.goal_policy: GoalPolicy | None = None
        self.goal_setup_error = ''
        self._goal_key: tuple | None = None
        """The goal of the last goal-oriented request: a goal-conditioned policy starts afresh when it changes."""
        try:
            self._set_up_goal_policy(params)
        except ValueError:
            super().destroy_node()
            raise
        self.learner = None  # an OnlineLearner when learning is possible (policy 'vpg' with a learning_dir)
        self._learning = False
        try:
            self._set_up_learning(params)
        except ValueError:
            super().destroy_node()
            raise
        self.add_on_set_parameters_callback(self._check_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)

        self._subscription = self.create_subscription(HeightmapMsg, HEIGHTMAP_TOPIC, self._on_heightmap, HEIGHTMAP_QOS)
        self._labels: list[Image] = []
        self._labels_subscription = self.create_subscription(
            Image, params['object_labels_topic'], self._on_labels, LABELS_QOS) \
            if params['object_labels_topic'] else None
        self._push_q_publisher = self.create_publisher(Image, PUSH_Q_TOPIC, VISUALIZATION_QOS)
        self._grasp_q_publisher = self.create_publisher(Image, GRASP_Q_TOPIC, VISUALIZATION_QOS)
        self._chosen_q_publisher = self.create_publisher(Image, CHOSEN_Q_TOPIC, VISUALIZATION_QOS)
        self._marker_publisher = self.create_publisher(MarkerArray, MARKERS_TOPIC, VISUALIZATION_QOS)
        self._action_server = ActionServer(
            self, SelectPrimitive, 'select_primitive',
            execute_callback=self._execute, goal_callback=self._on_goal, cancel_callback=self._on_cancel,
            callback_group=ReentrantCallbackGroup())
        if self.learner is not None:
            self._transition_subscription = self.create_subscription(
                TransitionMsg, TRANSITIONS_TOPIC, self._on_transition, TRANSITION_QOS,
                callback_group=MutuallyExclusiveCallbackGroup())
        if self.policy is not None:
            self.get_logger().info(f'policy {params["policy"]!r} ready (seed {params["seed"]})')

    def destroy_node(self) -> None:
        """Write the learning steps not yet checkpointed, destroy the action server, then the node."""
        with self._policy_lock:
            self._learning = False
            self._flush_learning('the node stops')
        self._action_server.destroy()
        super().destroy_node()

    # --- goal-oriented requests ---------------------------------------------------------------------------
    def _set_up_goal_policy(self, params: dict) -> None:
        """Create the goal policy; CheckpointError for a goal checkpoint to refuse, like `checkpoint`'s."""
        spec = params['goal_checkpoint']
        if not spec:
            if self.policy is None:
                self.goal_setup_error = self.setup_error
            else:
                self.goal_policy = GreedyGoalPolicy(self.policy)
            return
        try:
            self.goal_policy = goal_policy_from_spec(spec, params['seed'], num_rotations=params['num_rotations'],
                                                     push_length=params['push_length'], epsilon=params['epsilon'])
        except ValueError as error:
            from pushgrasp_policy.checkpoint import CheckpointError  # torch: only the learned policies
            if isinstance(error, CheckpointError):
                raise CheckpointError(f'cannot load goal checkpoint {spec}: {error}') from error
            self.goal_setup_error = f'goal policy {spec!r} could not be created: {error}'
            self.get_logger().error(f'{self.goal_setup_error}; every goal-oriented request will be aborted')
            return
        self.get_logger().info(f'goal policy {getattr(self.goal_policy, "name", spec)!r} from {spec!r} ready')

    def _on_labels(self, msg: Image) -> None:
        with self._latest_lock:
            self._labels = [*self._labels[-(LABELS_KEPT - 1):], msg]

    def _labels_for(self, stamp_ns: int) -> np.ndarray:
        """Return the (rows, cols) object labels (-1: none) of the heightmap stamped `stamp_ns` (GoalError: none)."""
        if self._labels_subscription is None:
            raise GoalError('GOAL_ID needs the object labels of a simulated scene, and this node has none '
                            '(object_labels_topic is empty; the sim graph sets it); give the goal as GOAL_COLOR or '
                            'GOAL_MASK')
        with self._latest_lock:
            labels = list(self._labels)
        # Else the first labels after the heightmap: the robot waits for the decision, so the scene is the same.
        matching = [m for m in labels if stamp_to_ns(m.header.stamp) == stamp_ns] or \
            [m for m in labels if stamp_to_ns(m.header.stamp) > stamp_ns][:1]
        if not matching:
            newest = f'the newest is stamped {stamp_to_ns(labels[-1].header.stamp)} ns' if labels else 'none arrived'
            raise GoalError(f'GOAL_ID: no object labels on {self._labels_subscription.topic_name} for the heightmap '
                            f'stamped {stamp_ns} ns ({newest})')
        message = matching[0]
        if message.encoding != '16UC1':
            raise GoalError(f'GOAL_ID: object labels must be 16UC1 (object index + 1), got {message.encoding!r}')
        return msg_to_image(message).astype(np.int32) - 1

    def _goal_mask(self, goal: SelectPrimitive.Goal, heightmap: Heightmap) -> tuple[np.ndarray | None, str]:
        """Return the goal's (rows, cols) mask on `heightmap` and the goal in words; (None, '') for GOAL_NONE.

        GoalError (GoalNotVisible) with the reason when the goal cannot be found.
        """
        spec = goal_spec_from_message(goal)
        if spec.type == GoalType.NONE:
            return None, ''
        labels = self._labels_for(heightmap.stamp_ns) if spec.type == GoalType.ID else None
        mask = goal_mask_from_spec(spec, heightmap, labels)
        key = (spec.type, spec.color.strip().lower(), spec.color_tolerance, spec.object_id)
        with self._policy_lock:
            if key != self._goal_key and hasattr(self.goal_policy, 'reset'):
                self.goal_policy.reset()  # a new goal: a goal-conditioned policy's push count starts afresh
            self._goal_key = key
        return mask, spec.describe()

    # --- on-robot learning ------------------------------------------------------------------------------
    def _learning_unavailable(self) -> str:
        """Return why learning cannot be switched on, or '' when it can."""
        if self.learner is not None:
            return ''
        if self.policy is None:
            return f'there is no policy ({self.setup_error})'
        if self.policy.name != 'vpg':
            return f"policy {self.policy.name!r} does not learn; only policy 'vpg' does"
        return 'learning_dir is empty: set it (read-only) when the node starts'

    def _set_up_learning(self, params: dict) -> None:
        """Create the learner when learning is possible; ValueError for a configuration to refuse."""
        directory, every = params['learning_dir'], params['learning_checkpoint_every']
        if every < 1:
            raise ValueError(f'learning_checkpoint_every must be positive, got {every}')
        if directory and self.policy is not None and self.policy.name == 'vpg':
            from pushgrasp_policy.online import OnlineConfig, OnlineLearner  # torch: only the learned policies
            try:
                self.learner = OnlineLearner(self.policy.agent, directory, OnlineConfig(
                    checkpoint_every=every, seed=max(int(params['seed']), 0),
                    base_checkpoint=params['checkpoint'] or 'shipped'))
            except OSError as error:
                raise ValueError(f'cannot use learning_dir {directory}: {error}') from error
            except ValueError as error:  # CheckpointError: its checkpoint cannot be continued
                raise type(error)(f'cannot continue learning in {directory}: {error}') from error
            if self.learner.resumed:
                self.get_logger().info(f'learning: continuing {self.learner.checkpoint_path} at step '
                                       f'{self.learner.steps} (its weights replace those of the checkpoint '
                                       'parameter)')
            else:
                self.get_logger().info(f'learning: new learning directory {self.learner.directory}, starting from '
                                       f'checkpoint {params["checkpoint"] or "shipped"}')
        elif directory:
            self.get_logger().warning(f'learning_dir {directory!r} is ignored: {self._learning_unavailable()}')
        if params['learning']:
            reason = self._learning_unavailable()
            if reason:
                raise ValueError(f'learning is true, but {reason}')
            self._learning = True
            self.get_logger().info(f'learning on: checkpoints every {every} steps in {self.learner.directory}')

    def _check_parameters(self, parameters: list[Parameter]) -> SetParametersResult:
        for parameter in parameters:
            if parameter.name == 'learning':
                if parameter.type_ != Parameter.Type.BOOL:
                    return SetParametersResult(successful=False, reason='learning must be true or false')
                reason = self._learning_unavailable() if parameter.value else ''
                if reason:
                    return SetParametersResult(successful=False, reason=f'cannot learn: {reason}')
        return SetParametersResult(successful=True)

    def _apply_parameters(self, parameters: list[Parameter]) -> None:
        for parameter in parameters:
            if parameter.name != 'learning' or self.learner is None:
                continue
            # Under the lock: a learning step in progress finishes first, and none starts after learning is off.
            with self._policy_lock:
                if parameter.value == self._learning:
                    continue
                self._learning = bool(parameter.value)
                if self._learning:
                    self.get_logger().info(f'learning on: checkpoints every {self.learner.config.checkpoint_every} '
                                           f'steps in {self.learner.directory} (step {self.learner.steps})')
                else:
                    self.get_logger().info(f'learning off at step {self.learner.steps}')
                    self._flush_learning('learning was switched off')

    def _flush_learning(self, why: str) -> None:
        """Write the steps not yet checkpointed (call with the policy lock held)."""
        if self.learner is None:
            return
        try:
            if self.learner.flush():
                self.get_logger().info(f'learning: checkpoint at step {self.learner.steps} written to '
                                       f'{self.learner.checkpoint_path} and {self.learner.policy_path} ({why})')
        except Exception as error:  # a full disk must not take the node down
            self.get_logger().error(f'learning: could not write the checkpoint in {self.learner.directory}: '
                                    f'{error!r}')

    def _on_transition(self, msg: TransitionMsg) -> None:
        from pushgrasp_policy.online import transition_from_message
        if not self._learning:
            return
        where = f'transition {msg.episode_id}/{msg.step_id}'
        frame = msg.header.frame_id
        if frame and frame != self._base_frame:
            self.get_logger().warning(f'learning: skipped {where}: it is in frame {frame!r}, not {self._base_frame!r}')
            return
        try:
            record = transition_from_message(msg)
        except ValueError as error:
            self.get_logger().warning(f'learning: skipped {where}: {error}')
            return
        with self._policy_lock:
            if not self._learning:  # switched off while this message waited for the lock
                return
            try:
                step = self.learner.learn(record)
            except ValueError as error:
                self.get_logger().warning(f'learning: skipped {where}: {error}')
                return
            except Exception as error:  # the node must keep serving decisions
                self.get_logger().error(f'learning: step on {where} failed: {error!r}')
                return
        self.get_logger().info(f'learning: step {step.step} on {where} ({record.primitive.name.lower()}, reward '
                               f'{record.reward:g}): label {step.label:.3f}, prediction {step.prediction:.3f}, '
                               f'loss {step.loss:.4f}, {step.replayed} replayed')
        if step.checkpoint_written:
            self.get_logger().info(f'learning: checkpoint at step {step.step} written to '
                                   f'{self.learner.checkpoint_path} and {self.learner.policy_path}')

    @property
    def has_heightmap(self) -> bool:
        """Whether a heightmap has arrived on the `heightmap` topic."""
        with self._latest_lock:
            return self._latest is not None

    def _on_heightmap(self, msg: HeightmapMsg) -> None:
        with self._latest_lock:
            self._latest = msg

    def _on_goal(self, goal: SelectPrimitive.Goal) -> GoalResponse:
        # Every goal is accepted; the ones that cannot be served are aborted with the reason in the result.
        return GoalResponse.ACCEPT

    def _on_cancel(self, goal_handle: ServerGoalHandle) -> CancelResponse:
        return CancelResponse.ACCEPT

    def _feedback(self, goal_handle: ServerGoalHandle, stage: int, progress: float) -> None:
        goal_handle.publish_feedback(
            SelectPrimitive.Feedback(stage=stage, stage_name=STAGE_NAMES[stage], progress=progress))

    def _abort(self, goal_handle: ServerGoalHandle, message: str) -> SelectPrimitive.Result:
        self.get_logger().warning(f'select_primitive aborted: {message}')
        goal_handle.abort()
        return SelectPrimitive.Result(message=message)

    def _canceled(self, goal_handle: ServerGoalHandle) -> SelectPrimitive.Result:
        self.get_logger().info('select_primitive canceled')
        goal_handle.canceled()
        return SelectPrimitive.Result(message='canceled')

    def _execute(self, goal_handle: ServerGoalHandle) -> SelectPrimitive.Result:
        try:
            return self._select(goal_handle)
        except Exception as error:  # the node must survive any failed goal
            self.get_logger().error(f'select_primitive failed: {error!r}')
            if goal_handle.is_active:
                goal_handle.abort()
            return SelectPrimitive.Result(message=f'internal error: {error}')

    def _select(self, goal_handle: ServerGoalHandle) -> SelectPrimitive.Result:
        goal: SelectPrimitive.Goal = goal_handle.request
        if goal.goal_type == SelectPrimitive.Goal.GOAL_NONE and self.policy is None:
            return self._abort(goal_handle, self.setup_error)
        if goal.goal_type != SelectPrimitive.Goal.GOAL_NONE and self.goal_policy is None:
            return self._abort(goal_handle, f'no goal policy: {self.goal_setup_error}')

        self._feedback(goal_handle, SelectPrimitive.Feedback.STAGE_PREPROCESS, 0.0)
        if goal.use_latest_heightmap:
            with self._latest_lock:
                msg = self._latest
            if msg is None:
                return self._abort(goal_handle, 'use_latest_heightmap was set, but no heightmap has been received '
                                                f'on {self._subscription.topic_name} yet')
        else:
            msg = goal.heightmap
        frame = msg.header.frame_id
        if frame and frame != self._base_frame:
            return self._abort(goal_handle, f'heightmap is in frame {frame!r} but base_frame is '
                                            f'{self._base_frame!r}; heightmaps must be in the base frame')
        try:
            heightmap = msg_to_heightmap(msg)
        except ValueError as error:
            return self._abort(goal_handle, f'malformed heightmap: {error}')
        try:
            goal_mask, goal_text = self._goal_mask(goal, heightmap)
        except GoalNotVisible as error:
            return self._abort(goal_handle, f'goal not visible: {error}')
        except GoalError as error:
            return self._abort(goal_handle, f'bad goal: {error}')
        if goal_handle.is_cancel_requested:
            return self._canceled(goal_handle)

        self._feedback(goal_handle, SelectPrimitive.Feedback.STAGE_INFERENCE, 1.0 / 3.0)
        try:
            if goal_mask is None:
                with self._policy_lock:
                    push_q, grasp_q = self.policy.q_maps(heightmap)
                decision = None
            else:  # a goal policy's Q-maps and choice are one step (GoalPolicy.decide)
                with self._policy_lock:
                    decision = self.goal_policy.decide(heightmap, goal_mask, goal.explore, self._rng)
        except ValueError as error:
            return self._abort(goal_handle, f'no primitive could be chosen: {error}')
        if goal_handle.is_cancel_requested:
            return self._canceled(goal_handle)

        self._feedback(goal_handle, SelectPrimitive.Feedback.STAGE_SELECTION, 2.0 / 3.0)
        try:
            if decision is None:
                with self._policy_lock:
                    decision = self.policy.select(heightmap, push_q, grasp_q, goal.explore, self._rng)
        except ValueError as error:
            return self._abort(goal_handle, f'no primitive could be chosen: {error}')
        self._feedback(goal_handle, SelectPrimitive.Feedback.STAGE_SELECTION, 1.0)
        if goal_handle.is_cancel_requested:
            return self._canceled(goal_handle)

        header = Header(stamp=ns_to_stamp(heightmap.stamp_ns), frame_id=self._base_frame)
        self._publish_pictures(heightmap, decision, header)
        result = SelectPrimitive.Result(
            primitive=primitive_to_msg(decision.primitive, self._base_frame),
            push_q=image_to_msg(decision.best_push_q, '32FC1', header),
            grasp_q=image_to_msg(decision.best_grasp_q, '32FC1', header),
            rotation_index=decision.primitive.rotation_index)
        goal_handle.succeed()
        aim = f' for goal {goal_text}' if goal_text else ''
        self.get_logger().info(f'chose {decision.primitive.describe()}{aim}'
                               f'{" (explored)" if decision.explored else ""}')
        return result

    def _publish_pictures(self, heightmap: Heightmap, decision: Decision, header: Header) -> None:
        # Pictures are for people: a failure here is logged, and the goal still succeeds.
        try:
            color = heightmap.color
            images = ((self._push_q_publisher, masked_qmap_overlay(color, decision.best_push_q)),
                      (self._grasp_q_publisher, masked_qmap_overlay(color, decision.best_grasp_q)),
                      (self._chosen_q_publisher,
                       chosen_primitive_overlay(color, decision, heightmap.workspace.resolution)))
            for publisher, image in images:
                publisher.publish(image_to_msg(image, 'rgb8', header))
            self._marker_publisher.publish(primitive_markers(decision.primitive, header))
        except Exception as error:
            self.get_logger().warning(f'could not publish the Q-map pictures and markers: {error!r}')


def main(args: list[str] | None = None) -> None:
    """Run the policy node until shut down."""
    spin_node(PolicyNode, args, multithreaded=True)


if __name__ == '__main__':
    main()

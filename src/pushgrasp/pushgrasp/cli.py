# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The `pushgrasp` command: one front door to the demo, training, evaluation, benchmarks, scenes and graphs.

Contract for every sub-command: `--seed N` makes it deterministic for a given seed on one machine, and
`--json PATH` (where a command reports figures) writes those figures as JSON.
Exit codes: 0 success, 1 failure while running, 2 a usage error or a capability this version lacks.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from collections.abc import Callable, Sequence

EXIT_UNAVAILABLE = 2

# Sub-commands that later parts of the project fill in, and what each will do.
UNAVAILABLE: dict[str, str] = {}
BENCHMARKS = {
    'sim': 'primitives and RGB-D frames per second of the embedded simulator',
    'perception': 'milliseconds per 640x480 frame for heightmaps, fusion and point clouds',
    'policy': 'milliseconds per decision and training transitions per second',
    'bags': 'seconds to read a 1000-transition bag into a replay buffer, and the cost of recording transitions',
}


def write_json(path: str | None, figures: dict[str, Any]) -> None:
    """Write `figures` to `path` atomically (a reader never sees half a file)."""
    if not path:
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + '.tmp')
    temporary.write_text(json.dumps(figures, indent=2, sort_keys=True) + '\n')
    temporary.replace(target)


def unavailable(name: str, what: str) -> Callable[[argparse.Namespace], int]:
    """A sub-command handler that explains that this version cannot do `what` yet."""
    def handler(_args: argparse.Namespace) -> int:
        print(f'pushgrasp {name}: not available in this version: it will {what}.', file=sys.stderr)
        return EXIT_UNAVAILABLE
    return handler


def print_figures(figures: dict[str, Any]) -> None:
    """Print a flat dict of figures, one per line."""
    for key, value in figures.items():
        if isinstance(value, float):
            value = f'{value:.3f}'
        print(f'{key}: {value}')


def run_bench(args: argparse.Namespace) -> int:
    """`pushgrasp bench TARGET`: measure and print figures (and write them with --json)."""
    seed = args.seed if args.seed is not None else 0
    if args.target == 'sim':
        from pushgrasp_sim.tools import run_sim_benchmark, run_soak
        figures = run_sim_benchmark(seed=seed, primitives=args.primitives)
        if args.soak:
            soak = run_soak(seed=seed, scenes=args.soak)
            figures.update({f'soak_{k}': v for k, v in soak.items() if k != 'seed'})
    elif args.target == 'perception':
        from pushgrasp_perception.bench import run_perception_benchmark
        figures = run_perception_benchmark(seed=seed)
    elif args.target == 'bags':
        from pushgrasp_policy.bench_bags import run_bags_benchmark
        figures = run_bags_benchmark(seed=seed, transitions=args.bag_transitions,
                                     trainer_transitions=args.transitions if args.transitions is not None else 10)
    else:  # policy
        from pushgrasp_policy.bench import run_policy_benchmark
        figures = run_policy_benchmark(seed=seed, decisions=args.decisions,
                                       train_transitions=args.transitions if args.transitions is not None else 40)
    print_figures(figures)
    write_json(args.json, figures)
    return 0


def run_calibrate(args: argparse.Namespace) -> int:
    """`pushgrasp calibrate --sim`: solve the camera-to-base pose from a marker on the gripper, write the YAML."""
    if not args.sim:
        print('pushgrasp calibrate: only --sim is available in this version: calibrating a real robot needs '
              'its ur_rtde or MoveIt backend, which is not built yet', file=sys.stderr)
        return EXIT_UNAVAILABLE
    from pushgrasp_sim.calibration import calibrate_sim
    seed = args.seed if args.seed is not None else 0
    try:
        figures = calibrate_sim(seed=seed, out=args.out, camera_position_mm=args.perturb_mm,
                                camera_angle_deg=args.perturb_deg)
    except ValueError as error:
        print(f'pushgrasp calibrate: {error}', file=sys.stderr)
        return 1
    print_figures({k: v for k, v in figures.items() if not isinstance(v, list)})
    write_json(args.json, figures)
    return 0


def run_scene(args: argparse.Namespace) -> int:
    """`pushgrasp scene --case FILE | --random N`: build and settle a scene, save its picture and object list."""
    from pushgrasp_sim.tools import scene_report
    seed = args.seed if args.seed is not None else 0
    try:
        report = scene_report(seed, args.case if args.case else args.random, png=args.png)
    except (ValueError, OSError) as error:
        print(f'pushgrasp scene: {error}', file=sys.stderr)
        return 1
    inside = sum(o['inside_workspace'] for o in report['objects'])
    print(f'{len(report["objects"])} objects, {inside} inside the workspace'
          + (f'; picture in {args.png}' if args.png else ''))
    for obj in report['objects']:
        x, y, z = obj['position']
        print(f'  {obj["shape"]:6s} at ({x:.3f}, {y:.3f}, {z:.3f}) m'
              + ('' if obj['inside_workspace'] else '  (outside the workspace)'))
    write_json(args.json, report)
    return 0


EVAL_DEFAULT_OBJECTS = 10  # `pushgrasp eval` without --cases or --random: scenes of this many random objects


def run_eval(args: argparse.Namespace) -> int:
    """`pushgrasp eval`: clear random scenes or test cases with a policy; print and write the benchmark metrics.

    With `--method goal`: pick one goal object per trial (goals file and/or random goals) and report the
    goal-oriented metrics (pushgrasp_policy.goal_evaluation).
    """
    from functools import partial

    from pushgrasp_policy.decision import KEEP_PUSHES_INSIDE
    from pushgrasp_perception.workspace import DEFAULT_WORKSPACE
    from pushgrasp_policy.evaluation import REFERENCE_DROP_MARGIN, EvaluationConfig
    from pushgrasp_policy.goal_policy import GOAL_KEEP_PUSHES_INSIDE
    from pushgrasp_policy.policy import keep_pushes_inside_setting
    goal = args.method == 'goal'
    if goal:  # the goal-oriented versions of the same steps
        from pushgrasp_policy.goal_evaluation import (
            evaluate_goals as evaluate, expand_goal_cases, format_goal_summary as format_summary,
            summarize_goals as summarize)
        from pushgrasp_policy.goal_policy import goal_policy_from_spec as policy_from_spec
    else:
        from pushgrasp_policy.evaluation import evaluate, expand_cases, format_summary, summarize
        from pushgrasp_policy.registry import policy_from_spec
    seed = args.seed if args.seed is not None else 0
    random = args.random if args.random is not None or args.cases or args.goals else EVAL_DEFAULT_OBJECTS
    try:
        if seed < 0:
            raise ValueError(f'--seed must be non-negative, got {seed}')
        if args.trials < 1:
            raise ValueError(f'--trials must be at least 1, got {args.trials}')
        if args.goals and not goal:
            raise ValueError('--goals needs --method goal')
        if args.cases and goal:
            raise ValueError('--method goal takes --goals FILE (case-file-name goal-index lines), not --cases')
        if args.grasp_threshold is not None:
            if not goal:
                raise ValueError('--grasp-threshold needs --method goal')
            policy_from_spec = partial(policy_from_spec, grasp_threshold=args.grasp_threshold)
        if args.probe_goal_grasps and not goal:
            raise ValueError('--probe-goal-grasps needs --method goal')
        keep_pushes_inside = GOAL_KEEP_PUSHES_INSIDE if goal else KEEP_PUSHES_INSIDE
        if args.keep_pushes_inside is not None:
            keep_pushes_inside = keep_pushes_inside_setting(args.keep_pushes_inside)
            policy_from_spec = partial(policy_from_spec, keep_pushes_inside=keep_pushes_inside)
        drop_margin = REFERENCE_DROP_MARGIN if args.drop_margin is None else args.drop_margin
        if args.drop_margin is not None and random is None:
            raise ValueError('--drop-margin sets how random scenes are dropped, and there are none: add --random N')
        half_side = min(DEFAULT_WORKSPACE.shape) * DEFAULT_WORKSPACE.resolution / 2  # evaluate()'s workspace
        if drop_margin >= half_side:  # the drop would clamp it, and the JSON would record a margin never used
            raise ValueError(f'--drop-margin must be less than {half_side:g} m (half the workspace side), '
                             f'got {drop_margin:g}')
        config = EvaluationConfig(max_actions=args.max_actions, save_pictures=args.pictures,
                                  probe_goal_grasps=args.probe_goal_grasps, drop_margin=drop_margin)
        cases = expand_goal_cases(args.goals, random) if goal else expand_cases(args.cases, random)
        policy_from_spec(args.policy, seed)  # a bad policy is reported here, before any trial runs
    except ValueError as error:
        print(f'pushgrasp eval: {" ".join(str(error).split())}', file=sys.stderr)
        return EXIT_UNAVAILABLE

    total = len(cases) * args.trials
    print(f'evaluating policy {args.policy!r}{" on goals" if goal else ""}: {len(cases)} case(s) x {args.trials} '
          f'trial(s), seed {seed}', flush=True)
    done = 0

    def show(trial: Any) -> None:
        nonlocal done
        done += 1
        print(f'[{done}/{total}] {trial.describe()}', flush=True)

    try:
        results = evaluate(lambda trial_seed: policy_from_spec(args.policy, trial_seed), cases, trials=args.trials,
                           seed=seed, config=config, progress=show)
    except (RuntimeError, ValueError, OSError) as error:
        print(f'pushgrasp eval: {error}', file=sys.stderr)
        return 1
    summary = summarize(results)
    print(format_summary(summary))
    from pushgrasp_policy.checkpoint import checkpoint_fingerprint
    summary['settings'] = {
        'method': args.method, 'policy': args.policy, 'policy_checkpoint': checkpoint_fingerprint(args.policy) or None,
        'seed': seed, 'trials_per_case': args.trials,
        'grasp_threshold': args.grasp_threshold, 'probe_goal_grasps': args.probe_goal_grasps,
        'keep_pushes_inside': keep_pushes_inside,
        'cases': [{'name': name, 'scene': str(scene.scene), 'goal_line': scene.goal_line} if goal
                  else {'name': name, 'scene': str(scene)} for name, scene in cases],
        'max_actions': args.max_actions, 'actions_per_object': config.actions_per_object,
        'max_consecutive_failures': config.max_consecutive_failures,
        'drop_margin': config.drop_margin if random is not None else None,
        'pictures': str(config.save_pictures) if config.save_pictures else None,
        'seed_rule': 'trial k of case c: np.random.SeedSequence([seed, c, k]).generate_state(1)[0]'}
    write_json(args.json, summary)
    return 0


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """`name:=value` launch-style assignments to a dict."""
    values = {}
    for pair in pairs:
        if ':=' not in pair:
            raise ValueError(f'expected name:=value, got {pair!r}')
        name, value = pair.split(':=', 1)
        values[name] = value
    return values


def run_launch(args: argparse.Namespace) -> int:
    """`pushgrasp launch NAME [name:=value ...]`: start a graph's nodes as processes."""
    from pushgrasp.graph import GRAPHS, build_graph
    if args.list or not args.graph:
        for definition in GRAPHS.values():
            print(f'{definition.name}: {definition.description}')
            for argument in definition.arguments:
                print(f'    {argument.name}:={argument.default!s}  {argument.description}')
        return 0 if args.list else EXIT_UNAVAILABLE
    try:
        values = parse_assignments(args.assignments)
        if args.seed is not None:
            values['seed'] = str(args.seed)
        graph = build_graph(args.graph, **values)
    except (KeyError, ValueError) as error:
        print(f'pushgrasp launch: {error.args[0]}', file=sys.stderr)
        return EXIT_UNAVAILABLE
    from pushgrasp.runner import GraphRunner
    return GraphRunner(graph).run(duration=args.duration)


def run_record(args: argparse.Namespace) -> int:
    """`pushgrasp record`: record the simulated graph for N episodes, or a running graph until Ctrl-C."""
    import time
    from pushgrasp.recording import bag_closed, bag_summary
    out = Path(args.out or time.strftime('pushgrasp_%Y%m%d_%H%M%S'))
    if out.exists():
        print(f'pushgrasp record: bag {out} exists already; not overwriting it (choose another --out or remove it)',
              file=sys.stderr)
        return EXIT_UNAVAILABLE
    status = 0
    if args.sim:
        from pushgrasp.record import RecordConfig, record_sim
        config = RecordConfig(out=out, episodes=args.episodes, seed=args.seed if args.seed is not None else 0,
                              num_objects=args.objects, test_case=args.case or '', max_actions=args.max_actions,
                              policy=args.policy, storage=args.storage, record_camera=args.camera)
        try:
            figures = record_sim(config)
        except RuntimeError as error:
            print(f'pushgrasp record: {error}', file=sys.stderr)
            return 1
    else:
        from pushgrasp.graph import NodeSpec, Graph
        from pushgrasp.runner import GraphRunner
        spec = NodeSpec('pushgrasp', 'recorder_node', 'recorder', 'pushgrasp.ros.recorder_node:RecorderNode',
                        parameter_files=('recorder.yaml',),
                        parameters={'output': str(out.resolve()), 'storage': args.storage,
                                    'record_camera': args.camera})
        print('pushgrasp record: recording the running graph; Ctrl-C to stop', file=sys.stderr)
        code = GraphRunner(Graph('record', 'the recorder alone', (spec,))).run()
        if not (out / 'metadata.yaml').exists():
            print(f'pushgrasp record: no bag was written to {out}', file=sys.stderr)
            return code or 1
        if not bag_closed(out):
            print(f'pushgrasp record: the recorder did not close {out}: it holds what was flushed up to its end',
                  file=sys.stderr)
            status = code or 1
        figures = bag_summary(out)
    print(f'bag {figures["path"]} ({figures["storage"]}): {figures["messages"]} messages in '
          f'{figures["duration_s"]:.1f} s')
    for topic, info in figures['topics'].items():
        print(f'  {topic} ({info["type"]}): {info["messages"]}')
    write_json(args.json, figures)
    return status


def run_demo(args: argparse.Namespace) -> int:
    """`pushgrasp demo`."""
    from pushgrasp.demo import DemoConfig, run_demo as demo
    config = DemoConfig(seed=args.seed if args.seed is not None else 0, out=Path(args.out),
                        max_actions=args.max_actions, num_objects=args.objects, policy=args.policy,
                        checkpoint=args.checkpoint, test_case=args.case or '', goal=args.goal,
                        goal_checkpoint=args.goal_checkpoint)
    try:
        metrics = demo(config)
    except RuntimeError as error:
        print(f'pushgrasp demo: {error}', file=sys.stderr)
        return 1
    write_json(args.json, metrics)
    return 0


def train_progress(every: int) -> Callable[[str], None]:
    """Progress printer for training: one redrawn line on a terminal, every `every`-th line in a log."""
    count = 0

    def show(line: str) -> None:
        nonlocal count
        if not line.startswith('['):  # messages (resume, evaluations) always get their own line
            print(line, file=sys.stderr, flush=True)
        elif sys.stderr.isatty():
            print('\r' + line, end='', file=sys.stderr, flush=True)
        else:
            count += 1
            if count % every == 0:
                print(line, file=sys.stderr, flush=True)
    return show


AGENT_DEFAULTS = {'trunk': 'dilated', 'width': 32, 'optimizer': 'adam', 'lr': 1e-4, 'extra_replays': 0,
                  'grasp_only': False, 'push_out_reward': None}
"""The agent options of `pushgrasp train` when neither the command line nor --init-from's checkpoint sets them."""


def train_agent_config(args: argparse.Namespace) -> Any:
    """Return the VPGConfig of `pushgrasp train`.

    Each setting is the option given, else that of --init-from's checkpoint, else AGENT_DEFAULTS'. ValueError (or
    CheckpointError) when they cannot be used.
    """
    from dataclasses import replace

    from pushgrasp_policy.checkpoint import load_checkpoint, resolve_checkpoint
    from pushgrasp_policy.networks import QNetConfig
    from pushgrasp_policy.vpg import VPGConfig
    given = {key: getattr(args, key) for key in AGENT_DEFAULTS if getattr(args, key) is not None}
    if args.init_from:
        path = resolve_checkpoint(args.init_from)
        base = VPGConfig.from_dict(load_checkpoint(path, required=('agent_config', 'network'))['agent_config'])
        network = base.network
        if given.get('trunk', network.trunk) != network.trunk or given.get('width', network.width) != network.width:
            raise ValueError(f'--init-from {args.init_from}: the network is the checkpoint\'s ({network.trunk} trunk, '
                             f'width {network.width}); leave out --trunk and --width')
        return replace(base, grasp_only=given.get('grasp_only', base.grasp_only),
                       optimizer=given.get('optimizer', base.optimizer),
                       learning_rate=given.get('lr', base.learning_rate),
                       extra_replays=given.get('extra_replays', base.extra_replays),
                       push_out_reward=given.get('push_out_reward', base.push_out_reward))
    values = {**AGENT_DEFAULTS, **given}
    return VPGConfig(network=QNetConfig(trunk=values['trunk'], width=values['width']), grasp_only=values['grasp_only'],
                     optimizer=values['optimizer'], learning_rate=values['lr'], extra_replays=values['extra_replays'],
                     push_out_reward=values['push_out_reward'])


def run_train(args: argparse.Namespace) -> int:
    """`pushgrasp train`: online training in the embedded simulator, or offline from bags; resumable, logged to DIR."""
    from pushgrasp_policy.checkpoint import CheckpointError
    from pushgrasp_policy.trainer import Trainer, TrainConfig
    seed = args.seed if args.seed is not None else 0
    if args.method == 'goal':
        return run_goal_train(args, seed)
    if args.push_clearance_reward is not None or args.vpg_init or args.switch_explore is not None or \
            args.epsilon is not None:
        print('pushgrasp train: --push-clearance-reward, --vpg-init, --switch-explore and --epsilon are options of '
              '--method goal', file=sys.stderr)
        return EXIT_UNAVAILABLE
    if args.from_bag and (args.init_from or args.preload):
        print('pushgrasp train: --init-from and --preload start an online run; --from-bag trains offline '
              '(continue online after it with --init-from DIR/checkpoint.pt)', file=sys.stderr)
        return EXIT_UNAVAILABLE
    try:
        agent = train_agent_config(args)
    except (ValueError, CheckpointError) as error:
        print(f'pushgrasp train: {error}', file=sys.stderr)
        return EXIT_UNAVAILABLE
    if args.from_bag:
        return run_train_from_bags(args, agent, seed)
    try:
        config = TrainConfig(seed=seed, transitions=args.transitions, num_objects=args.objects, scene=args.case or '',
                             packed_fraction=args.packed_fraction,
                             checkpoint_every=args.checkpoint_every, eval_every=args.eval_every,
                             eval_trials=args.eval_trials, eval_objects=args.eval_objects, agent=agent,
                             init_from=args.init_from or '',
                             preload=[str(Path(path).resolve()) for path in args.preload or []])
        trainer = Trainer(config, args.out, resume=args.resume, progress=train_progress(args.log_every))
    except (ValueError, CheckpointError, OSError) as error:
        print(f'pushgrasp train: {error}', file=sys.stderr)
        return EXIT_UNAVAILABLE
    return run_online_trainer(trainer, args)


INTERRUPTED = 130
"""Exit code of a training run stopped with Ctrl-C (128 + SIGINT)."""


def interrupted(out: str) -> int:
    """Say how to continue a training run stopped with Ctrl-C; return its exit code."""
    print(f'\npushgrasp train: interrupted; continue with --resume (from the last checkpoint in {out})',
          file=sys.stderr)
    return INTERRUPTED


def run_online_trainer(trainer: Any, args: argparse.Namespace) -> int:
    """Run an online trainer (VPG or goal stage) to its end, then print and write its figures."""
    try:
        figures = trainer.run()
    except KeyboardInterrupt:
        return interrupted(args.out)
    print()
    print_figures(figures)
    write_json(args.json, figures)
    return 0


def alternate_episodes(episodes: Sequence[int] | None) -> dict[str, int]:
    """The GoalTrainConfig fields that `--alternate-episodes PUSH GRASP` sets (none when not given)."""
    if episodes is None:
        return {}
    return {'alternate_push_episodes': episodes[0], 'alternate_grasp_episodes': episodes[1]}


def run_goal_train(args: argparse.Namespace, seed: int) -> int:
    """`pushgrasp train --method goal --stage S`: one stage of goal-conditioned training (resumable)."""
    from dataclasses import replace

    from pushgrasp_policy.checkpoint import CheckpointError
    from pushgrasp_policy.goal_agent import GoalAgentConfig
    from pushgrasp_policy.goal_trainer import GoalTrainConfig, GoalTrainer, with_network_of
    from pushgrasp_policy.networks import QNetConfig
    if args.from_bag or args.preload or args.grasp_only or args.push_out_reward is not None:
        print('pushgrasp train: --method goal trains online in stages; --from-bag, --preload, --grasp-only and '
              '--push-out-reward are options of the VPG method', file=sys.stderr)
        return EXIT_UNAVAILABLE
    network = QNetConfig(trunk=args.trunk or 'dilated', width=args.width or 32, extra_channels=1)
    overrides = {'learning_rate': args.lr, 'extra_replays': args.extra_replays, 'grasp_threshold': args.grasp_threshold,
                 'max_pushes': args.max_pushes, 'clearance_improvement': args.push_clearance_reward,
                 'epsilon_start': args.epsilon}
    try:
        agent = replace(GoalAgentConfig(network=network), **{k: v for k, v in overrides.items() if v is not None})
        config = with_network_of(GoalTrainConfig(
            stage=args.stage, seed=seed, transitions=args.transitions, num_objects=args.objects,
            checkpoint_every=args.checkpoint_every, agent=agent, init_from=args.init_from or '',
            explorer=args.explorer, vpg_init=args.vpg_init, packed_fraction=args.packed_fraction or 0.0,
            switch_explore=args.switch_explore or 0.0, **alternate_episodes(args.alternate_episodes)))
        trainer = GoalTrainer(config, args.out, resume=args.resume, progress=train_progress(args.log_every))
    except (ValueError, CheckpointError, OSError) as error:
        print(f'pushgrasp train: {error}', file=sys.stderr)
        return EXIT_UNAVAILABLE
    return run_online_trainer(trainer, args)


def run_train_from_bags(args: argparse.Namespace, agent: Any, seed: int) -> int:
    """`pushgrasp train --from-bag PATH...`: offline training on the transitions recorded in bags (resumable)."""
    from collections import Counter

    from pushgrasp_policy.bags import bag_directories, iter_transitions
    from pushgrasp_policy.offline import OfflineConfig, OfflineTrainer
    skipped: Counter[str] = Counter()
    try:
        for path in args.from_bag:  # a wrong path is reported before the run folder is made
            if not Path(path).exists():
                raise ValueError(f'bag {path} does not exist')
            bag_directories(path)
        config = OfflineConfig(seed=seed, steps=args.steps, checkpoint_every=args.checkpoint_every, agent=agent,
                               bags=[str(Path(path).resolve()) for path in args.from_bag])
        trainer = OfflineTrainer(config, args.out, resume=args.resume, progress=train_progress(1))
        # The records are streamed into the replay: only network-resolution heightmaps stay in memory.
        figures = trainer.run(iter_transitions(args.from_bag, skipped))
    except (ValueError, OSError) as error:
        print(f'pushgrasp train: {error}', file=sys.stderr)
        return EXIT_UNAVAILABLE
    except KeyboardInterrupt:
        return interrupted(args.out)
    skipped_text = ', '.join(f'{count} {reason}' for reason, count in sorted(skipped.items())) or 'none'
    print(f'read {figures["transitions"]} transitions from {len(args.from_bag)} bag(s); skipped '
          f'{sum(skipped.values())} ({skipped_text})')
    figures = {'transitions_read': figures['transitions'], 'skipped': dict(skipped), **figures}
    print(f'final loss {figures["final_loss"]:.5f} after {figures["steps"]} steps -> {args.out}')
    print_figures(figures)
    write_json(args.json, figures)
    return 0


def run_curves(args: argparse.Namespace) -> int:
    """`pushgrasp curves RUN...`: the training curves of runs as a CSV and a PNG."""
    from pushgrasp_policy.curves import plot_curves, training_curve, write_curve_csv
    try:
        curve = [row for run in args.runs for row in training_curve(run, window=args.window)]
    except (OSError, ValueError, KeyError) as error:
        print(f'pushgrasp curves: {error}', file=sys.stderr)
        return EXIT_UNAVAILABLE
    write_curve_csv(curve, args.csv)
    plot_curves(curve, args.png, window=args.window)
    print(f'{len(curve)} points of {len(args.runs)} runs -> {args.csv}, {args.png}')
    return 0


TRAIN_EXAMPLES = """examples:
  pushgrasp train --out runs/a
      online in the simulator; runs/a/experience/ holds every transition as rosbag2 bags
  pushgrasp train --out runs/a --resume
      continue after a stop or a crash, exactly as if it had not stopped
  pushgrasp train --from-bag BAG [BAG ...] --steps 2000 --out runs/off
      offline from bags recorded from the graph (pushgrasp record) or by a run (runs/a/experience)
  pushgrasp train --from-bag BAG [BAG ...] --steps 4000 --out runs/off --resume
      continue the offline run to 4000 steps (with the same bags)
  pushgrasp train --init-from runs/off/checkpoint.pt --preload BAG [BAG ...] --out runs/b
      continue online in the simulator from the offline weights, the offline transitions in the replay
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `pushgrasp` and all its sub-commands."""
    parser = argparse.ArgumentParser(
        prog='pushgrasp', description='Learn to push and grasp objects out of clutter: simulate, train, evaluate, '
                                      'and run the ROS 2 graph.')
    commands = parser.add_subparsers(dest='command', metavar='COMMAND')

    def command(name: str, help_text: str, figures: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument('--seed', type=int, default=None, help='seed of everything random (default 0)')
        if figures:
            sub.add_argument('--json', metavar='PATH', help='write the figures this command reports to PATH')
        return sub

    demo = command('demo', 'Clear a simulated cluttered table through the real ROS 2 nodes; write a report folder.')
    demo.add_argument('--out', default='demo_out', help='report folder (default demo_out/)')
    demo.add_argument('--objects', type=int, default=10, help='objects in the scene (default 10)')
    demo.add_argument('--max-actions', type=int, default=30, help='action budget (default 30)')
    demo.add_argument('--policy', default='vpg',
                      help='policy the policy node serves: vpg (learned), heuristic or random (default vpg)')
    demo.add_argument('--checkpoint', default='',
                      help='checkpoint of the vpg policy: a path, or shipped / grasp-only (default: shipped)')
    demo.add_argument('--case', metavar='FILE', help='a test-case file (reference format) instead of random objects')
    demo.add_argument('--goal', default='', metavar='COLOUR',
                      help='goal mode: pick only the object of this colour, a colour name (red, blue, ...) or '
                           '"R,G,B" (default: clear the table)')
    demo.add_argument('--goal-checkpoint', default='goal',
                      help='goal mode: the goal policy, a goal-conditioned checkpoint or a policy spec used greedily '
                           'on the goal, e.g. shipped (default: goal, the shipped goal-conditioned weights)')
    demo.set_defaults(handler=run_demo)

    train = command('train', 'Train the VPG-style push-grasp policy: online in the embedded simulator, offline from '
                    'recorded bags (--from-bag), or online from where an earlier (e.g. offline) run stopped '
                    '(--init-from). Every run is resumable (--resume).')
    train.formatter_class = argparse.RawDescriptionHelpFormatter
    train.epilog = TRAIN_EXAMPLES
    train.add_argument('--method', choices=('vpg', 'goal'), default='vpg',
                       help='vpg: goal-agnostic push-grasp clearing (default); goal: goal-conditioned grasping of one '
                            'object, trained in --stage grasp, push, alternate')
    train.add_argument('--stage', choices=('grasp', 'push', 'alternate'), default='grasp',
                       help='--method goal: the stage to train; push and alternate start from --init-from (the '
                            'previous stage run\'s checkpoint.pt)')
    train.add_argument('--explorer', default='', metavar='CHECKPOINT',
                       help='--method goal: a goal-agnostic VPG checkpoint whose best grasp is the exploring grasp '
                            '(e.g. shipped; default: random grasps)')
    train.add_argument('--vpg-init', default='', metavar='CHECKPOINT',
                       help='--method goal: start the networks this stage trains from a goal-agnostic VPG checkpoint '
                            '(e.g. shipped), the goal channel weighted zero (default: no; not in the reference)')
    train.add_argument('--grasp-threshold', type=float, default=None,
                       help='--method goal: grasp the goal once its best grasp Q reaches this (default 0.9)')
    train.add_argument('--max-pushes', type=int, default=None,
                       help='--method goal: pushes before a grasp is forced (default 5)')
    train.add_argument('--push-clearance-reward', type=float, default=None, metavar='D',
                       help='--method goal: a push that changed the scene also earns the push reward when the share '
                            'of empty table within 3 cm of the goal rose by more than D (default: off, the '
                            "reference's rule; not in the reference)")
    train.add_argument('--alternate-episodes', type=int, nargs=2, default=None, metavar=('PUSH', 'GRASP'),
                       help='--method goal --stage alternate: episodes of each push phase and of each grasp phase '
                            '(default 500 1000, the reference\'s)')
    train.add_argument('--switch-explore', type=float, default=None, metavar='P',
                       help='--method goal --stage alternate: in grasp phases, grasp the goal with probability P at '
                            'each step where the threshold says push, so the grasp network learns the goal\'s value '
                            'before the switch (default 0, the reference\'s; not in the reference)')
    train.add_argument('--epsilon', type=float, default=None, metavar='E',
                       help='--method goal: the exploration probability this stage run starts from, decaying from '
                            'there (default 0.5)')
    train.add_argument('--out', default='runs/vpg',
                       help='run folder: checkpoints, logs, TensorBoard; an online run also writes every transition '
                            'to OUT/experience/ as rosbag2 bags (default runs/vpg)')
    train.add_argument('--transitions', type=int, default=2500, help='transitions to train for (default 2500)')
    train.add_argument('--from-bag', nargs='+', metavar='PATH',
                       help='train offline on the transitions recorded in these rosbag2 bags (bag folders, or '
                            'folders of bags such as a run\'s experience/), not in the simulator')
    train.add_argument('--steps', type=int, default=1000,
                       help='with --from-bag: learning steps (default 1000)')
    train.add_argument('--init-from', metavar='CHECKPOINT',
                       help='online: start from the weights (and optimiser state) of CHECKPOINT, e.g. an offline '
                            "run's OUT/checkpoint.pt, a policy.pt, or shipped; its network and agent settings are "
                            'kept unless --grasp-only, --optimizer, --lr, --extra-replays or --push-out-reward '
                            'are given')
    train.add_argument('--preload', nargs='+', metavar='BAG',
                       help='online: fill the replay with the transitions of these bags before the first action '
                            '(e.g. the bags an offline run trained on; labelled once by the starting network)')
    train.add_argument('--objects', type=int, default=10, help='random objects per scene (default 10)')
    train.add_argument('--case', metavar='FILE', help='train on this test case instead of random scenes')
    train.add_argument('--packed-fraction', type=float, default=0.0, metavar='P',
                       help='share of episodes that start from a random tightly packed group of blocks instead of '
                            'random drops (default 0)')
    train.add_argument('--grasp-only', action='store_true', default=None,
                       help='the grasping-only baseline: pushes disabled')
    train.add_argument('--resume', action='store_true',
                       help='continue the run in --out from its last checkpoint (an offline run: with the same '
                            '--from-bag bags)')
    train.add_argument('--trunk', default=None, help='network trunk (dilated, residual; default dilated)')
    train.add_argument('--width', type=int, default=None, help='trunk width (default 32)')
    train.add_argument('--optimizer', default=None, choices=('adam', 'sgd'), help='optimiser (default adam)')
    train.add_argument('--lr', type=float, default=None, help='learning rate (default 1e-4)')
    train.add_argument('--push-out-reward', type=float, default=None, metavar='R',
                       help='reward of a push after which an object had left the workspace (default: the '
                            "reference's, any change earns 0.5); e.g. -0.5 to teach pushes not to sweep blocks out")
    train.add_argument('--extra-replays', type=int, default=None,
                       help='surprise-ranked replays per step beyond the reference one (default 0)')
    train.add_argument('--checkpoint-every', type=int, default=100,
                       help='transitions between checkpoints, taken at episode ends (with --from-bag: learning '
                            'steps) (default 100)')
    train.add_argument('--eval-every', type=int, default=0, help='transitions between greedy evaluations (0: none)')
    train.add_argument('--eval-trials', type=int, default=3, help='trials per evaluation (default 3)')
    train.add_argument('--eval-objects', type=int, default=10, help='objects per evaluation trial (default 10)')
    train.add_argument('--log-every', type=int, default=25,
                       help='when stderr is not a terminal, print every N-th progress line (default 25)')
    train.set_defaults(handler=run_train)

    curves = command('curves', 'Draw the training curves of runs (grasp success, share of pushes).', figures=False)
    curves.add_argument('runs', nargs='+', metavar='RUN', help='run folders written by pushgrasp train')
    curves.add_argument('--csv', default='training_curve.csv', help='CSV of the curves (default training_curve.csv)')
    curves.add_argument('--png', default='training_curve.png', help='picture (default training_curve.png)')
    curves.add_argument('--window', type=int, default=200, help='transitions per running rate (default 200)')
    curves.set_defaults(handler=run_curves)

    for name, what in UNAVAILABLE.items():
        command(name, what[0].upper() + what[1:].split(' (')[0] + '.').set_defaults(handler=unavailable(name, what))

    record = command('record', 'Record a graph to a rosbag2 bag: the simulated graph for N episodes (--sim), '
                               'or a running graph until Ctrl-C.')
    record.add_argument('--sim', action='store_true', help='run the simulated graph and record it')
    record.add_argument('--out', default=None,
                        help='bag directory to create, refused when it exists (default pushgrasp_<date>_<time>)')
    record.add_argument('--episodes', type=int, default=1, help='--sim: episodes to record (default 1)')
    record.add_argument('--objects', type=int, default=10, help='--sim: random objects per scene (default 10)')
    record.add_argument('--case', metavar='FILE', help='--sim: a test-case file instead of random objects')
    record.add_argument('--max-actions', type=int, default=30, help='--sim: action budget per episode (default 30)')
    record.add_argument('--policy', default='vpg', help='--sim: vpg, heuristic or random (default vpg)')
    record.add_argument('--storage', default='mcap', choices=('mcap', 'sqlite3'),
                        help='bag storage (default mcap; sqlite3 survives a SIGKILL as it is)')
    record.add_argument('--camera', action='store_true', help='also record the camera topics (large)')
    record.set_defaults(handler=run_record)

    bench = command('bench', 'Measure speed and memory and print the figures.')
    bench.add_argument('target', choices=sorted(BENCHMARKS), help='what to measure')
    bench.add_argument('--primitives', type=int, default=30, help='sim: primitives to time (default 30)')
    bench.add_argument('--decisions', type=int, default=20, help='policy: decisions to time (default 20)')
    bench.add_argument('--transitions', type=int, default=None,
                       help='policy: training transitions to time (default 40); bags: transitions of the training '
                            'run whose recording is timed (default 10)')
    bench.add_argument('--bag-transitions', type=int, default=1000,
                       help='bags: transitions in the bag written and read back (default 1000)')
    bench.add_argument('--soak', type=int, default=0, metavar='N',
                       help='sim: also run N consecutive random scenes and report failures and memory growth')
    bench.set_defaults(handler=run_bench)

    calibrate = command('calibrate', 'Calibrate the camera-to-robot pose from a marker the arm moves through a grid.')
    calibrate.add_argument('--sim', action='store_true', help='calibrate the simulated cell')
    calibrate.add_argument('--out', default='calibration.yaml', help='calibration YAML to write')
    calibrate.add_argument('--perturb-mm', type=float, default=0.0, help='sim: move the camera up to this far')
    calibrate.add_argument('--perturb-deg', type=float, default=0.0, help='sim: turn the camera up to this much')
    calibrate.set_defaults(handler=run_calibrate)

    scene = command('scene', 'Build a simulated scene, let it settle, save a picture and the object poses.')
    source = scene.add_mutually_exclusive_group(required=True)
    source.add_argument('--case', metavar='FILE', help='a test-case file in the reference format')
    source.add_argument('--random', type=int, metavar='N', help='N random objects dropped from the seed')
    scene.add_argument('--png', metavar='PATH', help='write the camera image and the top view to PATH')
    scene.set_defaults(handler=run_scene)

    evaluation = command('eval', 'Evaluate a policy on random scenes or test cases: completion, grasp success and '
                                 'action efficiency, as in the reference benchmark.')
    evaluation.add_argument('--policy', default='shipped', metavar='SPEC',
                            help='a checkpoint path, shipped, reference-reward, grasp-only, heuristic or random; '
                                 'with --method goal also goal and goal-alternate, the goal-conditioned weights '
                                 '(default shipped)')
    cases = evaluation.add_mutually_exclusive_group()
    cases.add_argument('--cases', metavar='DIR|FILE', help='a test-case file, or a directory of them (*.txt); '
                       "'challenging' names the shipped challenging arrangements")
    cases.add_argument('--random', type=int, metavar='N',
                       help=f'scenes of N random objects (the default, N = {EVAL_DEFAULT_OBJECTS})')
    evaluation.add_argument('--method', choices=('vpg', 'goal'), default='vpg',
                            help='vpg: clear the table (default); goal: pick one goal object per trial, reporting '
                                 'completion, goal grasp success and motion number')
    evaluation.add_argument('--goals', metavar='FILE',
                            help="--method goal: goal cases, one 'case-file-name goal-index' line each (with "
                                 '--random N, also scenes of N random objects with a random goal)')
    evaluation.add_argument('--grasp-threshold', type=float, default=None, metavar='Q',
                            help="--method goal with a goal-conditioned policy: grasp the goal once its best grasp Q "
                                 "reaches Q (default: the checkpoint's)")
    evaluation.add_argument('--keep-pushes-inside', type=float, default=None, metavar='M',
                            help='cut pushes short, or leave them out, so that what they shove ahead stays M metres '
                                 'inside the workspace; negative: pushes run their full stroke whatever lies ahead '
                                 '(default 0.01; with --method goal, -1)')
    evaluation.add_argument('--probe-goal-grasps', action='store_true',
                            help='--method goal with a goal-conditioned policy: before each action, try its best goal '
                                 'grasp and undo it; each step records whether it would have picked the goal, and '
                                 'probe_motion_number the motions had it grasped at the first such step')
    evaluation.add_argument('--drop-margin', type=float, default=None, metavar='M',
                            help='with --random N: drop the objects with their centres at least M metres inside the '
                                 'workspace edges (default 0.1, as the reference code; training scenes use 0.06)')
    evaluation.add_argument('--trials', type=int, default=10, help='trials per case (default 10)')
    evaluation.add_argument('--max-actions', type=int, default=None, metavar='M',
                            help='action budget per trial (default 5 per object)')
    evaluation.add_argument('--pictures', metavar='DIR',
                            help='write every step\'s Q-map with the chosen primitive to DIR/<case>/trial_<k>/')
    evaluation.set_defaults(handler=run_eval)

    launch = command('launch', 'Start a node graph (mock, real, hsr) as processes, without the ros2 CLI.',
                     figures=False)
    launch.add_argument('graph', nargs='?', help='graph name; see --list')
    launch.add_argument('assignments', nargs='*', metavar='name:=value', help='graph arguments')
    launch.add_argument('--list', action='store_true', help='list the graphs and their arguments')
    launch.add_argument('--duration', type=float, default=None, help='stop after this many seconds')
    launch.set_defaults(handler=run_launch)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `pushgrasp` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, 'handler', None):
        parser.print_help()
        return EXIT_UNAVAILABLE
    return int(args.handler(args) or 0)


if __name__ == '__main__':
    sys.exit(main())

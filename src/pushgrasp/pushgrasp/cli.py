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
from collections.abc import Callable

EXIT_UNAVAILABLE = 2

# Sub-commands that later parts of the project fill in, and what each will do.
UNAVAILABLE = {
    'train': 'train a push-grasp policy in the simulator (needs the embedded simulator and the VPG trainer)',
    'eval': 'evaluate a policy on random scenes or test cases (needs the simulator and the evaluator)',
    'record': 'record a graph to a rosbag2 bag (needs the recorder)',
}
BENCHMARKS = {
    'sim': 'primitives and RGB-D frames per second of the embedded simulator',
    'perception': 'milliseconds per 640x480 frame for heightmaps, fusion and point clouds',
    'policy': 'milliseconds per decision and training transitions per second',
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
    else:
        print(f'pushgrasp bench {args.target}: not available in this version: it will measure '
              f'{BENCHMARKS[args.target]}.', file=sys.stderr)
        return EXIT_UNAVAILABLE
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


def run_demo(args: argparse.Namespace) -> int:
    """`pushgrasp demo`."""
    from pushgrasp.demo import DemoConfig, run_demo as demo
    config = DemoConfig(seed=args.seed if args.seed is not None else 0, out=Path(args.out),
                        max_actions=args.max_actions, num_objects=args.objects, policy=args.policy,
                        checkpoint=args.checkpoint, test_case=args.case or '')
    try:
        metrics = demo(config)
    except RuntimeError as error:
        print(f'pushgrasp demo: {error}', file=sys.stderr)
        return 1
    write_json(args.json, metrics)
    return 0


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
    demo.add_argument('--policy', default='heuristic', help='policy the policy node serves (default heuristic)')
    demo.add_argument('--checkpoint', default='', help='checkpoint of a learned policy')
    demo.add_argument('--case', metavar='FILE', help='a test-case file (reference format) instead of random objects')
    demo.set_defaults(handler=run_demo)

    for name, what in UNAVAILABLE.items():
        command(name, what[0].upper() + what[1:].split(' (')[0] + '.').set_defaults(handler=unavailable(name, what))

    bench = command('bench', 'Measure speed and memory and print the figures.')
    bench.add_argument('target', choices=sorted(BENCHMARKS), help='what to measure')
    bench.add_argument('--primitives', type=int, default=30, help='sim: primitives to time (default 30)')
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

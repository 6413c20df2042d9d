# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Goal-oriented evaluation: goals files, the benchmark's goal metrics by hand, the greedy goal baseline,
and real trials in the simulator."""

import json
from dataclasses import replace

import numpy as np
import pytest

from pushgrasp_control.primitives import PrimitiveType, primitive_from_pixel
from pushgrasp_perception.synthetic import BLOCK_SHAPES, PALETTE, PlacedBlock, render_blocks
from pushgrasp_perception.workspace import DEFAULT_WORKSPACE
from pushgrasp_policy.decision import Decision
from pushgrasp_policy.evaluation import EMPTY_SCENE, SIM_UNSTABLE, TOO_MANY_FAILURES, EvaluationConfig, trial_seed
from pushgrasp_policy.goal_evaluation import (
    GOAL_ABSENT, GOAL_LOST, GOAL_PICKED, GoalCase, GoalsFileError, GoalTrialResult, evaluate_goals,
    expand_goal_cases, format_goal_summary, load_goals_file, parse_goals, run_goal_trial, summarize_goals)
from pushgrasp_policy.goal_policy import GoalPolicy, GreedyGoalPolicy, goal_policy_from_spec, near_goal
from pushgrasp_policy.heuristic import HeuristicPolicy
from pushgrasp_sim.env import PushGraspEnv, SimConfig
from pushgrasp_sim.testcases import TESTCASE_DIR

# Three blocks well apart (reference frame, palette colours): a blue cube, a green plank, a brown cylinder.
THREE_APART = """\
# <name>.obj R G B x y z rx ry rz
4.obj 0.305882 0.474510 0.654902 -0.600000 -0.120000 0.025000 0 0 0
3.obj 0.349020 0.631373 0.309804 -0.450000 0.000000 0.012500 0 0 0.5
8.obj 0.611765 0.458824 0.372549 -0.380000 0.130000 0.025000 0 0 0
"""
# One cube 3 cm inside the workspace's +y edge (our y = 0.224 - 0.03), and a cylinder in the middle.
CUBE_AT_EDGE = """\
4.obj 0.305882 0.474510 0.654902 -0.500000 0.194000 0.025000 0 0 0
8.obj 0.349020 0.631373 0.309804 -0.500000 -0.050000 0.025000 0 0 0
"""


@pytest.fixture(scope='module')
def env():
    with PushGraspEnv(SimConfig(segmentation=True)) as environment:
        yield environment


@pytest.fixture
def three_apart(tmp_path):
    path = tmp_path / 'three_apart.txt'
    path.write_text(THREE_APART)
    return path


# --- goals files -----------------------------------------------------------------------------------------
def test_goals_files_list_case_and_goal_index_pairs(tmp_path, three_apart):
    goals = tmp_path / 'goals.txt'
    goals.write_text('# case goal-index\n\nthree_apart.txt 2\n'
                     'side_by_side 1\n'                         # a shipped case, without .txt
                     'challenging_01_cube_square.txt 4   \n')   # a shipped challenging case
    cases = load_goals_file(goals)
    assert [name for name, _ in cases] == ['three_apart:2', 'side_by_side:1', 'challenging_01_cube_square:4']
    assert cases[0][1] == GoalCase(scene=three_apart, goal_line=2)
    assert cases[1][1].scene == TESTCASE_DIR / 'side_by_side.txt'
    assert cases[2][1].scene == TESTCASE_DIR / 'challenging' / 'challenging_01_cube_square.txt'
    spec = cases[0][1].scene_spec(7, EvaluationConfig())
    assert spec.testcase == three_apart and spec.goal_line == 2 and spec.seed == 7
    random = expand_goal_cases(goals, random=5)
    assert random[-1] == ('random5', GoalCase(scene=5))
    spec = random[-1][1].scene_spec(3, EvaluationConfig(drop_margin=0.08))   # random objects, the evaluation's spread
    assert (spec.num_objects, spec.seed, spec.testcase, spec.drop_margin) == (5, 3, None, 0.08)
    assert EvaluationConfig().scene_to_reset(np.int64(5), 3).drop_margin == 0.1  # a numpy count is a count too


@pytest.mark.parametrize('line, message', [
    ('three_apart.txt', r'goals.txt:3: expected "case-file-name goal-index", got 1 fields'),
    ('three_apart.txt 1 2', 'goals.txt:3: expected .* got 3 fields'),
    ('three_apart.txt one', "goals.txt:3: goal index 'one' is not an integer"),
    ('three_apart.txt -1', 'goals.txt:3: goal index -1 is negative'),
    ('no_such_case.txt 0', 'goals.txt:3: cannot read test case .*no_such_case.txt'),
    ('three_apart.txt 3', 'goals.txt:3: .*goal line 3 does not name an object in the scene'),
    ('broken.txt 0', r'goals.txt:3: .*broken.txt:1: expected 10 fields'),
])
def test_malformed_goal_lines_name_the_file_and_line(tmp_path, three_apart, line, message):
    (tmp_path / 'broken.txt').write_text('4.obj 0 0 0\n')
    goals = tmp_path / 'goals.txt'
    goals.write_text(f'# first line\nthree_apart.txt 0\n{line}\n')
    with pytest.raises(GoalsFileError, match=message):
        load_goals_file(goals)


def test_missing_or_empty_goals_files_and_no_cases_are_errors(tmp_path):
    with pytest.raises(GoalsFileError, match='missing.txt: cannot read the goals file'):
        load_goals_file(tmp_path / 'missing.txt')
    with pytest.raises(GoalsFileError, match='empty.txt: no goals'):
        (tmp_path / 'empty.txt').write_text('# nothing\n')
        load_goals_file(tmp_path / 'empty.txt')
    with pytest.raises(ValueError, match='no goal cases'):
        expand_goal_cases()
    with pytest.raises(ValueError, match='at least 1'):
        expand_goal_cases(random=0)
    assert isinstance(GoalsFileError('x'), ValueError)
    assert parse_goals('side_by_side 0\n')[0][0] == 'side_by_side:0'


# --- metrics, by hand ------------------------------------------------------------------------------------
def trial(case='a', completed=True, actions=3, attempts=2, goal_grasps=None, reason=None, **kw):
    goal_grasps = int(completed) if goal_grasps is None else goal_grasps
    reason = reason if reason is not None else (GOAL_PICKED if completed else f'{TOO_MANY_FAILURES}: 10')
    return GoalTrialResult(case=case, seed=0, num_objects=5, actions=actions, grasp_attempts=attempts,
                           pushes=actions - attempts, completed=completed, reason=reason, goal_object=1,
                           goal_grasps=goal_grasps, **kw)


def test_goal_metrics_are_the_benchmarks():
    trials = [
        trial('a', actions=1, attempts=1),                     # goal grasp success 1/1, 1 action
        trial('a', actions=4, attempts=2, other_picked=1),     # 1/2, 4 actions
        trial('b', actions=6, attempts=4),                     # 1/4, 6 actions
        trial('b', completed=False, actions=12, attempts=9),   # not completed: only in completion
        trial('b', completed=False, actions=0, attempts=0, reason=f'{GOAL_ABSENT}: gone'),   # not scored
        trial('b', completed=False, actions=2, attempts=1, reason=f'{SIM_UNSTABLE}: x'),     # not scored
        trial('b', completed=False, actions=0, attempts=0, reason=EMPTY_SCENE),              # not scored
    ]
    summary = summarize_goals(trials)
    assert summary['completion'] == pytest.approx(75.0)
    assert summary['goal_grasp_success'] == pytest.approx(100.0 * (1 + 1 / 2 + 1 / 4) / 3)  # 58.3, not pooled 3/7
    assert summary['motion_number'] == pytest.approx((1 + 4 + 6) / 3)
    assert summary['num_trials'] == 7 and summary['num_scored'] == 4 and summary['num_completed'] == 3
    assert summary['num_excluded'] == 3 and summary['actions'] == 23 and summary['other_picked'] == 1
    assert summary['end_reasons'] == {EMPTY_SCENE: 1, GOAL_ABSENT: 1, GOAL_PICKED: 3, SIM_UNSTABLE: 1,
                                      TOO_MANY_FAILURES: 1}
    assert summary['cases']['a']['completion'] == 100.0
    assert summary['cases']['a']['goal_grasp_success'] == pytest.approx(75.0)
    assert summary['cases']['b']['completion'] == pytest.approx(50.0)
    assert summary['cases']['b']['motion_number'] == pytest.approx(6.0)
    assert summary['trials'][1]['goal_grasp_success_rate'] == pytest.approx(0.5)
    assert summary['trials'][1]['other_picked'] == 1
    json.dumps(summary)
    table = format_goal_summary(summary)
    assert 'goal grasp success %' in table and '58.3' in table and '3.67' in table


def test_without_completed_goal_trials_the_means_are_undefined():
    summary = summarize_goals([trial(completed=False)])
    assert summary['completion'] == 0.0
    assert summary['goal_grasp_success'] is None and summary['motion_number'] is None
    assert 'n/a' in format_goal_summary(summary)
    assert summarize_goals([trial(completed=False, reason=EMPTY_SCENE)])['completion'] is None


# --- the greedy goal baseline, on synthetic heightmaps ----------------------------------------------------
def test_the_greedy_baseline_grasps_only_the_goal_and_pushes_only_near_it():
    blocks = [PlacedBlock(BLOCK_SHAPES[0], PALETTE[i], x, y, 0.2)
              for i, (x, y) in enumerate([(0.35, -0.12), (0.50, 0.0), (0.65, 0.13)])]
    policy = GreedyGoalPolicy(HeuristicPolicy())
    assert isinstance(policy, GoalPolicy)
    free = policy.base.decide(render_blocks(blocks, DEFAULT_WORKSPACE)).primitive  # where it goes goal-agnostic
    chosen = set()
    for goal in range(3):
        heightmap = render_blocks(blocks, DEFAULT_WORKSPACE, goal=goal)
        policy.base.repeat_guard.reset()
        decision = policy.decide(heightmap, heightmap.goal_mask)
        assert decision.primitive.type == PrimitiveType.GRASP
        assert heightmap.goal_mask[decision.primitive.row, decision.primitive.col], goal
        chosen.add((decision.primitive.row, decision.primitive.col))
        push_q, grasp_q = policy.goal_q_maps(heightmap, heightmap.goal_mask)
        assert np.all(np.isneginf(grasp_q[:, ~heightmap.goal_mask]))
        allowed = near_goal(heightmap.goal_mask, 0.05 / DEFAULT_WORKSPACE.resolution)
        assert np.all(np.isneginf(push_q[:, ~allowed])) and np.isfinite(push_q[:, allowed]).any()
    assert len(chosen) == 3 and (free.row, free.col) in chosen
    # A hidden goal: nothing to grasp, pushes anywhere.
    hidden = np.zeros(DEFAULT_WORKSPACE.shape, bool)
    push_q, grasp_q = policy.goal_q_maps(render_blocks(blocks, DEFAULT_WORKSPACE), hidden)
    assert np.all(np.isneginf(grasp_q)) and np.isfinite(push_q).all()
    assert policy.decide(render_blocks(blocks, DEFAULT_WORKSPACE), hidden).primitive.type == PrimitiveType.PUSH
    with pytest.raises(ValueError, match='goal mask'):
        policy.decide(render_blocks(blocks, DEFAULT_WORKSPACE), hidden[:10])


# --- real trials -----------------------------------------------------------------------------------------
class Scripted:
    """A stub goal policy: the i-th decision grasps or pushes at `steps[i]` = (kind, x, y, rotation)."""

    def __init__(self, steps):
        self.steps, self.calls, self.masks = list(steps), 0, []

    def decide(self, heightmap, goal_mask, explore=False, rng=None):
        self.masks.append(goal_mask.copy())
        kind, x, y, rotation = self.steps[min(self.calls, len(self.steps) - 1)]
        self.calls += 1
        row, col = heightmap.workspace.base_to_pixel(x, y)
        primitive = primitive_from_pixel(kind, rotation, row, col, heightmap.height, heightmap.workspace,
                                         q_value=1.0)
        shape = (16, *heightmap.shape)
        return Decision(primitive=primitive, push_q=np.zeros(shape, np.float32), grasp_q=np.ones(shape, np.float32))


GRASP, PUSH = PrimitiveType.GRASP, PrimitiveType.PUSH


def test_grasping_another_object_first_counts_against_goal_grasp_success(env, three_apart):
    # Our frame is the reference's moved by +1 m in x: the cube is at (0.40, -0.12), the cylinder at (0.62, 0.13).
    policy = Scripted([(GRASP, 0.62, 0.13, 0), (GRASP, 0.40, -0.12, 0)])
    result = run_goal_trial(env, policy, GoalCase(three_apart, goal_line=0), seed=0, case='scripted')
    assert result.goal_object == 0 and result.goal_color == 'blue'
    assert result.completed and result.reason == GOAL_PICKED, result.describe()
    assert (result.actions, result.grasp_attempts, result.goal_grasps, result.other_picked) == (2, 2, 1, 1)
    assert summarize_goals([result])['goal_grasp_success'] == pytest.approx(50.0)
    # The policy saw the goal's mask around the goal, and the goal is gone afterwards.
    row, col = DEFAULT_WORKSPACE.base_to_pixel(0.40, -0.12)
    assert policy.masks[0][row, col] and policy.masks[0].sum() > 300
    assert not env.object_mask(0).any() and env.object_mask(1).any()


def test_pushing_the_goal_out_of_the_workspace_loses_it(env, tmp_path):
    case = tmp_path / 'edge.txt'
    case.write_text(CUBE_AT_EDGE)
    # Start 6 cm before the cube's centre (0.5, 0.194) and push 10 cm along +y (rotation 4 of 16). The default push
    # stroke stops 5 cm inside the workspace edges, short of pushing the cube out: this cell lets it go to the edge.
    limits = replace(env.config.limits, push_edge_margin=0.0)
    with PushGraspEnv(replace(env.config, limits=limits)) as edge_env:
        result = run_goal_trial(edge_env, Scripted([(PUSH, 0.5, 0.134, 4)]), GoalCase(case, goal_line=0), seed=0)
    assert not result.completed and result.reason.startswith(GOAL_LOST), result.describe()
    assert result.actions == 1 and result.pushed_out == 1


def test_a_goal_pushed_only_partly_out_of_view_is_not_lost_and_can_be_picked(env, tmp_path):
    case = tmp_path / 'edge.txt'
    case.write_text(CUBE_AT_EDGE)
    # The same push from 9 cm before the cube: its centre ends about 1 cm beyond the edge, 1.5 cm of it in view.
    limits = replace(env.config.limits, push_edge_margin=0.0)
    with PushGraspEnv(replace(env.config, limits=limits)) as edge_env:
        policy = Scripted([(PUSH, 0.5, 0.104, 4), (GRASP, 0.5, 0.219, 0)])
        result = run_goal_trial(edge_env, policy, GoalCase(case, goal_line=0), seed=0)
    assert result.steps[0].objects_left_workspace == [0] and policy.masks[1].sum() >= 10
    assert result.completed and result.reason == GOAL_PICKED and result.actions == 2, result.describe()


def test_consecutive_failures_end_a_goal_trial(env, three_apart):
    config = EvaluationConfig(max_consecutive_failures=2, max_actions=10)
    empty_spot = Scripted([(GRASP, 0.30, 0.20, 0)])  # a workspace corner: nothing there
    result = run_goal_trial(env, empty_spot, GoalCase(three_apart, goal_line=1), seed=0, config=config)
    assert not result.completed and result.reason.startswith(TOO_MANY_FAILURES)
    assert result.actions == 2 and all(s.failed for s in result.steps)


def test_the_greedy_vpg_baseline_picks_the_named_goal(env, three_apart, tmp_path):
    """The shipped goal-agnostic policy used greedily on the goal grasps the goal, whichever it is."""
    policy = goal_policy_from_spec('shipped', seed=0)
    config = EvaluationConfig(max_actions=3, save_pictures=tmp_path)
    for goal in (0, 2):
        result = run_goal_trial(env, policy, GoalCase(three_apart, goal_line=goal), seed=0, config=config)
        assert result.completed and result.reason == GOAL_PICKED, result.describe()
        assert result.actions <= 2 and result.other_picked == 0
        assert not env.object_mask(goal).any()
        assert len([s for s in env.object_states() if s.inside_workspace]) == 2
    assert sorted(p.name for p in tmp_path.glob('*.png'))[0].startswith('step_000_')


def test_goal_policies_do_not_cut_their_pushes_unless_asked():
    """The push cut serves clearing the table; a goal policy's pushes run their stroke by default."""
    assert goal_policy_from_spec('heuristic', seed=0).base.config.keep_pushes_inside is None
    assert goal_policy_from_spec('heuristic', seed=0, keep_pushes_inside=0.02).base.config.keep_pushes_inside == 0.02
    assert goal_policy_from_spec('goal', seed=0).config.keep_pushes_inside is None
    from pushgrasp_policy.checkpoint import SHIPPED
    from pushgrasp_policy.goal_agent import GoalConditionedPolicy
    assert GoalConditionedPolicy.from_checkpoint(str(SHIPPED['goal'])).config.keep_pushes_inside is None
    from pushgrasp_policy.registry import policy_from_spec
    assert policy_from_spec('heuristic', seed=0).config.keep_pushes_inside == 0.01  # goal-agnostic: cut


def test_the_shipped_goal_weights_are_the_early_grasp_stage_after_the_alternate_one():
    from pushgrasp_policy.checkpoint import SHIPPED, load_checkpoint
    goal = load_checkpoint(SHIPPED['goal'], required=('trained', 'goal_agent_config'))
    before = load_checkpoint(SHIPPED['goal-alternate'], required=('trained', 'goal_agent_config'))
    # The last stage trained the grasp network (early goal grasps, exploring at 0.1); the push network barely.
    assert goal['trained']['grasp'] - before['trained']['grasp'] > 500
    assert goal['trained']['push'] - before['trained']['push'] < 10
    assert goal['goal_agent_config']['epsilon_start'] == 0.1 and before['goal_agent_config']['epsilon_start'] == 0.5
    policy = goal_policy_from_spec('goal-alternate', seed=0)  # the weights shipped before, by name
    assert type(policy).__name__ == 'GoalConditionedPolicy' and not policy.grasp_only


def test_the_shipped_goal_policy_pushes_the_goal_out_of_a_corner_pack_and_picks_it(env):
    """The shipped goal-conditioned weights ('goal') on a challenging arrangement that grasping alone fails."""
    policy = goal_policy_from_spec('goal', seed=0)
    assert type(policy).__name__ == 'GoalConditionedPolicy' and not policy.grasp_only
    case = GoalCase(TESTCASE_DIR / 'goal_challenging' / 'goal_10_corner_pack.txt', goal_line=1)
    result = run_goal_trial(env, policy, case, seed=0, config=EvaluationConfig(max_actions=8))
    assert result.completed and result.reason == GOAL_PICKED, result.describe()
    assert result.pushes >= 1 and result.actions <= 6 and result.other_picked == 0
    # Each step records the goal's grasp value V the hierarchy switched on: push below the threshold, grasp at or
    # above it or after max_pushes pushes.
    config = policy.agent.config
    values = [step.goal_value for step in result.steps]
    assert all(v is not None and 0.0 <= v <= 1.5 for v in values), values
    pushes = 0  # since the last grasp
    for k, step in enumerate(result.steps):
        assert (step.primitive == 'grasp') == (values[k] >= config.grasp_threshold or pushes >= config.max_pushes), \
            (k, values)
        pushes = pushes + 1 if step.primitive == 'push' else 0
    assert 'goal_value' in result.to_dict()['steps'][0]


def test_goal_grasp_probes_predict_the_grasp_and_leave_the_trial_unchanged(env):
    """Probing tries the goal-conditioned policy's best goal grasp before each action and undoes it."""
    case = GoalCase(TESTCASE_DIR / 'goal_challenging' / 'goal_10_corner_pack.txt', goal_line=1)
    plain = run_goal_trial(env, goal_policy_from_spec('goal', seed=0), case, seed=0,
                           config=EvaluationConfig(max_actions=8))
    probed = run_goal_trial(env, goal_policy_from_spec('goal', seed=0), case, seed=0,
                            config=EvaluationConfig(max_actions=8, probe_goal_grasps=True))
    steps = [(s.primitive, s.row, s.col, s.rotation_index, s.grasp_success) for s in probed.steps]
    assert steps == [(s.primitive, s.row, s.col, s.rotation_index, s.grasp_success) for s in plain.steps]
    assert all(s.goal_grasp_probe is None for s in plain.steps)
    assert all(isinstance(s.goal_grasp_probe, bool) for s in probed.steps)
    # The last action is the policy's best goal grasp; the probe just before it tried the very same grasp from
    # the very same state, and it picked the goal then too.
    assert probed.completed and probed.steps[-1].primitive == 'grasp' and probed.steps[-1].goal_grasp_probe
    first = next(k + 1 for k, s in enumerate(probed.steps) if s.goal_grasp_probe)
    summary = summarize_goals([probed])
    assert summary['probe_motion_number'] == first <= summary['motion_number']
    assert summarize_goals([plain])['probe_motion_number'] is None
    assert 'motions to first probe pick' in format_goal_summary(summary)


def test_random_goal_trials_are_deterministic_for_a_seed(env):
    def factory(seed):
        return GreedyGoalPolicy(HeuristicPolicy())

    config = EvaluationConfig(max_actions=2)
    cases = expand_goal_cases(random=3)
    first = evaluate_goals(factory, cases, trials=2, seed=4, config=config, env=env)
    second = evaluate_goals(factory, cases, trials=2, seed=4, config=config, env=env)
    assert [t.to_dict() for t in first] == [t.to_dict() for t in second]
    assert [t.seed for t in first] == [trial_seed(4, 0, 0), trial_seed(4, 0, 1)]
    assert all(0 <= t.goal_object < 3 and t.case == 'random3' for t in first)
    assert summarize_goals(first)['num_scored'] == 2

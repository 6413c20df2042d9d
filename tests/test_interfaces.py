# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The interface definitions are documented field by field and generate the types the nodes use."""

import re
from pathlib import Path

import pytest

INTERFACES = Path(__file__).resolve().parents[1] / 'src' / 'pushgrasp_interfaces'
FILES = sorted(p for folder in ('msg', 'srv', 'action') for p in (INTERFACES / folder).iterdir())
FIELD = re.compile(r'^(?P<type>[A-Za-z_][\w/]*(\[\d*\])?)\s+(?P<name>[A-Za-z_]\w*)(\s*=\s*\S+)?\s*(?P<comment>#.*)?$')


def fields(path: Path):
    """(line number, type, name, comment) of every field and constant of an interface file."""
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith('#') or line == '---':
            continue
        match = FIELD.match(line)
        assert match, f'{path.name}:{number}: not a field definition: {raw!r}'
        yield number, match['type'], match['name'], match['comment']


@pytest.mark.parametrize('path', FILES, ids=[p.name for p in FILES])
def test_every_field_is_documented(path):
    assert path.read_text().startswith('#'), f'{path.name} must start with a comment saying what it is'
    undocumented = [f'{path.name}:{n} {name}' for n, _, name, comment in fields(path)
                    if comment is None and not name.isupper()]
    assert not undocumented, f'fields without a comment: {undocumented}'


def test_the_cmake_file_lists_every_interface():
    cmake = (INTERFACES / 'CMakeLists.txt').read_text()
    for path in FILES:
        assert f'"{path.parent.name}/{path.name}"' in cmake, f'{path.name} is not generated'


def test_generated_types_have_the_designed_fields():
    from pushgrasp_interfaces.action import ExecutePrimitive, SelectPrimitive
    from pushgrasp_interfaces.msg import Heightmap, Primitive, Transition
    from pushgrasp_interfaces.srv import GetObjectPoses, ResetScene

    assert (Primitive.PUSH, Primitive.GRASP) == (0, 1)
    assert {'row', 'col', 'rotation_index', 'rotation_angle', 'position', 'yaw', 'push_direction',
            'push_length', 'q_value'} <= set(Primitive.get_fields_and_field_types())
    heightmap = Heightmap.get_fields_and_field_types()
    assert heightmap['color'] == heightmap['height'] == heightmap['goal_mask'] == 'sensor_msgs/Image'
    assert {'state', 'action', 'reward', 'next_state', 'episode_id', 'step_id'} <= set(
        Transition.get_fields_and_field_types())
    assert {'use_latest_heightmap', 'heightmap', 'goal_type', 'goal_mask', 'goal_color', 'goal_object_id',
            'explore'} <= set(SelectPrimitive.Goal.get_fields_and_field_types())
    assert {'primitive', 'push_q', 'grasp_q', 'rotation_index'} <= set(
        SelectPrimitive.Result.get_fields_and_field_types())
    assert {'stage'} <= set(SelectPrimitive.Feedback.get_fields_and_field_types())
    assert {'success', 'grasp_width', 'scene_changed', 'error'} <= set(
        ExecutePrimitive.Result.get_fields_and_field_types())
    assert (ExecutePrimitive.Feedback.PHASE_APPROACH, ExecutePrimitive.Feedback.PHASE_CONTACT,
            ExecutePrimitive.Feedback.PHASE_RETREAT) == (0, 1, 2)
    assert {'seed', 'scene_type', 'num_objects', 'test_case_file'} <= set(
        ResetScene.Request.get_fields_and_field_types())
    assert 'objects' in GetObjectPoses.Response.get_fields_and_field_types()

# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""The MuJoCo work cell with named read-outs of the UR5 and its gripper (dm_control's Physics idea).

`Physics` wraps an `MjModel` of the cell (assets/cell.xml, possibly with objects added per scene through
`mujoco.MjSpec`) and its `MjData`. Everything is addressed by the names in assets/ur5.xml; nothing
outside this module needs qpos or actuator index arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np

from pushgrasp_sim.kinematics import JOINT_NAMES

ASSETS = Path(__file__).resolve().parent / 'assets'
CELL_XML = ASSETS / 'cell.xml'

ARM_ACTUATORS = ('shoulder_pan', 'shoulder_lift', 'elbow', 'wrist_1', 'wrist_2', 'wrist_3')
GRIPPER_ACTUATOR = 'gripper'
FINGER_JOINTS = ('left_finger_joint', 'right_finger_joint')
FINGER_BODIES = ('left_finger', 'right_finger')
ROBOT_ROOT = 'base'
TABLE_GEOM = 'table'
TCP_SITE = 'tcp'
HOME_KEY = 'home'
GRIPPER_OPEN_WIDTH = 0.085
"""Jaw opening of the open gripper, metres."""


@dataclass(frozen=True)
class Contact:
    """One active contact between two geoms."""

    geom1: str
    geom2: str
    position: np.ndarray
    """Contact point in the world frame, metres."""
    distance: float
    """Signed distance of the surfaces (negative: penetration), metres."""
    normal_force: float
    """Force pressing the geoms together, newtons."""


def load_cell_spec(path: str | Path = CELL_XML) -> mujoco.MjSpec:
    """The work cell as an editable `MjSpec` (add scene objects to it, then `compile()`)."""
    return mujoco.MjSpec.from_file(str(path))


class Physics:
    """A MuJoCo model and data of the work cell with named accessors for the robot."""

    def __init__(self, model: mujoco.MjModel, data: mujoco.MjData | None = None) -> None:
        """Wrap `model` and `data`; without `data` a new one starts in the home keyframe."""
        self.model = model
        self.data = data if data is not None else mujoco.MjData(model)
        self._arm_qpos = np.array([model.joint(n).qposadr[0] for n in JOINT_NAMES])
        self._arm_dof = np.array([model.joint(n).dofadr[0] for n in JOINT_NAMES])
        self._finger_qpos = np.array([model.joint(n).qposadr[0] for n in FINGER_JOINTS])
        self._arm_act = np.array([model.actuator(n).id for n in ARM_ACTUATORS])
        self._gripper_act = model.actuator(GRIPPER_ACTUATOR).id
        self._tcp = model.site(TCP_SITE).id
        self._table = model.geom(TABLE_GEOM).id
        root = model.body(ROBOT_ROOT).id
        self.robot_geoms = np.flatnonzero(model.body_rootid[model.geom_bodyid] == root)
        """Ids of all geoms of the arm and gripper."""
        self._is_robot_geom = np.zeros(model.ngeom, dtype=bool)
        self._is_robot_geom[self.robot_geoms] = True
        self._is_table_geom = np.zeros(model.ngeom, dtype=bool)
        self._is_table_geom[self._table] = True
        self._finger_bodies = tuple(model.body(n).id for n in FINGER_BODIES)
        self._wrench = np.zeros(6)  # mj_contactForce's output, reused: the force check runs every physics step
        # Servo gains, to turn a feed-forward joint velocity into a position target offset.
        self.arm_kp = model.actuator_gainprm[self._arm_act, 0].copy()
        self.arm_kv = -model.actuator_biasprm[self._arm_act, 2].copy()
        self.steps_taken = 0
        """Physics steps taken through `step` since construction."""
        free = np.flatnonzero(model.jnt_type == mujoco.mjtJoint.mjJNT_FREE)
        self._free_linear_dofs = (model.jnt_dofadr[free][:, None] + np.arange(3)).ravel()
        self.peak_free_body_speed = 0.0
        """Largest linear speed (m/s) of a free body (the objects) after any `step` since it was last set to 0."""
        self.peak_free_body_horizontal_speed = 0.0
        """Largest horizontal speed (m/s) of a free body after any `step` since it was last set to 0."""
        if data is None:
            self.reset()

    @classmethod
    def from_xml(cls, path: str | Path = CELL_XML) -> Physics:
        """Load the cell (or another model including ur5.xml) from an MJCF file."""
        return cls(mujoco.MjModel.from_xml_path(str(path)))

    # --- names ----------------------------------------------------------------------------------------
    def joint_id(self, name: str) -> int:
        """Id of the joint `name`."""
        return self.model.joint(name).id

    def actuator_id(self, name: str) -> int:
        """Id of the actuator `name`."""
        return self.model.actuator(name).id

    def site_id(self, name: str) -> int:
        """Id of the site `name`."""
        return self.model.site(name).id

    def body_id(self, name: str) -> int:
        """Id of the body `name`."""
        return self.model.body(name).id

    def geom_id(self, name: str) -> int:
        """Id of the geom `name`."""
        return self.model.geom(name).id

    def geom_name(self, geom: int) -> str:
        """Name of geom `geom`, else its body's (the objects' geoms are unnamed), else 'geom <id>'."""
        return (mujoco.mj_id2name(self.model, mujoco.mjtObj.mjOBJ_GEOM, geom)
                or mujoco.mj_id2name(self.model, mujoco.mjtObj.mjOBJ_BODY, int(self.model.geom_bodyid[geom]))
                or f'geom {geom}')

    # --- state ----------------------------------------------------------------------------------------
    @property
    def timestep(self) -> float:
        """Physics time step, seconds."""
        return float(self.model.opt.timestep)

    @property
    def time(self) -> float:
        """Simulated time, seconds."""
        return float(self.data.time)

    @property
    def arm_qpos(self) -> np.ndarray:
        """The six arm joint angles, radians (a copy)."""
        return self.data.qpos[self._arm_qpos].copy()

    @property
    def arm_qvel(self) -> np.ndarray:
        """The six arm joint velocities, rad/s (a copy)."""
        return self.data.qvel[self._arm_dof].copy()

    @property
    def arm_ctrl(self) -> np.ndarray:
        """The six arm servo targets, radians (a copy)."""
        return self.data.ctrl[self._arm_act].copy()

    def set_arm_target(self, q: np.ndarray, qvel: np.ndarray | None = None) -> None:
        """Set the arm servo targets to joint angles `q`, with feed-forward joint velocities `qvel`."""
        target = np.asarray(q, dtype=float)
        if qvel is not None:
            # The servo applies kp (ctrl - q) - kv qdot, so this offset makes it kp e + kv (qvel - qdot).
            target = target + self.arm_kv / self.arm_kp * np.asarray(qvel, dtype=float)
        self.data.ctrl[self._arm_act] = target

    def set_gripper_target(self, width: float) -> None:
        """Set the gripper's target jaw opening in metres (0 closes with the full grip force)."""
        self.data.ctrl[self._gripper_act] = min(max(float(width), 0.0), GRIPPER_OPEN_WIDTH)

    def gripper_width(self) -> float:
        """The present jaw opening (distance between the finger pads), metres."""
        return float(self.data.qpos[self._finger_qpos].sum())

    def tcp_pose(self) -> np.ndarray:
        """The 4x4 pose of the TCP site in the base (world) frame."""
        pose = np.eye(4)
        pose[:3, :3] = self.data.site_xmat[self._tcp].reshape(3, 3)
        pose[:3, 3] = self.data.site_xpos[self._tcp]
        return pose

    def tcp_position(self) -> np.ndarray:
        """The TCP position in the base frame, metres (a copy)."""
        return self.data.site_xpos[self._tcp].copy()

    def tcp_yaw(self) -> float:
        """Yaw of the jaw axis (TCP x axis) about the base z axis, radians in (-pi, pi]."""
        xmat = self.data.site_xmat[self._tcp]
        return math.atan2(xmat[3], xmat[0])

    def body_position(self, name: str) -> np.ndarray:
        """World position of body `name` (a copy)."""
        return self.data.xpos[self.model.body(name).id].copy()

    def keyframe_arm_qpos(self, name: str = HOME_KEY) -> np.ndarray | None:
        """The arm joint angles of keyframe `name`, None when the model has no such keyframe."""
        key = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_KEY, name)
        return self.model.key_qpos[key][self._arm_qpos].copy() if key >= 0 else None

    # --- stepping -------------------------------------------------------------------------------------
    def reset(self, keyframe: str | None = HOME_KEY) -> None:
        """Reset the state to `keyframe` (or the model defaults when None or absent) and run forward."""
        key = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_KEY, keyframe) if keyframe else -1
        if key >= 0:
            mujoco.mj_resetDataKeyframe(self.model, self.data, key)
        else:
            mujoco.mj_resetData(self.model, self.data)
            self.data.ctrl[self._arm_act] = self.data.qpos[self._arm_qpos]
        mujoco.mj_forward(self.model, self.data)

    def forward(self) -> None:
        """Recompute positions and contacts after the state was edited."""
        mujoco.mj_forward(self.model, self.data)

    def step(self, n: int = 1) -> None:
        """Advance the simulation by `n` physics steps (and update the peak free-body speeds after them)."""
        mujoco.mj_step(self.model, self.data, nstep=int(n))
        self.steps_taken += int(n)
        if len(self._free_linear_dofs):
            velocity = self.data.qvel[self._free_linear_dofs].reshape(-1, 3)
            horizontal = np.einsum('ij,ij->i', velocity[:, :2], velocity[:, :2])
            speed = math.sqrt(float(np.max(horizontal + velocity[:, 2] ** 2)))
            if speed > self.peak_free_body_speed:
                self.peak_free_body_speed = speed
            speed = math.sqrt(float(np.max(horizontal)))
            if speed > self.peak_free_body_horizontal_speed:
                self.peak_free_body_horizontal_speed = speed

    # --- contacts -------------------------------------------------------------------------------------
    def _contacts(self, mask1: np.ndarray, mask2: np.ndarray) -> list[Contact]:
        """Active contacts with one geom in mask1 and the other in mask2 (boolean masks over geoms)."""
        ncon = self.data.ncon
        if ncon == 0:
            return []
        geoms = self.data.contact.geom[:ncon]
        g1, g2 = geoms[:, 0], geoms[:, 1]
        hits = np.flatnonzero((mask1[g1] & mask2[g2]) | (mask2[g1] & mask1[g2]))
        wrench = self._wrench
        contacts = []
        for i in hits:
            mujoco.mj_contactForce(self.model, self.data, int(i), wrench)
            contacts.append(Contact(self.geom_name(int(g1[i])), self.geom_name(int(g2[i])),
                                    self.data.contact.pos[i].copy(), float(self.data.contact.dist[i]),
                                    float(wrench[0])))
        return contacts

    def table_contacts(self) -> list[Contact]:
        """Active contacts between any robot geom and the table."""
        return self._contacts(self._is_robot_geom, self._is_table_geom)

    def touches_table(self) -> bool:
        """Whether any robot geom is in contact with the table (cheaper than `table_contacts`)."""
        ncon = self.data.ncon
        if ncon == 0:
            return False
        geoms = self.data.contact.geom[:ncon]
        robot1, robot2 = self._is_robot_geom[geoms[:, 0]], self._is_robot_geom[geoms[:, 1]]
        table1, table2 = self._is_table_geom[geoms[:, 0]], self._is_table_geom[geoms[:, 1]]
        return bool(np.any((robot1 & table2) | (table1 & robot2)))

    def max_robot_contact_force(self) -> float:
        """Largest normal force (N) of a contact between a robot geom and anything else; 0 without contact."""
        return self._strongest_robot_contact()[0]

    def strongest_robot_contact(self) -> tuple[float, str, str]:
        """(normal force N, robot geom, other geom) of the robot's strongest contact; (0, '', '') without one.

        The geoms are named by `geom_name`.
        """
        force, index = self._strongest_robot_contact()
        if index < 0:
            return 0.0, '', ''
        first, second = (int(g) for g in self.data.contact.geom[index])
        if not self._is_robot_geom[first]:
            first, second = second, first
        return force, self.geom_name(first), self.geom_name(second)

    def _strongest_robot_contact(self) -> tuple[float, int]:
        ncon = self.data.ncon
        if ncon == 0:
            return 0.0, -1
        geoms = self.data.contact.geom[:ncon]
        hits = np.flatnonzero(self._is_robot_geom[geoms[:, 0]] | self._is_robot_geom[geoms[:, 1]])
        wrench = self._wrench
        largest, index = 0.0, -1
        for i in hits:
            mujoco.mj_contactForce(self.model, self.data, int(i), wrench)
            if wrench[0] > largest:
                largest, index = float(wrench[0]), int(i)
        return largest, index

    def finger_contacts(self, body: str | int) -> tuple[list[Contact], list[Contact]]:
        """Active contacts of the (left, right) finger with the geoms of `body` (name or id)."""
        body_id = self.model.body(body).id if isinstance(body, str) else int(body)
        target = self.model.geom_bodyid == body_id
        left, right = (self._contacts(self.model.geom_bodyid == finger, target) for finger in self._finger_bodies)
        return left, right

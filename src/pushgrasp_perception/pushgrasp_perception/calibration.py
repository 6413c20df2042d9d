# Copyright 2026 The pushgrasp Authors
# SPDX-License-Identifier: Apache-2.0
"""Camera-to-robot calibration: a marker on the gripper, moved through a grid of poses, seen by the camera.

The procedure (`collect_and_solve`) drives any robot with the `move_linear` of pushgrasp_control's `Robot`
interface; it never touches a simulator or a driver directly:

1. The arm moves the TCP, pointing down at a fixed yaw, through a 3-D grid of positions above the
   workspace (`CalibrationGrid`: several heights, so that the points are not coplanar).
2. At each pose a colour frame is grabbed and the marker, a small brightly coloured ball at a known
   offset from the TCP, is found in it (`find_marker`: HSV thresholding, the largest round blob, and
   a centroid weighted by how much of each edge pixel the ball covers, accurate to about a tenth of a
   pixel or better on a clean image). Poses the arm cannot reach, and frames without a clean marker, are
   skipped and counted.
3. The marker's base-frame position (the TCP pose times the offset) is paired with its pixel, and
   `solve_camera_pose` finds the camera pose from the 3-D/2-D pairs: PnP (optionally inside RANSAC to
   reject bad detections), SQPnP for the global optimum, then Levenberg-Marquardt refinement.
4. `save_calibration` writes the camera-to-base pose (OpenCV optical frame: x right, y down, z forward)
   with its residuals to the calibration YAML the perception node reads (key `camera_pose`, 16 numbers
   row-major), atomically.

Plain numpy, OpenCV and PyYAML: no ROS, no simulator.
"""

from __future__ import annotations

import datetime
import math
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import yaml

from pushgrasp_perception.projection import check_camera_pose, check_intrinsics

MIN_POINTS = 6
"""Fewest 3-D/2-D pairs `solve_camera_pose` accepts."""

# Keys `save_calibration` writes itself; metadata may not override them.
_RESERVED_KEYS = ('camera_pose', 'rms_reprojection_px', 'residual_mm', 'num_points')


# --- the marker -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MarkerSpec:
    """What the calibration marker looks like in a colour image (a saturated, roughly round blob)."""

    hue_deg: float = 300.0
    """Hue of the marker colour, degrees (0 red, 120 green, 240 blue, 300 magenta)."""
    hue_tolerance_deg: float = 30.0
    """Largest hue difference of a marker pixel from `hue_deg`, degrees."""
    min_saturation: float = 0.5
    """Least HSV saturation (0..1) of a marker pixel."""
    min_value: float = 0.25
    """Least HSV value (brightness, 0..1) of a marker pixel."""
    min_area_px: int = 12
    """Fewest pixels of a marker blob."""
    max_area_px: int = 40000
    """Most pixels of a marker blob."""
    max_aspect: float = 1.6
    """Largest ratio of the blob's long to short axis (a ball is round; a half-hidden one is not)."""
    min_solidity: float = 0.8
    """Least ratio of the blob's area to the area of its convex hull."""
    border_px: int = 2
    """A blob closer than this to the image border may be cut off and is ignored."""

    def __post_init__(self) -> None:
        if not 0 < self.hue_tolerance_deg < 180:
            raise ValueError(f'hue_tolerance_deg must be in (0, 180), got {self.hue_tolerance_deg}')
        if not (0 <= self.min_saturation <= 1 and 0 <= self.min_value <= 1):
            raise ValueError('min_saturation and min_value must be in [0, 1]')
        if not 0 < self.min_area_px <= self.max_area_px:
            raise ValueError(f'need 0 < min_area_px <= max_area_px, got {self.min_area_px}, {self.max_area_px}')
        if not (self.max_aspect >= 1 and 0 <= self.min_solidity <= 1 and self.border_px >= 0):
            raise ValueError('need max_aspect >= 1, min_solidity in [0, 1] and border_px >= 0')


DEFAULT_MARKER = MarkerSpec()
"""A magenta ball, like the simulated gripper's (pushgrasp_sim assets/ur5.xml)."""


def _hue_distance_deg(hue: np.ndarray, target: float) -> np.ndarray:
    """Circular distance (degrees) of hues from `target`."""
    return np.abs((hue - target + 180.0) % 360.0 - 180.0)


def find_marker(color_image: np.ndarray, marker: MarkerSpec = DEFAULT_MARKER) -> tuple[float, float] | None:
    """The sub-pixel centre (u, v) of the calibration marker in an RGB image, or None when there is no clean one.

    Pixel centres are at integer coordinates (u right, v down), as in the intrinsics K used by pushgrasp.
    Pixels of the marker's colour are grouped into blobs; the largest blob that is round and solid
    enough and does not touch the image border is the marker. Its centre is the centroid of the blob
    and a one-pixel band around it, each pixel weighted by its colourfulness (chroma) between the local
    background's and the blob's own, i.e. by the fraction of the pixel the marker covers: anti-aliased
    or blurred edges then count in proportion, and the centre is found to a small fraction of a pixel.

    Raises ValueError for an image that is not (H, W, 3) uint8.
    """
    image = np.asarray(color_image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f'find_marker needs an (H, W, 3) uint8 RGB image, got shape {image.shape} {image.dtype}')
    height, width = image.shape[:2]
    hsv = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2HSV_FULL)
    hue = hsv[..., 0].astype(np.float32) * np.float32(360.0 / 256.0)
    mask = ((_hue_distance_deg(hue, marker.hue_deg) <= marker.hue_tolerance_deg)
            & (hsv[..., 1] >= marker.min_saturation * 255.0) & (hsv[..., 2] >= marker.min_value * 255.0))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    best, best_area = 0, 0
    for label in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[label])
        if not marker.min_area_px <= area <= marker.max_area_px or area <= best_area:
            continue
        border = marker.border_px
        if x < border or y < border or x + w > width - border or y + h > height - border:
            continue
        if _round_and_solid(labels[y:y + h, x:x + w] == label, marker):
            best, best_area = label, area
    if best == 0:
        return None
    return _weighted_centre(image, hue, labels, best, stats[best], marker)


def _round_and_solid(blob: np.ndarray, marker: MarkerSpec) -> bool:
    """Whether a blob mask (cropped) is round (second moments) and solid (area over convex hull area)."""
    moments = cv2.moments(blob.astype(np.uint8), binaryImage=True)
    area = moments['m00']
    cov = np.array([[moments['mu20'], moments['mu11']], [moments['mu11'], moments['mu02']]]) / area
    small, large = np.linalg.eigvalsh(cov)
    if small <= 0 or math.sqrt(large / small) > marker.max_aspect:
        return False
    contours, _ = cv2.findContours(blob.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    hull_area = cv2.contourArea(cv2.convexHull(np.vstack(contours)))
    # The contour runs through the outer pixel centres, so the hull misses about half a pixel all round.
    perimeter = cv2.arcLength(cv2.convexHull(np.vstack(contours)), closed=True)
    return area / (hull_area + 0.5 * perimeter + 1.0) >= marker.min_solidity


def _weighted_centre(image: np.ndarray, hue: np.ndarray, labels: np.ndarray, label: int, stats: np.ndarray,
                     marker: MarkerSpec) -> tuple[float, float]:
    """Coverage-weighted centroid of blob `label` and the pixel band around it (see `find_marker`)."""
    height, width = labels.shape
    x, y, w, h = (int(v) for v in stats[:4])
    pad = 4
    x0, y0, x1, y1 = max(x - pad, 0), max(y - pad, 0), min(x + w + pad, width), min(y + h + pad, height)
    core = (labels[y0:y1, x0:x1] == label).astype(np.uint8)
    kernel = np.ones((3, 3), np.uint8)
    band = cv2.dilate(core, kernel).astype(bool) & ~core.astype(bool)
    ring = cv2.dilate(core, kernel, iterations=3).astype(bool) & ~cv2.dilate(core, kernel, iterations=2).astype(bool)
    patch = image[y0:y1, x0:x1].astype(np.float32)
    chroma = patch.max(axis=2) - patch.min(axis=2)
    core = core.astype(bool)
    inside = float(np.percentile(chroma[core], 25))  # a shaded ball is still fully covered where darker
    outside = float(np.median(chroma[ring])) if ring.any() else 0.0
    weights = core.astype(np.float32)
    if inside - outside > 1.0:
        # Band pixels of about the marker's hue are a mix of marker and background: weight by coverage.
        similar = _hue_distance_deg(hue[y0:y1, x0:x1], marker.hue_deg) <= 2.0 * marker.hue_tolerance_deg
        coverage = np.clip((chroma - outside) / (inside - outside), 0.0, 1.0)
        weights[band & similar] = coverage[band & similar]
    rows, cols = np.mgrid[y0:y1, x0:x1]
    total = float(weights.sum())
    return float((weights * cols).sum() / total), float((weights * rows).sum() / total)


# --- the solver -------------------------------------------------------------------------------------------
@dataclass
class CalibrationResult:
    """A camera pose solved from 3-D/2-D marker pairs, and how well it explains them."""

    camera_pose: np.ndarray
    """4x4 camera-to-base transform of the OpenCV optical frame (x right, y down, z forward)."""
    rms_reprojection_px: float
    """RMS distance between the detected pixels and the projections of the base points (inliers), pixels."""
    residual_mm: float
    """RMS distance of the base points from the camera rays through their detected pixels (inliers), mm."""
    num_points: int
    """Pairs the pose was solved from (the inliers)."""
    max_reprojection_px: float = float('nan')
    """Largest reprojection error of an inlier, pixels."""
    inliers: np.ndarray | None = None
    """(N,) bool: which of the given pairs were used (the others were rejected as outliers)."""
    metadata: dict[str, Any] = field(default_factory=dict)
    """Where the result came from (date, source, procedure counts); written to and read from the YAML."""


def _check_pairs(points_base: np.ndarray, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    points = np.asarray(points_base, dtype=np.float64)
    pixels = np.asarray(pixels, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f'points_base must be (N, 3), got shape {points.shape}')
    if pixels.ndim != 2 or pixels.shape[1] != 2:
        raise ValueError(f'pixels must be (N, 2), got shape {pixels.shape}')
    if len(points) != len(pixels):
        raise ValueError(f'{len(points)} base points but {len(pixels)} pixels')
    if len(points) < MIN_POINTS:
        raise ValueError(f'need at least {MIN_POINTS} point pairs to solve the camera pose, got {len(points)}')
    if not (np.all(np.isfinite(points)) and np.all(np.isfinite(pixels))):
        raise ValueError('points_base or pixels contain NaN or infinite values')
    _check_spread(points, 'base points', 'collinear or coincident')
    _check_spread(pixels, 'pixels', 'collinear or coincident (the camera lies in the plane of the points?)')
    return points, pixels


def _check_spread(values: np.ndarray, name: str, problem: str) -> None:
    """Raise ValueError when `values` (N, d) do not span at least two directions."""
    spread = np.linalg.svd(values - values.mean(axis=0), compute_uv=False)
    if not (spread[0] > 0 and spread[1] > 1e-2 * spread[0]):
        raise ValueError(f'degenerate calibration points: the {name} are {problem}')


def _check_distortion(dist: np.ndarray | Sequence[float] | None) -> np.ndarray:
    if dist is None:
        return np.zeros(5)
    dist = np.asarray(dist, dtype=np.float64).ravel()
    if dist.size not in (4, 5, 8, 12, 14) or not np.all(np.isfinite(dist)):
        raise ValueError(f'distortion coefficients must be 4, 5, 8, 12 or 14 finite numbers, got {dist.tolist()}')
    return dist


def _pose_from_rvec(rvec: np.ndarray, tvec: np.ndarray) -> np.ndarray:
    """Camera-to-base 4x4 pose from OpenCV's base-to-camera rvec and tvec."""
    rotation, _ = cv2.Rodrigues(rvec)
    pose = np.eye(4)
    pose[:3, :3] = rotation.T
    pose[:3, 3] = -rotation.T @ np.asarray(tvec, dtype=np.float64).ravel()
    return pose


def solve_camera_pose(points_base: np.ndarray, pixels: np.ndarray, intrinsics: np.ndarray,
                      dist: np.ndarray | Sequence[float] | None = None,
                      ransac_threshold_px: float | None = 3.0) -> CalibrationResult:
    """The camera-to-base pose that best projects `points_base` onto `pixels`.

    Args:
        points_base: (N, 3) marker positions in the robot base frame, metres; N >= MIN_POINTS, not
            collinear (coplanar is fine unless the camera lies in their plane).
        pixels: (N, 2) detected marker centres (u, v), pixel centres at integer coordinates.
        intrinsics: 3x3 pinhole matrix K of the image.
        dist: OpenCV distortion coefficients of the image (None: none, e.g. a rectified stream).
        ransac_threshold_px: with a number, pairs reprojecting farther than this (pixels) from the RANSAC
            consensus pose are rejected as bad detections before the final fit; None uses every pair.

    Returns:
        The pose (SQPnP on the inliers, refined by Levenberg-Marquardt) and its residuals over the inliers.

    Raises:
        ValueError: malformed, too few, non-finite or degenerate pairs, a malformed K, or too few inliers.
    """
    points, pixels = _check_pairs(points_base, pixels)
    intrinsics = check_intrinsics(intrinsics)
    dist = _check_distortion(dist)
    inliers = np.ones(len(points), dtype=bool)
    if ransac_threshold_px is not None:
        if not ransac_threshold_px > 0:
            raise ValueError(f'ransac_threshold_px must be positive or None, got {ransac_threshold_px}')
        found, _, _, chosen = cv2.solvePnPRansac(points, pixels, intrinsics, dist, iterationsCount=500,
                                                 reprojectionError=float(ransac_threshold_px), confidence=0.999,
                                                 flags=cv2.SOLVEPNP_EPNP)
        if not found or chosen is None or len(chosen) < MIN_POINTS:
            agreeing = 0 if chosen is None else len(chosen)
            raise ValueError(f'only {agreeing} of {len(points)} point pairs agree on a camera pose within '
                             f'{ransac_threshold_px} px; need {MIN_POINTS}')
        inliers[:] = False
        inliers[chosen.ravel()] = True
    used_points, used_pixels = points[inliers], pixels[inliers]
    found, rvec, tvec = cv2.solvePnP(used_points, used_pixels, intrinsics, dist, flags=cv2.SOLVEPNP_SQPNP)
    if not found:
        raise ValueError('OpenCV could not solve the camera pose from the point pairs')
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 100, 1e-12)
    rvec, tvec = cv2.solvePnPRefineLM(used_points, used_pixels, intrinsics, dist, rvec, tvec, criteria)
    pose = _pose_from_rvec(rvec, tvec)
    projected, _ = cv2.projectPoints(used_points, rvec, tvec, intrinsics, dist)
    errors = np.linalg.norm(projected.reshape(-1, 2) - used_pixels, axis=1)
    residual = ray_distances(pose, used_points, used_pixels, intrinsics, dist)
    return CalibrationResult(camera_pose=pose, rms_reprojection_px=float(np.sqrt(np.mean(errors ** 2))),
                             residual_mm=float(1000.0 * np.sqrt(np.mean(residual ** 2))),
                             num_points=int(inliers.sum()), max_reprojection_px=float(errors.max()), inliers=inliers)


def ray_distances(camera_pose: np.ndarray, points_base: np.ndarray, pixels: np.ndarray, intrinsics: np.ndarray,
                  dist: np.ndarray | Sequence[float] | None = None) -> np.ndarray:
    """(N,) distances (metres) of base points from the camera rays through their pixels."""
    pose = check_camera_pose(camera_pose)
    pixels = np.asarray(pixels, dtype=np.float64).reshape(-1, 1, 2)
    normalised = cv2.undistortPoints(pixels, check_intrinsics(intrinsics), _check_distortion(dist)).reshape(-1, 2)
    rays = np.hstack([normalised, np.ones((len(normalised), 1))])
    rays /= np.linalg.norm(rays, axis=1, keepdims=True)
    local = (np.asarray(points_base, dtype=np.float64) - pose[:3, 3]) @ pose[:3, :3]  # base -> camera frame
    along = np.sum(local * rays, axis=1, keepdims=True)
    return np.linalg.norm(local - along * rays, axis=1)


def pose_difference(estimate: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(position error in mm, rotation error in degrees) between two 4x4 poses."""
    position = 1000.0 * float(np.linalg.norm(estimate[:3, 3] - truth[:3, 3]))
    cosine = (np.trace(estimate[:3, :3].T @ truth[:3, :3]) - 1.0) / 2.0
    return position, math.degrees(math.acos(min(1.0, max(-1.0, cosine))))


# --- the calibration file ---------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """`value` with numpy scalars and arrays, tuples and paths turned into plain YAML types."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def save_calibration(path: str | os.PathLike, result: CalibrationResult,
                     metadata: Mapping[str, Any] | None = None) -> Path:
    """Write `result` to the calibration YAML at `path` atomically (a temporary file, then a rename).

    Keys: camera_pose (16 numbers row-major, camera-to-base, OpenCV optical frame), rms_reprojection_px,
    residual_mm, num_points, date (UTC, ISO 8601), source, then result.metadata and `metadata` (which win).
    The perception node reads it with its `calibration_file` parameter. Returns the path.

    Raises ValueError for a malformed pose or metadata overriding one of the keys above.
    """
    pose = check_camera_pose(result.camera_pose)
    extra = {'date': datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds'),
             'source': 'pushgrasp_perception.calibration'}
    extra.update(_plain(dict(result.metadata)))
    extra.update(_plain(dict(metadata or {})))
    clash = sorted(set(extra) & set(_RESERVED_KEYS))
    if clash:
        raise ValueError(f'metadata may not set the keys {clash}')
    rows = ',\n'.join('  ' + ', '.join(f'{v: .9f}' for v in row) for row in pose)
    figures = {'rms_reprojection_px': float(result.rms_reprojection_px), 'residual_mm': float(result.residual_mm),
               'num_points': int(result.num_points)}
    text = ('# Camera-to-base calibration: the 4x4 pose (row-major) of the camera\'s OpenCV optical frame\n'
            '# (x right, y down, z forward) in the robot base frame, metres; see pushgrasp_perception.calibration.\n'
            f'camera_pose: [\n{rows}]\n'
            + yaml.safe_dump(figures, sort_keys=False) + yaml.safe_dump(extra, sort_keys=False))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    try:
        with os.fdopen(handle, 'w', encoding='utf-8') as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def load_calibration(path: str | os.PathLike) -> CalibrationResult:
    """Read a calibration YAML (as written by `save_calibration`, or any file with a `camera_pose` key).

    camera_pose may be 4x4 nested or 16 numbers row-major. Missing figures read as NaN (num_points 0);
    the other keys land in `metadata`. Raises ValueError for a file without a valid camera_pose and
    OSError when it cannot be read.
    """
    with open(path, encoding='utf-8') as stream:
        data = yaml.safe_load(stream)
    if not isinstance(data, dict) or 'camera_pose' not in data:
        raise ValueError(f'calibration file {path} has no top-level key camera_pose')
    try:
        pose = np.asarray(data.pop('camera_pose'), dtype=np.float64)
        if pose.size == 16:
            pose = pose.reshape(4, 4)
        pose = check_camera_pose(pose)
        figures = {'rms_reprojection_px': float(data.pop('rms_reprojection_px', float('nan'))),
                   'residual_mm': float(data.pop('residual_mm', float('nan'))),
                   'num_points': int(data.pop('num_points', 0))}
    except (TypeError, ValueError) as error:
        raise ValueError(f'calibration file {path}: {error}') from error
    return CalibrationResult(camera_pose=pose, metadata=data, **figures)


# --- the procedure ----------------------------------------------------------------------------------------
class LinearRobot(Protocol):
    """What calibration needs of a robot: pushgrasp_control.motion.Robot's straight TCP moves."""

    def move_linear(self, position: np.ndarray, yaw: float, speed: float, accel: float,
                    should_stop: Callable[[], bool] | None = None) -> bool:
        """Move the TCP in a straight line to `position`, pointing down at `yaw`; False if short of it."""
        ...


@dataclass(frozen=True)
class CalibrationGrid:
    """A box of TCP positions (base frame, metres) sampled on a regular grid."""

    x: tuple[float, float] = (0.32, 0.68)
    y: tuple[float, float] = (-0.18, 0.18)
    z: tuple[float, float] = (0.05, 0.20)
    """TCP heights above the base frame origin (the table surface in the work cell)."""
    shape: tuple[int, int, int] = (4, 4, 3)
    """Points along x, y and z; at least 2 heights so that the points are not coplanar."""

    def __post_init__(self) -> None:
        if len(self.shape) != 3 or min(self.shape) < 1 or self.shape[2] < 2:
            raise ValueError(f'grid shape must be 3 positive counts with at least 2 heights, got {self.shape}')
        if self.shape[0] * self.shape[1] < 2:
            raise ValueError(f'a grid of shape {self.shape} has its points on one vertical line')

    def points(self) -> list[np.ndarray]:
        """The grid's positions, layer by layer from the top, in a back-and-forth (serpentine) order."""
        bounds = (self.x, self.y, self.z)
        xs, ys, zs = (np.linspace(lo, hi, n) for (lo, hi), n in zip(bounds, self.shape, strict=True))
        points, flip = [], False
        for z in zs[::-1]:
            for i, x in enumerate(xs[::-1] if flip else xs):
                row = ys[::-1] if (i % 2 == 1) != flip else ys
                points.extend(np.array([x, y, z]) for y in row)
            flip = not flip
        return points


@dataclass
class CalibrationSamples:
    """The 3-D/2-D marker pairs collected over a grid, and what was skipped."""

    points_base: np.ndarray
    """(n, 3) marker positions in the base frame, metres."""
    pixels: np.ndarray
    """(n, 2) detected marker centres, pixels."""
    intrinsics: np.ndarray | None
    """K of the frames (None when no frame was grabbed)."""
    num_poses: int
    """Grid positions tried."""
    unreachable: int = 0
    """Positions the robot refused or did not arrive at."""
    not_found: int = 0
    """Frames without a clean marker (not in view, occluded, cut off)."""


def collect_samples(robot: LinearRobot, grab_frame: Callable[[], tuple[np.ndarray, np.ndarray]],
                    marker_in_tcp: np.ndarray, grid_points: Sequence[np.ndarray], yaw: float = 0.0, *,
                    tcp_pose: Callable[[], np.ndarray], speed: float = 0.1, accel: float = 0.5,
                    marker: MarkerSpec = DEFAULT_MARKER) -> CalibrationSamples:
    """Move the TCP through `grid_points` and pair the marker's base position with its pixel at each.

    Args:
        robot: moves the TCP (any pushgrasp_control.motion.Robot).
        grab_frame: returns a fresh (colour image (H, W, 3) uint8 RGB, 3x3 K) taken after the arm stopped.
        marker_in_tcp: (3,) marker centre in the TCP frame, metres.
        grid_points: TCP positions in the base frame, metres.
        yaw: jaw yaw of every pose, radians (choose it so the marker faces the camera).
        speed: TCP speed, m/s.
        accel: TCP acceleration, m/s^2.
        tcp_pose: returns the measured 4x4 TCP pose in the base frame (the marker is off the tool axis, so
            its position needs the arm's actual orientation, not the commanded one).
        marker: the marker's appearance.

    A move that raises RuntimeError (pushgrasp_control's RobotError is one) or returns False skips the pose.
    Raises ValueError when the frames' intrinsics change during the run.
    """
    offset = np.asarray(marker_in_tcp, dtype=np.float64)
    if offset.shape != (3,) or not np.all(np.isfinite(offset)):
        raise ValueError(f'marker_in_tcp must be 3 finite numbers, got {marker_in_tcp}')
    points, pixels = [], []
    intrinsics = None
    samples = CalibrationSamples(points_base=np.zeros((0, 3)), pixels=np.zeros((0, 2)), intrinsics=None,
                                 num_poses=len(grid_points))
    for target in grid_points:
        target = np.asarray(target, dtype=np.float64)
        try:
            arrived = robot.move_linear(target, yaw, speed, accel)
        except RuntimeError:
            arrived = False
        if not arrived:
            samples.unreachable += 1
            continue
        color, k = grab_frame()
        k = check_intrinsics(k)
        if intrinsics is None:
            intrinsics = k
        elif not np.allclose(k, intrinsics):
            raise ValueError('the camera intrinsics changed during calibration')
        centre = find_marker(color, marker)
        if centre is None:
            samples.not_found += 1
            continue
        pose = np.asarray(tcp_pose(), dtype=np.float64)
        points.append(pose[:3, :3] @ offset + pose[:3, 3])
        pixels.append(centre)
    if points:
        samples.points_base, samples.pixels = np.array(points), np.array(pixels, dtype=np.float64)
    samples.intrinsics = intrinsics
    return samples


def collect_and_solve(robot: LinearRobot, grab_frame: Callable[[], tuple[np.ndarray, np.ndarray]],
                      marker_in_tcp: np.ndarray, grid_points: Sequence[np.ndarray], yaw: float = 0.0, *,
                      tcp_pose: Callable[[], np.ndarray], speed: float = 0.1, accel: float = 0.5,
                      marker: MarkerSpec = DEFAULT_MARKER, dist: np.ndarray | Sequence[float] | None = None,
                      ransac_threshold_px: float | None = 3.0) -> CalibrationResult:
    """Run the calibration: `collect_samples` over the grid, then `solve_camera_pose` on the pairs.

    The counts of the run (poses, unreachable, not_found, rejected_outliers) are in the result's metadata.
    Raises ValueError when too few usable pairs were collected (see `solve_camera_pose`).
    """
    samples = collect_samples(robot, grab_frame, marker_in_tcp, grid_points, yaw, speed=speed, accel=accel,
                              tcp_pose=tcp_pose, marker=marker)
    counts = {'poses': samples.num_poses, 'unreachable': samples.unreachable, 'not_found': samples.not_found}
    if len(samples.points_base) < MIN_POINTS:
        raise ValueError(f'the marker was seen at only {len(samples.points_base)} of {samples.num_poses} poses '
                         f'({samples.unreachable} unreachable, {samples.not_found} without the marker); '
                         f'need {MIN_POINTS}')
    result = solve_camera_pose(samples.points_base, samples.pixels, samples.intrinsics, dist, ransac_threshold_px)
    counts['rejected_outliers'] = len(samples.points_base) - result.num_points
    result.metadata.update(counts)
    return result

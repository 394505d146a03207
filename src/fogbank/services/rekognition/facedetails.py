"""Rekognition's FaceDetail and ComparedFace shapes from the face engine's measurements.

Only what a shipped model measures is returned: boxes, confidences, landmarks, pose, quality, and with
ALL (or when named) EyesOpen, MouthOpen and Smile. AgeRange, Gender, Emotions, Beard, Mustache, Eyeglasses,
Sunglasses, FaceOccluded and EyeDirection are left out rather than made up: no offline model measures them.
"""

from __future__ import annotations

from typing import Any

from fogbank.engines.models.faces import Face, landmark_points

DEFAULT_LANDMARKS = ("eyeLeft", "eyeRight", "mouthLeft", "mouthRight", "nose")
SUPPORTED_ATTRIBUTES = {"SMILE": "Smile", "EYES_OPEN": "EyesOpen", "MOUTH_OPEN": "MouthOpen"}


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


def bounding_box(face: Face, width: int, height: int) -> dict[str, float]:
    left, top, right, bottom = face.box
    return {"Width": _clamp((right - left) / width), "Height": _clamp((bottom - top) / height),
            "Left": _clamp(left / width), "Top": _clamp(top / height)}


def landmarks(face: Face, width: int, height: int, everything: bool) -> list[dict[str, Any]]:
    points = landmark_points(face.landmarks)
    names = list(points) if everything else list(DEFAULT_LANDMARKS)
    return [{"Type": name, "X": _clamp(points[name][0] / width), "Y": _clamp(points[name][1] / height)}
            for name in names]


def pose(face: Face) -> dict[str, float]:
    return {"Roll": round(face.roll, 4), "Yaw": round(face.yaw, 4), "Pitch": round(face.pitch, 4)}


def quality(face: Face) -> dict[str, float]:
    return {"Brightness": round(face.brightness, 4), "Sharpness": round(face.sharpness, 4)}


def _flag(pair: tuple[bool, float]) -> dict[str, Any]:
    return {"Value": bool(pair[0]), "Confidence": round(pair[1] * 100, 4)}


def face_detail(face: Face, width: int, height: int, attributes: list[str] | None) -> dict[str, Any]:
    wanted = set(attributes or ["DEFAULT"])
    everything = "ALL" in wanted
    detail: dict[str, Any] = {"BoundingBox": bounding_box(face, width, height),
                              "Confidence": round(face.confidence * 100, 4)}
    if everything or "DEFAULT" in wanted:
        detail["Landmarks"] = landmarks(face, width, height, everything)
        detail["Pose"] = pose(face)
        detail["Quality"] = quality(face)
    measured = {"Smile": face.smile, "EyesOpen": face.eyes_open, "MouthOpen": face.mouth_open}
    for attribute, member in SUPPORTED_ATTRIBUTES.items():
        if everything or attribute in wanted:
            detail[member] = _flag(measured[member])
    return detail


def compared_face(face: Face, width: int, height: int) -> dict[str, Any]:
    return {"BoundingBox": bounding_box(face, width, height), "Confidence": round(face.confidence * 100, 4),
            "Landmarks": landmarks(face, width, height, False), "Pose": pose(face), "Quality": quality(face),
            "Smile": _flag(face.smile)}

"""Object boxes in DetectLabels (the COCO detector under Node.js) through boto3, its worker's life cycle and
protocol, and the COCO-to-Rekognition label table. The photos ship inside scikit-image."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from tests.support import FogbankServer

from fogbank.engines.models import coco_labels, objects, vision_taxonomy
from fogbank.engines.models.objects import Detection, NodeObjectDetector, ObjectDetectionError
from fogbank.engines.models.registry import ModelRegistry, ModelUnavailable

NODE = shutil.which("node")
NODE_DIR = Path(__file__).resolve().parents[3] / "node"
needs_node = pytest.mark.skipif(NODE is None, reason="Node.js is not installed (Debian packages nodejs, npm)")


def photo(name: str) -> bytes:
    spec = importlib.util.find_spec("skimage")
    assert spec is not None and spec.origin is not None, "scikit-image (test dependency) is not installed"
    return (Path(spec.origin).parent / "data" / name).read_bytes()


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def rekognition(fogbank: FogbankServer) -> Any:
    return fogbank.client("rekognition")


def _labels(response: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {label["Name"]: label for label in response["Labels"]}


# ---------------------------------------------------------------------------------------------- DetectLabels


@needs_node
def test_astronaut_gets_a_person_box_around_her(rekognition: Any) -> None:
    labels = _labels(rekognition.detect_labels(Image={"Bytes": photo("astronaut.png")}))
    person = labels["Person"]
    assert len(person["Instances"]) == 1
    box = person["Instances"][0]["BoundingBox"]
    # She fills the left two thirds of the 512x512 portrait from top to bottom; the flag on the right is not her.
    assert box["Left"] < 0.1 and box["Top"] < 0.1
    assert 0.55 < box["Width"] < 0.85 and box["Height"] > 0.85
    assert box["Left"] + box["Width"] < 0.9
    assert 55 <= person["Instances"][0]["Confidence"] <= 100
    assert person["Confidence"] > 90  # the face detector's certainty still counts for the label
    assert person["Aliases"] == [{"Name": "Human"}]
    assert len(labels["Face"]["Instances"]) == 1  # faces keep their own boxes


@needs_node
def test_chelsea_gets_one_cat_box_and_no_dog(rekognition: Any) -> None:
    labels = _labels(rekognition.detect_labels(Image={"Bytes": photo("chelsea.png")}))
    cat = labels["Cat"]
    assert len(cat["Instances"]) == 1
    box = cat["Instances"][0]["BoundingBox"]
    assert box["Left"] < 0.05 and box["Top"] < 0.1 and box["Width"] > 0.8 and box["Height"] > 0.85
    assert {p["Name"] for p in cat["Parents"]} == {"Animal", "Mammal", "Pet"}
    assert "Dog" not in labels and "Person" not in labels
    assert all(label["Instances"] == [] for name, label in labels.items() if name != "Cat")


@needs_node
def test_coffee_gets_a_cup_box_and_the_table_with_its_parents(rekognition: Any) -> None:
    labels = _labels(rekognition.detect_labels(Image={"Bytes": photo("coffee.png")}))
    cup = labels["Cup"]
    assert len(cup["Instances"]) == 1
    box = cup["Instances"][0]["BoundingBox"]
    # The cup and saucer sit in the middle of the 600x400 photo's upper two thirds.
    assert 0.2 < box["Left"] < 0.4 and box["Top"] < 0.15
    assert 0.3 < box["Width"] < 0.55 and 0.45 < box["Height"] < 0.8
    assert cup["Confidence"] >= cup["Instances"][0]["Confidence"] > 55
    table = labels["Dining Table"]
    assert len(table["Instances"]) == 1
    assert {p["Name"] for p in table["Parents"]} == {"Furniture", "Table"}
    assert table["Categories"] == [{"Name": "Furniture and Furnishings"}]
    # AWS lists the parents as labels of their own, without boxes.
    assert labels["Furniture"]["Instances"] == [] and labels["Table"]["Instances"] == []
    assert labels["Furniture"]["Confidence"] >= table["Confidence"]
    # Beverage and Coffee (the classifier's) still lead; the detector adds to them, it does not displace them.
    assert [label["Name"] for label in rekognition.detect_labels(
        Image={"Bytes": photo("coffee.png")}, MaxLabels=2)["Labels"]] == ["Beverage", "Coffee"]


@needs_node
def test_min_confidence_drops_weaker_boxes(rekognition: Any) -> None:
    labels = _labels(rekognition.detect_labels(Image={"Bytes": photo("coffee.png")}, MinConfidence=70))
    assert len(labels["Cup"]["Instances"]) == 1 and "Dining Table" not in labels
    for label in labels.values():
        assert all(instance["Confidence"] >= 70 for instance in label["Instances"])


@needs_node
def test_a_blank_image_has_no_boxes(rekognition: Any) -> None:
    for colour in ("white", (128, 128, 128)):
        response = rekognition.detect_labels(Image={"Bytes": png(Image.new("RGB", (640, 480), colour))},
                                             MinConfidence=0)
        assert response["Labels"] and all(label["Instances"] == [] for label in response["Labels"])
    default = rekognition.detect_labels(Image={"Bytes": png(Image.new("RGB", (640, 480), "white"))})
    assert "Person" not in _labels(default)


# ---------------------------------------------------------------------------------------------- the worker


def _fake_worker(folder: Path, script: str) -> Path:
    """A stand-in detect.mjs, to drive the adapter through a stuck or broken worker."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "node_modules").mkdir(exist_ok=True)
    (folder / "detect.mjs").write_text(script, encoding="utf-8")
    return folder


@needs_node
def test_worker_speaks_json_lines_and_exits_when_stdin_closes() -> None:
    white = base64.b64encode(bytes([255]) * 32 * 24 * 3).decode()
    requests = [{"id": 1, "width": 32, "height": 24, "rgb_base64": white},
                {"id": 2, "width": 4, "height": 4, "rgb_base64": "AAAA"}]
    stdin = "".join(json.dumps(r) + "\n" for r in requests) + "this is not json\n"
    assert NODE is not None
    done = subprocess.run([NODE, str(NODE_DIR / "detect.mjs")], input=stdin.encode(), capture_output=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    lines = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert lines[0]["ready"] is True and lines[0]["backend"] == "wasm" and lines[0]["input"] == 512
    assert lines[1] == {"id": 1, "detections": []}
    assert lines[2]["id"] == 2 and "expected 48" in lines[2]["error"]
    assert lines[3]["id"] is None and "JSON" in lines[3]["error"]
    assert len(lines) == 4


@needs_node
def test_a_dead_worker_is_replaced_and_close_ends_it() -> None:
    detector = NodeObjectDetector(NODE_DIR)
    try:
        cat = Image.open(io.BytesIO(photo("chelsea.png")))
        first = detector.detect(cat)
        pid = detector.pid
        assert pid is not None and [d.name for d in first if d.confidence >= 55] == ["cat"]
        os.kill(pid, 9)
        again = detector.detect(cat)
        assert detector.starts == 2 and detector.pid not in (None, pid)
        assert [(d.name, round(d.score, 3)) for d in again] == [(d.name, round(d.score, 3)) for d in first]
        # Boxes come back in the pixels of the image given, whatever size the worker saw.
        big = cat.resize((cat.width * 3, cat.height * 3))
        scaled = next(d for d in detector.detect(big) if d.name == "cat")
        assert abs(scaled.width / big.width - first[0].width / cat.width) < 0.05
    finally:
        last = detector.pid
        detector.close()
    assert detector.pid is None
    assert last is not None
    with pytest.raises(ProcessLookupError):
        os.kill(last, 0)


@needs_node
def test_a_stuck_worker_times_out_and_is_started_again(tmp_path: Path) -> None:
    folder = _fake_worker(tmp_path / "stuck", "process.stdout.write(JSON.stringify({ready: true}) + '\\n');\n"
                                              "process.stdin.on('data', () => {});\n")
    detector = NodeObjectDetector(folder, timeout=1.0)
    try:
        pid = detector.pid
        with pytest.raises(ObjectDetectionError, match="longer than 1 s"):
            detector.detect(Image.new("RGB", (8, 8)))
        assert detector.pid is None
        with pytest.raises(ObjectDetectionError):
            detector.detect(Image.new("RGB", (8, 8)))
        assert detector.starts == 2 and pid is not None
    finally:
        detector.close()


@needs_node
def test_a_worker_that_cannot_load_its_model_is_unavailable_with_its_reason(tmp_path: Path) -> None:
    fatal = "process.stdout.write(JSON.stringify({fatal: 'no model here'}) + '\\n');\nprocess.exit(1);\n"
    folder = _fake_worker(tmp_path / "fatal", fatal)
    with pytest.raises(ModelUnavailable, match="no model here"):
        NodeObjectDetector(folder)
    crash = _fake_worker(tmp_path / "crash", "throw new Error('boom at start');\n")
    with pytest.raises(ModelUnavailable, match="boom at start"):
        NodeObjectDetector(crash)


def test_missing_packages_or_script_are_unavailable_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="does not exist"):
        NodeObjectDetector(tmp_path, node="/bin/true")
    (tmp_path / "detect.mjs").write_text("", encoding="utf-8")
    with pytest.raises(ModelUnavailable, match="not installed"):
        NodeObjectDetector(tmp_path, node="/bin/true")


def test_without_a_detector_labels_get_no_boxes_and_the_load_is_not_retried_at_once() -> None:
    attempts: list[int] = []

    def missing() -> None:
        attempts.append(1)
        raise ModelUnavailable("object detection needs Node.js")

    models = ModelRegistry()
    models.register(objects.CAPABILITY, objects.ENGINE_NAME, missing)
    optional = objects.OptionalDetector(models, retry_seconds=3600)
    image = Image.new("RGB", (16, 16))
    assert optional.detect(image) == [] and optional.detect(image) == []
    assert len(attempts) == 1
    assert "needs Node.js" in models.status()[objects.CAPABILITY]["error"]
    retrying = objects.OptionalDetector(models, retry_seconds=0)
    assert retrying.detect(image) == [] and retrying.detect(image) == []
    assert len(attempts) == 3


# ---------------------------------------------------------------------------------------------- label table


def test_every_coco_class_has_a_label_and_agrees_with_the_imagenet_taxonomy() -> None:
    assert len(coco_labels.CLASSES) == 80
    names = [entry[0] for entry in coco_labels.CLASSES.values()]
    assert len(set(names)) == 80
    for label in names:
        if label in vision_taxonomy.LABELS:  # the classifier knows it too: one family, one category
            walked = set(coco_labels.ancestors(label, coco_labels.CLASSES[_coco(label)][1]))
            assert walked == set(coco_labels.ancestors(label)), label
            assert coco_labels.CLASSES[_coco(label)][2] == vision_taxonomy.category(label), label
    for parent in {p for name in names for p in coco_labels.ancestors(name, coco_labels.CLASSES[_coco(name)][1])}:
        assert parent in coco_labels.PARENTS or parent in vision_taxonomy.LABELS, parent


def _coco(label: str) -> str:
    return next(k for k, v in coco_labels.CLASSES.items() if v[0] == label)


def test_object_labels_make_instances_and_parent_labels() -> None:
    found = [Detection("car", 0.81, 10, 20, 100, 50), Detection("car", 0.36, 300, 20, 50, 40),
             Detection("cup", 0.49, 0, 0, 40, 40), Detection("not a coco class", 0.9, 0, 0, 1, 1)]
    labels = {label.name: label for label in coco_labels.object_labels(found, 400, 200)}
    assert set(labels) == {"Car", "Cup", "Transportation", "Vehicle", "Beverage"}
    car = labels["Car"]
    assert car.confidence == 90.0 and car.parents == ["Transportation", "Vehicle"]
    assert car.category == "Vehicles and Automotive" and car.aliases == ["Automobile"]
    assert [conf for _, conf in car.instances] == [90.0, 60.0]
    assert car.instances[0][0] == {"Width": 0.25, "Height": 0.25, "Left": 0.025, "Top": 0.1}
    assert labels["Vehicle"].instances == [] and labels["Vehicle"].confidence == 90.0
    assert labels["Vehicle"].parents == ["Transportation"]
    assert labels["Cup"].confidence == 70.0 and labels["Beverage"].confidence == 70.0

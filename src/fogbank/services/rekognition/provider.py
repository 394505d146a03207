"""Amazon Rekognition: labels, faces, text and unsafe content in images, and face collections, offline.

Each capability is a model in the shared registry (loaded on first use): ``faces`` (dlib detection,
landmarks and embeddings), ``image-labels`` (EfficientNet-Lite0 on ImageNet), ``image-moderation``
(Open-NSFW) and ``ocr`` (shared with Textract). CompareFaces and collections compare dlib's 128-d face
embeddings; similarity is calibrated so dlib's same-person distance (0.6) scores 80, AWS's default
threshold. Celebrity recognition needs a database of celebrity faces that no offline package ships, so
those operations answer with a clear NotImplemented error rather than an empty result that looks real.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import TYPE_CHECKING, Any

import numpy as np

from fogbank.config import Config
from fogbank.context import RequestContext
from fogbank.engines.models import coco_labels, vision
from fogbank.engines.models import faces as face_models
from fogbank.engines.models import objects as object_models
from fogbank.engines.models.documents import DocumentError, load_image
from fogbank.engines.models.registry import ModelRegistry, ModelUnavailable
from fogbank.protocol.dispatch import Provider, operation
from fogbank.services.rekognition import errors
from fogbank.services.rekognition.facedetails import bounding_box, compared_face, face_detail
from fogbank.services.rekognition.store import RekognitionStore, StoredFace
from fogbank.services.rekognition.video import VideoOperations
from fogbank.services.textract import analyzer as ocr_capability
from fogbank.services.textract.sources import S3Location, S3Reader, SourceMissing, SourceTooLarge

if TYPE_CHECKING:
    from PIL import Image

BYTES_LIMIT = 5 * 1024 * 1024
S3_LIMIT = 15 * 1024 * 1024
FACES = "faces"
LABELS = "image-labels"
MODERATION = "image-moderation"
FACE_MODEL_VERSION = "fogbank-dlib-resnet-1.0"
LABEL_MODEL_VERSION = "fogbank-efficientnet-lite0-1.0"
MODERATION_MODEL_VERSION = "fogbank-open-nsfw-1.0"
TEXT_MODEL_VERSION = "fogbank-ppocr-v6-1.0"
MAX_TEXT_WORDS = 100
_UNSUPPORTED_CELEBRITIES = ("Celebrity recognition needs a database of celebrity faces, which no offline "
                            "package ships; fogbank does not recognise celebrities.")


def _token(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode()


def _untoken(token: str | None) -> str | None:
    if not token:
        return None
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.InvalidPaginationTokenException("Invalid pagination token") from exc


class RekognitionProvider(VideoOperations, Provider):
    services = ("rekognition",)

    def __init__(self, config: Config, models: ModelRegistry, s3: Any = None) -> None:
        self.config = config
        self.models = models
        self.reader = S3Reader(s3)
        self.store = RekognitionStore(config.service_dir("rekognition"))
        models.register(FACES, face_models.ENGINE_NAME, face_models.load_default,
                        "face detection, landmarks and identity embeddings", concurrency=1)
        models.register(LABELS, vision.LABEL_ENGINE, vision.load_labels, "image classification (ImageNet)",
                        concurrency=1)
        models.register(MODERATION, vision.MODERATION_ENGINE, vision.load_moderation, "explicit-content score",
                        override=vision.load_moderation_override, concurrency=1)
        ocr_capability.register(models)
        object_models.register(models, config)
        self.objects = object_models.OptionalDetector(models)
        self._start_video({"labels": LABEL_MODEL_VERSION, "text": TEXT_MODEL_VERSION,
                           "moderation": MODERATION_MODEL_VERSION})

    def close(self) -> None:
        self._close_video()
        self.store.close()

    def health(self) -> dict[str, Any]:
        status = self.models.status()
        return {"state": "running",
                "models": {k: status[k]["model"] + (" (loaded)" if status[k]["loaded"] else "")
                           for k in (FACES, LABELS, MODERATION, object_models.CAPABILITY) if k in status}}

    # ------------------------------------------------------------------ helpers

    def _image(self, ctx: RequestContext, image: dict[str, Any] | None) -> Image.Image:
        image = image or {}
        data = image.get("Bytes")
        s3_object = image.get("S3Object")
        if data is not None and s3_object is not None:
            raise errors.InvalidParameterException("Specify either Bytes or S3Object, not both")
        if data is None:
            if s3_object is None:
                raise errors.InvalidParameterException("Image must name Bytes or an S3Object")
            try:
                data = self.reader.read(ctx.account_id, ctx.region, S3Location.of(s3_object), S3_LIMIT)
            except SourceTooLarge as exc:
                raise errors.ImageTooLargeException(f"Image size is too large: {exc}") from exc
            except SourceMissing as exc:
                raise errors.InvalidS3ObjectException("Unable to get object metadata from S3. Check object key, "
                                                      "region and/or access permissions.") from exc
        elif len(data) > BYTES_LIMIT:
            raise errors.ImageTooLargeException("Image size is too large.")
        try:
            return load_image(bytes(data))
        except DocumentError as exc:
            if exc.reason == "too_large":
                raise errors.ImageTooLargeException(f"Image size is too large: {exc}") from exc
            raise errors.InvalidImageFormatException("Request has invalid image format") from exc

    def _run(self, capability: str, fn: Any, *args: Any) -> Any:
        try:
            return self.models.run(capability, fn, *args)
        except ModelUnavailable as exc:
            raise errors.InternalServerError(f"The model for this request is not available: {exc}") from exc

    def _faces(self, image: Image.Image, embed: bool = False,
               max_faces: int | None = None) -> list[face_models.Face]:
        found: list[face_models.Face] = self._run(
            FACES, lambda model, img: model.detect(img, embed=embed, max_faces=max_faces), image)
        return found

    def _collection(self, ctx: RequestContext, collection_id: str) -> None:
        if self.store.collection(ctx.account_id, ctx.region, collection_id) is None:
            raise errors.ResourceNotFoundException(f"The collection id: {collection_id} does not exist")

    # ------------------------------------------------------------------ labels, moderation, text

    @operation("DetectLabels")
    def detect_labels(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        image = self._image(ctx, req.get("Image"))
        features = set(req.get("Features") or ["GENERAL_LABELS"])
        min_conf = float(req.get("MinConfidence", 55.0))
        out: dict[str, Any] = {"LabelModelVersion": LABEL_MODEL_VERSION}
        if "GENERAL_LABELS" in features:
            entries = self._labels_of(image, min_conf, (req.get("Settings") or {}).get("GeneralLabels") or {})
            if req.get("MaxLabels"):
                entries = entries[: int(req["MaxLabels"])]
            out["Labels"] = entries
        if "IMAGE_PROPERTIES" in features:
            out["ImageProperties"] = vision.image_properties(image)
        return out

    def _labels_of(self, image: Image.Image, min_conf: float,
                   settings: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """DetectLabels' Labels for one image (or one video frame), most confident first."""
        labels: list[vision.Label] = self._run(LABELS, lambda model, img: model.labels(img), image)
        entries: list[dict[str, Any]] = [{"Name": lb.name, "Confidence": round(lb.confidence, 4), "Instances": [],
                                          "Parents": [{"Name": p} for p in lb.parents], "Aliases": [],
                                          "Categories": [{"Name": c} for c in lb.categories]} for lb in labels]
        entries.extend(self._person_labels(image))
        self._merge_objects(entries, image, min_conf)
        entries = [e for e in entries if e["Confidence"] >= min_conf]
        entries = _filter_labels(entries, settings or {})
        entries.sort(key=lambda e: -e["Confidence"])
        return entries

    def _person_labels(self, image: Image.Image) -> list[dict[str, Any]]:
        """People from faces: ImageNet has no person class, a face detector does find people's faces."""
        found = self._faces(image)
        if not found:
            return []
        best = max(f.confidence for f in found) * 100
        instances = [{"BoundingBox": bounding_box(f, image.width, image.height),
                      "Confidence": round(f.confidence * 100, 4)} for f in found]
        person = {"Name": "Person", "Confidence": round(min(99.9, best), 4), "Instances": [], "Parents": [],
                  "Aliases": [{"Name": "Human"}], "Categories": [{"Name": "Person Description"}]}
        face = {"Name": "Face", "Confidence": round(min(99.9, best), 4), "Instances": instances,
                "Parents": [{"Name": "Head"}, {"Name": "Person"}], "Aliases": [],
                "Categories": [{"Name": "Person Description"}]}
        head = {"Name": "Head", "Confidence": round(min(99.9, best), 4), "Instances": [],
                "Parents": [{"Name": "Person"}], "Aliases": [], "Categories": [{"Name": "Person Description"}]}
        return [person, face, head]

    def _merge_objects(self, entries: list[dict[str, Any]], image: Image.Image, min_conf: float) -> None:
        """Boxes from the object detector: a detected class adds or completes its label (Person's boxes come
        from here; faces keep theirs under Face), and its ancestors become labels too, without boxes."""
        found = coco_labels.object_labels(self.objects.detect(image), image.width, image.height)
        by_name = {e["Name"]: e for e in entries}
        for label in found:
            entry = by_name.get(label.name)
            if entry is None:
                entry = by_name[label.name] = {"Name": label.name, "Confidence": label.confidence, "Instances": [],
                                               "Parents": [], "Aliases": [],
                                               "Categories": [{"Name": label.category}]}
                entries.append(entry)
            entry["Confidence"] = max(entry["Confidence"], label.confidence)
            entry["Parents"] += [{"Name": p} for p in label.parents if {"Name": p} not in entry["Parents"]]
            entry["Aliases"] += [{"Name": a} for a in label.aliases if {"Name": a} not in entry["Aliases"]]
            entry["Instances"] = entry["Instances"] + [{"BoundingBox": box, "Confidence": conf}
                                                       for box, conf in label.instances if conf >= min_conf]

    @operation("DetectModerationLabels")
    def detect_moderation_labels(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        image = self._image(ctx, req.get("Image"))
        labels = self._moderation_of(image, float(req.get("MinConfidence", 50.0)))
        return {"ModerationLabels": labels, "ModerationModelVersion": MODERATION_MODEL_VERSION}

    def _moderation_of(self, image: Image.Image, min_conf: float) -> list[dict[str, Any]]:
        """DetectModerationLabels' labels for one image (or one video frame)."""
        score: float = self._run(MODERATION, lambda model, img: model.explicit(img), image)
        labels = []
        if score * 100 >= min_conf:
            labels.append({"Confidence": round(score * 100, 4), "Name": "Explicit", "ParentName": "",
                           "TaxonomyLevel": 1})
        return labels

    @operation("DetectText")
    def detect_text(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        image = self._image(ctx, req.get("Image"))
        return {"TextDetections": self._text_of(image, req.get("Filters") or {}),
                "TextModelVersion": TEXT_MODEL_VERSION}

    def _text_of(self, image: Image.Image, filters: dict[str, Any]) -> list[dict[str, Any]]:
        """DetectText's lines, then words, for one image (or one video frame)."""
        page = self._run(ocr_capability.CAPABILITY, lambda model, img: model.read(img), image)
        word_filter = filters.get("WordFilter") or {}
        min_conf = float(word_filter.get("MinConfidence", 0.0))
        min_h = float(word_filter.get("MinBoundingBoxHeight", 0.0))
        min_w = float(word_filter.get("MinBoundingBoxWidth", 0.0))
        regions = filters.get("RegionsOfInterest") or []
        width, height = float(image.width), float(image.height)

        def geometry(box: Any, polygon: list[tuple[float, float]]) -> dict[str, Any]:
            return {"BoundingBox": {"Width": min(1.0, box.width / width), "Height": min(1.0, box.height / height),
                                    "Left": max(0.0, box.left / width), "Top": max(0.0, box.top / height)},
                    "Polygon": [{"X": min(1.0, max(0.0, x / width)), "Y": min(1.0, max(0.0, y / height))}
                                for x, y in polygon]}

        def keep(box: Any, confidence: float) -> bool:
            if confidence * 100 < min_conf or box.height / height < min_h or box.width / width < min_w:
                return False
            return not regions or any(_in_region(box, width, height, r) for r in regions)

        lines_out: list[dict[str, Any]] = []
        words_out: list[dict[str, Any]] = []
        next_id = 0
        for line in page.lines:
            words = [w for w in line.words if keep(w.box, w.confidence)]
            if not words or len(words_out) + len(words) > MAX_TEXT_WORDS:
                continue
            line_id = next_id
            next_id += 1
            text = " ".join(w.text for w in words)
            conf = min(line.confidence, *(w.confidence for w in words))
            lines_out.append({"DetectedText": text, "Type": "LINE", "Id": line_id, "Confidence": round(conf * 100, 4),
                              "Geometry": geometry(line.box, line.polygon or line.box.polygon)})
            for word in words:
                words_out.append({"DetectedText": word.text, "Type": "WORD", "Id": next_id, "ParentId": line_id,
                                  "Confidence": round(word.confidence * 100, 4),
                                  "Geometry": geometry(word.box, word.polygon)})
                next_id += 1
        return lines_out + words_out

    # ------------------------------------------------------------------ faces

    @operation("DetectFaces")
    def detect_faces(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        image = self._image(ctx, req.get("Image"))
        found = self._faces(image, max_faces=100)
        attributes = req.get("Attributes")
        return {"FaceDetails": [face_detail(f, image.width, image.height, attributes) for f in found]}

    @operation("CompareFaces")
    def compare_faces(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        source_image = self._image(ctx, req.get("SourceImage"))
        target_image = self._image(ctx, req.get("TargetImage"))
        threshold = float(req.get("SimilarityThreshold", 80.0))
        source_faces = self._faces(source_image, embed=True, max_faces=1)
        if not source_faces:
            raise errors.InvalidParameterException("There are no faces in the image. Should be at least 1.")
        source = source_faces[0]
        targets = self._faces(target_image, embed=True, max_faces=100)
        matches: list[dict[str, Any]] = []
        unmatched: list[dict[str, Any]] = []
        for target in targets:
            assert source.embedding is not None and target.embedding is not None
            score = face_models.similarity(source.embedding, target.embedding)
            shaped = compared_face(target, target_image.width, target_image.height)
            if score >= threshold:
                matches.append({"Similarity": round(score, 4), "Face": shaped})
            else:
                unmatched.append(shaped)
        matches.sort(key=lambda m: -m["Similarity"])
        return {"SourceImageFace": {"BoundingBox": bounding_box(source, source_image.width, source_image.height),
                                    "Confidence": round(source.confidence * 100, 4)},
                "FaceMatches": matches, "UnmatchedFaces": unmatched}

    @operation("RecognizeCelebrities")
    def recognize_celebrities(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        raise errors.UnsupportedOperation(_UNSUPPORTED_CELEBRITIES)

    @operation("GetCelebrityInfo")
    def get_celebrity_info(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        raise errors.UnsupportedOperation(_UNSUPPORTED_CELEBRITIES)

    @operation("StartCelebrityRecognition")
    def start_celebrity_recognition(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        raise errors.UnsupportedOperation(_UNSUPPORTED_CELEBRITIES)

    # ------------------------------------------------------------------ collections

    @operation("CreateCollection")
    def create_collection(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        collection_id = req["CollectionId"]
        arn = f"aws:rekognition:{ctx.region}:{ctx.account_id}:collection/{collection_id}"
        if not self.store.create_collection(ctx.account_id, ctx.region, collection_id, arn):
            raise errors.ResourceAlreadyExistsException(f"The collection id: {collection_id} already exists")
        return {"StatusCode": 200, "CollectionArn": arn, "FaceModelVersion": FACE_MODEL_VERSION}

    @operation("DescribeCollection")
    def describe_collection(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        found = self.store.collection(ctx.account_id, ctx.region, req["CollectionId"])
        if found is None:
            raise errors.ResourceNotFoundException(f"The collection id: {req['CollectionId']} does not exist")
        return {"FaceCount": self.store.face_count(ctx.account_id, ctx.region, found.collection_id),
                "FaceModelVersion": FACE_MODEL_VERSION, "CollectionARN": found.arn,
                "CreationTimestamp": found.created, "UserCount": 0}

    @operation("ListCollections")
    def list_collections(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        limit = int(req.get("MaxResults") or 1000)
        found = self.store.collections(ctx.account_id, ctx.region, _untoken(req.get("NextToken")), limit + 1)
        out: dict[str, Any] = {"CollectionIds": [c.collection_id for c in found[:limit]],
                               "FaceModelVersions": [FACE_MODEL_VERSION for _ in found[:limit]]}
        if len(found) > limit:
            out["NextToken"] = _token(found[limit - 1].collection_id)
        return out

    @operation("DeleteCollection")
    def delete_collection(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        if not self.store.delete_collection(ctx.account_id, ctx.region, req["CollectionId"]):
            raise errors.ResourceNotFoundException(f"The collection id: {req['CollectionId']} does not exist")
        return {"StatusCode": 200}

    @operation("IndexFaces")
    def index_faces(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        collection_id = req["CollectionId"]
        self._collection(ctx, collection_id)
        image = self._image(ctx, req.get("Image"))
        found = self._faces(image, embed=True, max_faces=100)
        max_faces = int(req.get("MaxFaces") or 100)
        quality = req.get("QualityFilter", "AUTO")
        image_id = str(uuid.uuid4())
        external = req.get("ExternalImageId")
        attributes = req.get("DetectionAttributes")
        records, unindexed, stored = [], [], []
        for index, face in enumerate(found):
            detail = face_detail(face, image.width, image.height, attributes)
            reasons = _quality_reasons(face, image.width, image.height, quality)
            if index >= max_faces:
                reasons.append("EXCEEDS_MAX_FACES")
            if reasons:
                unindexed.append({"Reasons": reasons, "FaceDetail": detail})
                continue
            assert face.embedding is not None
            box = bounding_box(face, image.width, image.height)
            face_id = str(uuid.uuid4())
            stored.append(StoredFace(face_id, image_id, external, box, face.confidence * 100, face.embedding,
                                     time.time()))
            records.append({"Face": _face_shape(face_id, image_id, external, box, face.confidence * 100),
                            "FaceDetail": detail})
        if stored:
            self.store.add_faces(ctx.account_id, ctx.region, collection_id, stored)
        return {"FaceRecords": records, "FaceModelVersion": FACE_MODEL_VERSION, "UnindexedFaces": unindexed}

    @operation("ListFaces")
    def list_faces(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        collection_id = req["CollectionId"]
        self._collection(ctx, collection_id)
        limit = int(req.get("MaxResults") or 1000)
        found = self.store.faces(ctx.account_id, ctx.region, collection_id, _untoken(req.get("NextToken")),
                                 limit + 1, req.get("FaceIds"))
        out: dict[str, Any] = {"Faces": [_face_shape(f.face_id, f.image_id, f.external_image_id, f.box,
                                                     f.confidence) for f in found[:limit]],
                               "FaceModelVersion": FACE_MODEL_VERSION}
        if len(found) > limit:
            out["NextToken"] = _token(found[limit - 1].face_id)
        return out

    @operation("DeleteFaces")
    def delete_faces(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        collection_id = req["CollectionId"]
        self._collection(ctx, collection_id)
        wanted = list(req.get("FaceIds") or [])
        deleted = self.store.delete_faces(ctx.account_id, ctx.region, collection_id, wanted)
        missing = [f for f in wanted if f not in deleted]
        out: dict[str, Any] = {"DeletedFaces": deleted}
        if missing:
            out["UnsuccessfulFaceDeletions"] = [{"FaceId": f, "Reasons": ["FACE_NOT_FOUND"]} for f in missing]
        return out

    def _matches(self, ctx: RequestContext, collection_id: str, probe: np.ndarray, threshold: float,
                 max_faces: int, exclude: str | None = None) -> list[dict[str, Any]]:
        stored = self.store.faces(ctx.account_id, ctx.region, collection_id)
        scored: list[tuple[float, StoredFace]] = []
        for face in stored:
            if face.face_id == exclude:
                continue
            score = face_models.similarity(probe, face.embedding)
            if score >= threshold:
                scored.append((score, face))
        scored.sort(key=lambda pair: -pair[0])
        return [{"Similarity": round(score, 4),
                 "Face": _face_shape(f.face_id, f.image_id, f.external_image_id, f.box, f.confidence)}
                for score, f in scored[:max_faces]]

    @operation("SearchFaces")
    def search_faces(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        collection_id = req["CollectionId"]
        self._collection(ctx, collection_id)
        found = self.store.faces(ctx.account_id, ctx.region, collection_id, face_ids=[req["FaceId"]])
        if not found:
            raise errors.InvalidParameterException(f"The face id: {req['FaceId']} does not exist in the collection")
        matches = self._matches(ctx, collection_id, found[0].embedding, float(req.get("FaceMatchThreshold", 80.0)),
                                int(req.get("MaxFaces") or 100), exclude=found[0].face_id)
        return {"SearchedFaceId": found[0].face_id, "FaceMatches": matches, "FaceModelVersion": FACE_MODEL_VERSION}

    @operation("SearchFacesByImage")
    def search_faces_by_image(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        collection_id = req["CollectionId"]
        self._collection(ctx, collection_id)
        image = self._image(ctx, req.get("Image"))
        found = self._faces(image, embed=True, max_faces=1)
        if not found:
            raise errors.InvalidParameterException("There are no faces in the image. Should be at least 1.")
        probe = found[0]
        assert probe.embedding is not None
        matches = self._matches(ctx, collection_id, probe.embedding, float(req.get("FaceMatchThreshold", 80.0)),
                                int(req.get("MaxFaces") or 100))
        return {"SearchedFaceBoundingBox": bounding_box(probe, image.width, image.height),
                "SearchedFaceConfidence": round(probe.confidence * 100, 4), "FaceMatches": matches,
                "FaceModelVersion": FACE_MODEL_VERSION}


def _face_shape(face_id: str, image_id: str, external: str | None, box: dict[str, float],
                confidence: float) -> dict[str, Any]:
    shape: dict[str, Any] = {"FaceId": face_id, "BoundingBox": box, "ImageId": image_id,
                             "Confidence": round(confidence, 4), "IndexFacesModelVersion": FACE_MODEL_VERSION}
    if external:
        shape["ExternalImageId"] = external
    return shape


def _quality_reasons(face: face_models.Face, width: int, height: int, quality: str) -> list[str]:
    if quality == "NONE":
        return []
    left, top, right, bottom = face.box
    small = min(right - left, bottom - top) < 40 or (right - left) / width < 0.01
    limits = {"LOW": (10.0, 0.6), "AUTO": (15.0, 0.7), "MEDIUM": (20.0, 0.8), "HIGH": (30.0, 0.9)}
    sharp_min, conf_min = limits.get(quality, limits["AUTO"])
    reasons = []
    if small:
        reasons.append("SMALL_BOUNDING_BOX")
    if face.sharpness < sharp_min:
        reasons.append("LOW_SHARPNESS")
    if face.brightness < 10:
        reasons.append("LOW_BRIGHTNESS")
    if face.confidence < conf_min:
        reasons.append("LOW_CONFIDENCE")
    if abs(face.yaw) > 60 or abs(face.pitch) > 60:
        reasons.append("EXTREME_POSE")
    return reasons


def _in_region(box: Any, width: float, height: float, region: dict[str, Any]) -> bool:
    bounds = region.get("BoundingBox")
    if not bounds:
        return True
    cx, cy = box.cx / width, box.cy / height
    return (bounds.get("Left", 0) <= cx <= bounds.get("Left", 0) + bounds.get("Width", 1)
            and bounds.get("Top", 0) <= cy <= bounds.get("Top", 0) + bounds.get("Height", 1))


def _filter_labels(entries: list[dict[str, Any]], settings: dict[str, Any]) -> list[dict[str, Any]]:
    include = set(settings.get("LabelInclusionFilters") or [])
    exclude = set(settings.get("LabelExclusionFilters") or [])
    cat_include = {c.lower() for c in settings.get("LabelCategoryInclusionFilters") or []}
    cat_exclude = {c.lower() for c in settings.get("LabelCategoryExclusionFilters") or []}
    out = []
    for entry in entries:
        categories = {c["Name"].lower() for c in entry["Categories"]}
        if include and entry["Name"] not in include:
            continue
        if entry["Name"] in exclude:
            continue
        if cat_include and not categories & cat_include:
            continue
        if categories & cat_exclude:
            continue
        out.append(entry)
    return out

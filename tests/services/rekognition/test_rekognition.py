"""Rekognition through boto3 against a real server, on photos that ship inside scikit-image (an astronaut's
portrait, a cameraman, a cat, a cup of coffee, a motorcycle) and on images the tests draw."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
from PIL import Image, ImageDraw
from tests.services.textract import render
from tests.support import FogbankServer


def photo(name: str) -> bytes:
    """A photo from scikit-image's bundled data, as PNG or JPEG bytes."""
    spec = importlib.util.find_spec("skimage")
    assert spec is not None and spec.origin is not None, "scikit-image (test dependency) is not installed"
    path = Path(spec.origin).parent / "data" / name
    return path.read_bytes()


def jpeg_of(data: bytes, size: tuple[int, int] | None = None, crop: tuple[int, int, int, int] | None = None) -> bytes:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    if crop:
        image = image.crop(crop)
    if size:
        image = image.resize(size)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture(scope="module")
def rekognition(fogbank: FogbankServer) -> Any:
    return fogbank.client("rekognition")


def _code(info: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def _labels(response: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {label["Name"]: label for label in response["Labels"]}


def test_detect_labels_names_cat_coffee_and_motorcycle(rekognition: Any, s3: Any, bucket: str) -> None:
    cat = _labels(rekognition.detect_labels(Image={"Bytes": photo("chelsea.png")}))
    assert cat["Cat"]["Confidence"] > 80
    assert {p["Name"] for p in cat["Cat"]["Parents"]} == {"Animal", "Mammal", "Pet"}
    assert cat["Cat"]["Categories"] == [{"Name": "Animals and Pets"}]
    assert "Dog" not in cat and "Person" not in cat
    s3.put_object(Bucket=bucket, Key="coffee.png", Body=photo("coffee.png"))
    coffee = rekognition.detect_labels(Image={"S3Object": {"Bucket": bucket, "Name": "coffee.png"}}, MaxLabels=3,
                                       Features=["GENERAL_LABELS", "IMAGE_PROPERTIES"])
    assert [label["Name"] for label in coffee["Labels"]][:2] == ["Beverage", "Coffee"]
    assert len(coffee["Labels"]) == 3
    properties = coffee["ImageProperties"]
    assert 0 < properties["Quality"]["Brightness"] < 100
    assert abs(sum(c["PixelPercent"] for c in properties["DominantColors"]) - 100) < 0.5
    assert properties["DominantColors"][0]["HexCode"].startswith("#")
    bike = _labels(rekognition.detect_labels(Image={"Bytes": jpeg_of(photo("motorcycle_left.png"))},
                                             MinConfidence=50))
    assert "Motorcycle" in bike and {p["Name"] for p in bike["Motorcycle"]["Parents"]} >= {"Vehicle"}
    assert all(label["Confidence"] >= 50 for label in bike.values())
    only_animals = rekognition.detect_labels(Image={"Bytes": photo("chelsea.png")}, Settings={
        "GeneralLabels": {"LabelCategoryInclusionFilters": ["Animals and Pets"], "LabelExclusionFilters": ["Pet"]}})
    names = {label["Name"] for label in only_animals["Labels"]}
    assert "Cat" in names and "Pet" not in names


def test_detect_faces_boxes_landmarks_and_attributes(rekognition: Any) -> None:
    default = rekognition.detect_faces(Image={"Bytes": photo("astronaut.png")})
    assert len(default["FaceDetails"]) == 1
    face = default["FaceDetails"][0]
    box = face["BoundingBox"]
    # The astronaut's face spans roughly x 175-265, y 76-166 of the 512x512 photo.
    assert abs(box["Left"] - 175 / 512) < 0.05 and abs(box["Top"] - 76 / 512) < 0.05
    assert abs(box["Width"] - 90 / 512) < 0.05
    assert face["Confidence"] > 90
    marks = {m["Type"]: m for m in face["Landmarks"]}
    assert set(marks) == {"eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight"}
    assert marks["eyeLeft"]["X"] < marks["eyeRight"]["X"] and marks["nose"]["Y"] < marks["mouthLeft"]["Y"]
    assert box["Left"] < marks["nose"]["X"] < box["Left"] + box["Width"]
    assert abs(face["Pose"]["Roll"]) < 15 and set(face["Quality"]) == {"Brightness", "Sharpness"}
    assert "AgeRange" not in face and "Smile" not in face
    everything = rekognition.detect_faces(Image={"Bytes": photo("astronaut.png")}, Attributes=["ALL"])
    detail = everything["FaceDetails"][0]
    assert len(detail["Landmarks"]) == 30
    assert detail["EyesOpen"]["Value"] is True and detail["MouthOpen"]["Value"] is False
    assert "Gender" not in detail and "Emotions" not in detail
    assert rekognition.detect_faces(Image={"Bytes": photo("chelsea.png")})["FaceDetails"] == []
    people = _labels(rekognition.detect_labels(Image={"Bytes": photo("astronaut.png")}))
    assert people["Person"]["Confidence"] > 90 and len(people["Face"]["Instances"]) == 1


def test_detect_text_lines_and_words(rekognition: Any) -> None:
    image = Image.new("RGB", (900, 300), (30, 90, 160))
    draw = ImageDraw.Draw(image)
    draw.text((60, 60), "HARBOUR CAFE", font=render.font(64, bold=True), fill="white")
    draw.text((60, 180), "Open daily 7 to 19", font=render.font(40), fill="white")
    response = rekognition.detect_text(Image={"Bytes": jpeg_of(render.png(image))})
    lines = [d for d in response["TextDetections"] if d["Type"] == "LINE"]
    words = [d for d in response["TextDetections"] if d["Type"] == "WORD"]
    assert [d["DetectedText"] for d in lines] == ["HARBOUR CAFE", "Open daily 7 to 19"]
    assert [d["DetectedText"] for d in words if d["ParentId"] == lines[0]["Id"]] == ["HARBOUR", "CAFE"]
    assert len(words) == 7 and all(0 < d["Geometry"]["BoundingBox"]["Width"] < 1 for d in words)
    filtered = rekognition.detect_text(Image={"Bytes": render.png(image)},
                                       Filters={"WordFilter": {"MinBoundingBoxHeight": 0.24}})
    assert [d["DetectedText"] for d in filtered["TextDetections"] if d["Type"] == "LINE"] == ["HARBOUR CAFE"]


def test_moderation_scores_explicit_content_only(rekognition: Any) -> None:
    safe = rekognition.detect_moderation_labels(Image={"Bytes": photo("coffee.png")})
    assert safe["ModerationLabels"] == [] and safe["ModerationModelVersion"]
    everything = rekognition.detect_moderation_labels(Image={"Bytes": photo("coffee.png")}, MinConfidence=0)
    labels = everything["ModerationLabels"]
    assert [label["Name"] for label in labels] == ["Explicit"] and labels[0]["Confidence"] < 10


def test_compare_faces_matches_the_same_person_only(rekognition: Any) -> None:
    astronaut = photo("astronaut.png")
    same = jpeg_of(astronaut, size=(300, 300))
    response = rekognition.compare_faces(SourceImage={"Bytes": astronaut}, TargetImage={"Bytes": same})
    assert len(response["FaceMatches"]) == 1 and response["FaceMatches"][0]["Similarity"] > 95
    assert response["UnmatchedFaces"] == [] and response["SourceImageFace"]["Confidence"] > 90
    other = rekognition.compare_faces(SourceImage={"Bytes": astronaut},
                                      TargetImage={"Bytes": jpeg_of(photo("camera.png"))})
    assert other["FaceMatches"] == [] and len(other["UnmatchedFaces"]) == 1
    with pytest.raises(botocore.exceptions.ClientError) as info:
        rekognition.compare_faces(SourceImage={"Bytes": photo("coffee.png")}, TargetImage={"Bytes": astronaut})
    assert _code(info) == "InvalidParameterException"


def test_face_collection_index_search_list_delete(rekognition: Any) -> None:
    rekognition.create_collection(CollectionId="crew")
    with pytest.raises(botocore.exceptions.ClientError) as info:
        rekognition.create_collection(CollectionId="crew")
    assert _code(info) == "ResourceAlreadyExistsException"
    first = rekognition.index_faces(CollectionId="crew", Image={"Bytes": photo("astronaut.png")},
                                    ExternalImageId="astronaut")
    second = rekognition.index_faces(CollectionId="crew", Image={"Bytes": jpeg_of(photo("camera.png"))},
                                     ExternalImageId="cameraman", QualityFilter="NONE")
    assert len(first["FaceRecords"]) == 1 and len(second["FaceRecords"]) == 1
    astronaut_id = first["FaceRecords"][0]["Face"]["FaceId"]
    camera_id = second["FaceRecords"][0]["Face"]["FaceId"]
    assert rekognition.describe_collection(CollectionId="crew")["FaceCount"] == 2
    listed = rekognition.list_faces(CollectionId="crew", MaxResults=1)
    assert len(listed["Faces"]) == 1 and listed["NextToken"]
    rest = rekognition.list_faces(CollectionId="crew", NextToken=listed["NextToken"])
    assert {f["FaceId"] for f in listed["Faces"] + rest["Faces"]} == {astronaut_id, camera_id}
    probe = jpeg_of(photo("astronaut.png"), crop=(100, 0, 400, 300))
    found = rekognition.search_faces_by_image(CollectionId="crew", Image={"Bytes": probe})
    assert [m["Face"]["ExternalImageId"] for m in found["FaceMatches"]] == ["astronaut"]
    assert found["FaceMatches"][0]["Similarity"] > 90
    by_id = rekognition.search_faces(CollectionId="crew", FaceId=astronaut_id)
    assert by_id["SearchedFaceId"] == astronaut_id and by_id["FaceMatches"] == []
    deleted = rekognition.delete_faces(CollectionId="crew", FaceIds=[camera_id, "00000000-0000-0000-0000-000000000000"])
    assert deleted["DeletedFaces"] == [camera_id]
    assert [f["FaceId"] for f in rekognition.list_faces(CollectionId="crew")["Faces"]] == [astronaut_id]
    assert "crew" in rekognition.list_collections()["CollectionIds"]
    rekognition.delete_collection(CollectionId="crew")
    with pytest.raises(botocore.exceptions.ClientError) as info:
        rekognition.describe_collection(CollectionId="crew")
    assert _code(info) == "ResourceNotFoundException"


def test_bad_images_and_unsupported_operations(rekognition: Any, bucket: str) -> None:
    for data in (b"definitely not an image", render.png(render.text_page(["x"]))[:300],
                 b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"):
        with pytest.raises(botocore.exceptions.ClientError) as info:
            rekognition.detect_labels(Image={"Bytes": data})
        assert _code(info) == "InvalidImageFormatException"
    with pytest.raises(botocore.exceptions.ClientError) as info:
        rekognition.detect_faces(Image={"S3Object": {"Bucket": bucket, "Name": "nothing-here.jpg"}})
    assert _code(info) == "InvalidS3ObjectException"
    with pytest.raises(botocore.exceptions.ClientError) as info:
        rekognition.recognize_celebrities(Image={"Bytes": photo("astronaut.png")})
    assert _code(info) == "NotImplemented"
    assert "celebrity" in info.value.response["Error"]["Message"].lower()
    with pytest.raises(botocore.exceptions.ClientError) as info:
        rekognition.index_faces(CollectionId="no-such-collection", Image={"Bytes": photo("astronaut.png")})
    assert _code(info) == "ResourceNotFoundException"
    assert rekognition.detect_faces(Image={"Bytes": photo("astronaut.png")})["FaceDetails"]

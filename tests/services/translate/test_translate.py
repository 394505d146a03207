"""Translate through boto3 on the installed Apertium pairs: words checked, errors as AWS names them."""

from __future__ import annotations

import json
import shutil
import time
from typing import Any

import botocore.exceptions
import pytest

pytestmark = pytest.mark.skipif(shutil.which("apertium") is None, reason="apertium is not installed")


@pytest.fixture
def translate(fogbank: Any) -> Any:
    return fogbank.client("translate")


def _code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**kwargs)
    return str(caught.value.response["Error"]["Code"])


def test_english_to_spanish_words_are_right(translate: Any) -> None:
    result = translate.translate_text(Text="The house is big.", SourceLanguageCode="en", TargetLanguageCode="es")
    assert result["TranslatedText"] == "La casa es grande."
    assert result["SourceLanguageCode"] == "en" and result["TargetLanguageCode"] == "es"
    back = translate.translate_text(Text="La casa es grande.", SourceLanguageCode="es", TargetLanguageCode="en")
    assert back["TranslatedText"] == "The house is big."


def test_auto_detects_the_source_and_pivots(translate: Any) -> None:
    result = translate.translate_text(Text="The house is very big and beautiful.", SourceLanguageCode="auto",
                                      TargetLanguageCode="fr")
    assert result["SourceLanguageCode"] == "en"
    # No English-French pair is installed: English -> Spanish -> French.
    assert result["TranslatedText"] == "La maison est très grande et belle."


def test_list_languages_tells_the_installed_pairs(translate: Any) -> None:
    codes = {item["LanguageCode"]: item["LanguageName"] for item in translate.list_languages()["Languages"]}
    assert codes["en"] == "English" and codes["es"] == "Spanish"
    assert "de" not in codes and "ja" not in codes
    assert _code(translate.translate_text, Text="Hallo Welt", SourceLanguageCode="de",
                 TargetLanguageCode="en") == "UnsupportedLanguagePairException"


def test_terminology_and_profanity_masking(translate: Any) -> None:
    translate.import_terminology(Name="brand-terms", MergeStrategy="OVERWRITE",
                                 TerminologyData={"File": b"en,es\nfogbank,FogBanco\n", "Format": "CSV"})
    properties = translate.get_terminology(Name="brand-terms")["TerminologyProperties"]
    assert properties["SourceLanguageCode"] == "en" and properties["TargetLanguageCodes"] == ["es"]
    assert properties["TermCount"] == 1
    result = translate.translate_text(Text="The fogbank house is big.", SourceLanguageCode="en",
                                      TargetLanguageCode="es", TerminologyNames=["brand-terms"])
    assert "FogBanco" in result["TranslatedText"] and "casa" in result["TranslatedText"]
    assert result["AppliedTerminologies"] == [{"Name": "brand-terms",
                                               "Terms": [{"SourceText": "fogbank", "TargetText": "FogBanco"}]}]
    tmx = (b'<?xml version="1.0"?><tmx version="1.4"><header srclang="en"/><body><tu>'
           b'<tuv xml:lang="en"><seg>garden</seg></tuv><tuv xml:lang="es"><seg>vergel</seg></tuv></tu></body></tmx>')
    translate.import_terminology(Name="tmx-terms", MergeStrategy="OVERWRITE",
                                 TerminologyData={"File": tmx, "Format": "TMX"})
    garden = translate.translate_text(Text="The garden is big.", SourceLanguageCode="en", TargetLanguageCode="es",
                                      TerminologyNames=["tmx-terms"])
    assert "vergel" in garden["TranslatedText"]
    masked = translate.translate_text(Text="This is shit.", SourceLanguageCode="en", TargetLanguageCode="es",
                                      Settings={"Profanity": "MASK"})
    assert "?$#@$" in masked["TranslatedText"] and masked["AppliedSettings"] == {"Profanity": "MASK"}
    assert "brand-terms" in [t["Name"] for t in translate.list_terminologies()["TerminologyPropertiesList"]]
    translate.delete_terminology(Name="brand-terms")
    assert _code(translate.get_terminology, Name="brand-terms") == "ResourceNotFoundException"


def test_translate_document_keeps_html_markup(translate: Any) -> None:
    html = b"<html><body><p>The house is <b>big</b>.</p></body></html>"
    result = translate.translate_document(Document={"Content": html, "ContentType": "text/html"},
                                          SourceLanguageCode="en", TargetLanguageCode="es")
    content = result["TranslatedDocument"]["Content"].decode()
    assert content.startswith("<html><body><p>") and "<b>grande</b>" in content and "casa" in content
    plain = translate.translate_document(Document={"Content": b"The house is big.", "ContentType": "text/plain"},
                                         SourceLanguageCode="en", TargetLanguageCode="es")
    assert plain["TranslatedDocument"]["Content"] == b"La casa es grande."


def test_bad_input_gets_aws_errors(translate: Any) -> None:
    assert _code(translate.translate_text, Text="ü" * 6000, SourceLanguageCode="en",
                 TargetLanguageCode="es") == "TextSizeLimitExceededException"
    assert _code(translate.translate_text, Text="   ", SourceLanguageCode="en",
                 TargetLanguageCode="es") == "InvalidRequestException"
    assert _code(translate.translate_text, Text="hello", SourceLanguageCode="en", TargetLanguageCode="es",
                 TerminologyNames=["nope"]) == "ResourceNotFoundException"
    assert _code(translate.translate_document, Document={"Content": b"\xff\xfe\x00junk", "ContentType": "text/plain"},
                 SourceLanguageCode="en", TargetLanguageCode="es") == "InvalidRequestException"
    assert translate.translate_text(Text="The house is big.", SourceLanguageCode="en",
                                    TargetLanguageCode="es")["TranslatedText"]


def test_batch_job_translates_s3_documents(translate: Any, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="in/one.txt", Body=b"The house is big.")
    s3.put_object(Bucket=bucket, Key="in/two.txt", Body=b"The garden is beautiful.")
    started = translate.start_text_translation_job(
        JobName="batch", InputDataConfig={"S3Uri": f"s3://{bucket}/in/", "ContentType": "text/plain"},
        OutputDataConfig={"S3Uri": f"s3://{bucket}/out/"},
        DataAccessRoleArn="arn:aws:iam::000000000000:role/translate", SourceLanguageCode="en",
        TargetLanguageCodes=["es"], ClientToken=f"token-{bucket}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = translate.describe_text_translation_job(JobId=started["JobId"])["TextTranslationJobProperties"]
        if job["JobStatus"] not in ("SUBMITTED", "IN_PROGRESS"):
            break
        time.sleep(0.2)
    assert job["JobStatus"] == "COMPLETED", job
    assert job["JobDetails"] == {"TranslatedDocumentsCount": 2, "DocumentsWithErrorsCount": 0,
                                 "InputDocumentsCount": 2}
    folder = f"out/000000000000-TranslateText-{started['JobId']}/"
    assert s3.get_object(Bucket=bucket, Key=f"{folder}es.one.txt")["Body"].read() == b"La casa es grande."
    details = json.loads(s3.get_object(Bucket=bucket, Key=f"{folder}details/es.details.json")["Body"].read())
    assert {d["sourceFile"] for d in details["details"]} == {"in/one.txt", "in/two.txt"}
    again = translate.start_text_translation_job(
        JobName="batch", InputDataConfig={"S3Uri": f"s3://{bucket}/in/", "ContentType": "text/plain"},
        OutputDataConfig={"S3Uri": f"s3://{bucket}/out/"},
        DataAccessRoleArn="arn:aws:iam::000000000000:role/translate", SourceLanguageCode="en",
        TargetLanguageCodes=["es"], ClientToken=f"token-{bucket}")
    assert again["JobId"] == started["JobId"]
    assert _code(translate.start_text_translation_job,
                 InputDataConfig={"S3Uri": f"s3://{bucket}/in/", "ContentType": "text/plain"},
                 OutputDataConfig={"S3Uri": f"s3://{bucket}/out/"},
                 DataAccessRoleArn="arn:aws:iam::000000000000:role/translate", SourceLanguageCode="en",
                 TargetLanguageCodes=["ja"], ClientToken="other") == "UnsupportedLanguagePairException"

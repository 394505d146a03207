"""SigV4 and SigV2 verification against requests signed by botocore's own signers (and awscrt's)."""

from __future__ import annotations

import contextlib
import hashlib
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import boto3
import botocore.auth
import botocore.crt.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.config import Config as BotoConfig
from botocore.credentials import Credentials

from fogbank.errors import AwsError, error_status
from fogbank.protocol import auth
from fogbank.protocol.auth import Credential, parse_credential, verify
from fogbank.protocol.http import BytesBody, Headers, HttpRequest

AK = "AKIAFOGBANKTEST00001"
SECRET = "fogbank/secret+key/0123456789abcdefghijk"
CREDS = Credentials(AK, SECRET)
FIXED = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)
ENDPOINT = "http://localhost:4566"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's SigV4 signers read the time here; a fixed clock makes the tests independent of now."""
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: FIXED.replace(tzinfo=None))
    # boto3 clients sign with awscrt when it is installed; its signers read the time here.
    monkeypatch.setattr(botocore.crt.auth, "get_current_datetime",
                        lambda remove_tzinfo=True: FIXED.replace(tzinfo=None) if remove_tzinfo else FIXED)


def wire(method: str, url: str, headers: dict[str, str] | list[tuple[str, str]], body: bytes = b"",
         path: str | None = None) -> HttpRequest:
    """An HttpRequest as the server builds it from the bytes a client sends."""
    parts = urlsplit(url)
    items = list(headers.items()) if isinstance(headers, dict) else list(headers)
    if not any(k.lower() == "host" for k, _ in items):
        items.append(("Host", parts.netloc))
    # The server decodes header bytes as latin-1, whatever the client encoded.
    decoded = [(k, v.encode("utf-8").decode("latin-1")) for k, v in items]
    return HttpRequest(method, path if path is not None else parts.path, parts.query, Headers(decoded),
                       BytesBody(body))


def sign(signer: Any, method: str, url: str, headers: dict[str, str] | None = None,
         body: bytes = b"", context: dict[str, Any] | None = None) -> HttpRequest:
    request = AWSRequest(method=method, url=url, headers=headers or {}, data=body)
    request.context.update(context or {})
    signer.add_auth(request)
    prepared = request.prepare()
    sent = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in prepared.headers.items()]
    return wire(method, prepared.url, sent, body)


def check(request: HttpRequest, service: str, now: datetime = FIXED, secret: str = SECRET) -> None:
    credential = parse_credential(request)
    assert credential is not None
    verify(request, secret, credential, now, service, 900)


def rejected(request: HttpRequest, service: str, **kwargs: Any) -> AwsError:
    with pytest.raises(AwsError) as info:
        check(request, service, **kwargs)
    return info.value


def tamper_header(request: HttpRequest, name: str, value: str) -> HttpRequest:
    items = [(k, value if k == name else v) for k, v in request.headers]
    if not any(k == name for k, _ in items):
        items.append((name, value))
    return HttpRequest(request.method, request.path, request.query_string, Headers(items), request.body)


# --------------------------------------------------------------------------- SigV4 headers, JSON services

def kinesis_request(body: bytes = b'{"StreamName":"s1"}') -> HttpRequest:
    signer = botocore.auth.SigV4Auth(CREDS, "kinesis", "eu-west-1")
    return sign(signer, "POST", ENDPOINT + "/", {"X-Amz-Target": "Kinesis_20131202.DescribeStream",
                                                 "Content-Type": "application/x-amz-json-1.1"}, body)


def test_parse_credential_from_authorization_header() -> None:
    credential = parse_credential(kinesis_request())
    assert credential == Credential(AK, "20260314", "eu-west-1", "kinesis", "sigv4-header",
                                    credential.signature if credential else "",
                                    ("content-type", "host", "x-amz-date", "x-amz-target"),
                                    "20260314T150926Z", None)
    assert credential is not None and len(credential.signature) == 64


def test_sigv4_header_accepts_botocore_request() -> None:
    check(kinesis_request(), "kinesis")


def test_sigv4_header_rejects_changed_body() -> None:
    request = kinesis_request()
    request.body = BytesBody(b'{"StreamName":"s2"}')
    error = rejected(request, "kinesis")
    assert (error.error_code, error_status(error)) == ("InvalidSignatureException", 403)


def test_sigv4_header_rejects_changed_signed_header() -> None:
    request = tamper_header(kinesis_request(), "x-amz-target", "Kinesis_20131202.DeleteStream")
    assert rejected(request, "kinesis").error_code == "InvalidSignatureException"


def test_sigv4_header_rejects_changed_path_and_query() -> None:
    request = kinesis_request()
    request.path = "/other"
    assert rejected(request, "kinesis").error_code == "InvalidSignatureException"
    request = kinesis_request()
    request.query_string = "a=b"
    assert rejected(request, "kinesis").error_code == "InvalidSignatureException"


def test_sigv4_header_rejects_wrong_secret() -> None:
    assert rejected(kinesis_request(), "kinesis", secret="not-the-secret").error_code == \
        "InvalidSignatureException"


def test_sigv4_header_clock_skew() -> None:
    check(kinesis_request(), "kinesis", now=FIXED + timedelta(minutes=14))
    error = rejected(kinesis_request(), "kinesis", now=FIXED + timedelta(minutes=16))
    assert error.error_code == "InvalidSignatureException"
    assert str(error).startswith("Signature expired: 20260314T150926Z is now earlier than 20260314T151026Z")
    error = rejected(kinesis_request(), "kinesis", now=FIXED - timedelta(minutes=16))
    assert str(error).startswith("Signature not yet current")


def test_sigv4_query_service_uses_query_error_codes() -> None:
    signer = botocore.auth.SigV4Auth(CREDS, "sts", "us-east-1")
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    request = sign(signer, "POST", ENDPOINT + "/", {"Content-Type": "application/x-www-form-urlencoded"}, body)
    check(request, "sts")
    request.body = BytesBody(b"Action=GetSessionToken&Version=2011-06-15")
    error = rejected(request, "sts")
    assert (error.error_code, error_status(error)) == ("SignatureDoesNotMatch", 403)


def test_sigv4_non_s3_path_is_double_encoded() -> None:
    signer = botocore.auth.SigV4Auth(CREDS, "lambda", "us-east-1")
    url = ENDPOINT + "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af/invocations"
    request = sign(signer, "POST", url, {}, b"{}")
    check(request, "lambda")
    request.path = request.path.replace("%3Af/", "%3Ag/")
    assert rejected(request, "lambda").error_code == "InvalidSignatureException"


def test_sigv4_with_date_header_instead_of_x_amz_date() -> None:
    signer = botocore.auth.SigV4Auth(CREDS, "kinesis", "us-east-1")
    request = sign(signer, "POST", ENDPOINT + "/", {"Date": "Sat, 01 Jan 2000 00:00:00 GMT"}, b"{}")
    assert request.headers.get("x-amz-date") is None
    assert request.headers.get("date") == "Sat, 14 Mar 2026 15:09:26 -0000"
    check(request, "kinesis")


def test_credential_scope_must_name_the_routed_service() -> None:
    error = rejected(kinesis_request(), "firehose")
    assert (error.error_code, error_status(error)) == ("IncompleteSignatureException", 400)
    assert "correct service: 'firehose'" in str(error)


def test_credential_date_must_match_request_date() -> None:
    request = kinesis_request()
    header = (request.headers.get("authorization") or "").replace("/20260314/", "/20260313/")
    error = rejected(tamper_header(request, "authorization", header), "kinesis")
    assert error.error_code == "IncompleteSignatureException"
    assert "Date in Credential scope does not match" in str(error)


# --------------------------------------------------------------------------- SigV4 headers, S3

def s3_put(key_path: str = "/bucket/my%20key%21%28x%29~.txt", body: bytes = b"hello world",
           headers: dict[str, str] | None = None, url: str = ENDPOINT,
           context: dict[str, Any] | None = None) -> HttpRequest:
    signer = botocore.auth.S3SigV4Auth(CREDS, "s3", "us-east-1")
    return sign(signer, "PUT", url + key_path, {"Content-Type": "text/plain", **(headers or {})}, body,
                context)


def test_s3_header_accepts_botocore_put_and_checks_payload_hash() -> None:
    request = s3_put()
    assert request.headers.get("x-amz-content-sha256") == hashlib.sha256(b"hello world").hexdigest()
    check(request, "s3")


def test_s3_header_rejects_changed_body_by_content_sha256() -> None:
    request = s3_put()
    request.body = BytesBody(b"HELLO WORLD")
    error = rejected(request, "s3")
    assert (error.error_code, error_status(error)) == ("XAmzContentSHA256Mismatch", 400)
    assert error.fields["S3ComputedContentSHA256"] == hashlib.sha256(b"HELLO WORLD").hexdigest()


def test_s3_streamed_body_fails_at_its_end_when_hash_differs() -> None:
    request = s3_put()

    class Stream:
        def __init__(self, data: bytes) -> None:
            self._io = io.BytesIO(data)

        def read(self, size: int = -1, /) -> bytes:
            return self._io.read(size)

    request.body = Stream(b"hello WORLD")
    check(request, "s3")  # the signature covers the header; the body is checked as it is read
    assert request.body.read(5) == b"hello"
    assert request.body.read(6) == b" WORLD"
    with pytest.raises(AwsError) as info:
        request.body.read(6)
    assert info.value.error_code == "XAmzContentSHA256Mismatch"

    good = s3_put()
    good.body = Stream(b"hello world")
    check(good, "s3")
    assert good.body.read() == b"hello world"

    # A reader that stops at Content-Length without asking for end-of-body still gets the error.
    sized = s3_put()
    sized.content_length = 11
    sized.body = Stream(b"hello WORLD")
    check(sized, "s3")
    assert sized.body.read(6) == b"hello "
    with pytest.raises(AwsError) as info:
        sized.body.read(5)
    assert info.value.error_code == "XAmzContentSHA256Mismatch"


def test_s3_header_rejects_tampering() -> None:
    request = s3_put()
    request.path = "/bucket/other-key"
    error = rejected(request, "s3")
    assert (error.error_code, error_status(error)) == ("SignatureDoesNotMatch", 403)
    assert error.fields["AWSAccessKeyId"] == AK
    assert error.fields["CanonicalRequest"].startswith("PUT\n/bucket/other-key\n")
    assert rejected(tamper_header(s3_put(), "content-type", "text/html"), "s3").error_code == \
        "SignatureDoesNotMatch"
    assert rejected(s3_put(), "s3", secret="wrong").error_code == "SignatureDoesNotMatch"


def test_s3_header_rejects_unsigned_amz_header() -> None:
    request = tamper_header(s3_put(), "x-amz-acl", "public-read")
    error = rejected(request, "s3")
    assert (error.error_code, error_status(error)) == ("AccessDenied", 403)
    assert error.fields["HeadersNotSigned"] == "x-amz-acl"


def test_s3_unsigned_payload() -> None:
    no_signing = BotoConfig(s3={"payload_signing_enabled": False})
    request = s3_put(body=b"anything", context={"client_config": no_signing})
    assert request.headers.get("x-amz-content-sha256") == "UNSIGNED-PAYLOAD"
    check(request, "s3")


def test_s3_missing_and_invalid_content_sha256() -> None:
    request = s3_put()
    stripped = HttpRequest(request.method, request.path, request.query_string,
                           Headers([(k, v) for k, v in request.headers if k != "x-amz-content-sha256"]),
                           request.body)
    error = rejected(stripped, "s3")
    assert (error.error_code, str(error)) == ("InvalidRequest",
                                              "Missing required header for this request: x-amz-content-sha256")
    assert rejected(tamper_header(request, "x-amz-content-sha256", "nope"), "s3").error_code == "InvalidArgument"


def test_s3_clock_skew() -> None:
    error = rejected(s3_put(), "s3", now=FIXED + timedelta(hours=1))
    assert (error.error_code, error_status(error)) == ("RequestTimeTooSkewed", 403)
    assert error.fields["RequestTime"] == "20260314T150926Z"
    assert error.fields["MaxAllowedSkewMilliseconds"] == "900000"


def test_s3_virtual_hosted_request_after_routing_rewrote_the_path() -> None:
    request = s3_put("/photos/cat.jpg", url="http://my.bucket.s3.localhost:4566")
    assert request.path == "/photos/cat.jpg"
    check(request, "s3")
    request.path = "/my.bucket/photos/cat.jpg"  # routing puts the Host's bucket in front
    check(request, "s3")


def test_s3_path_style_signature_cannot_be_replayed_under_another_bucket() -> None:
    request = s3_put("/bucket/key")
    request.path = "/attacker/bucket/key"
    assert rejected(request, "s3").error_code == "SignatureDoesNotMatch"


def test_s3_header_signed_by_awscrt() -> None:
    from awscrt.auth import (
        AwsCredentialsProvider,
        AwsSignatureType,
        AwsSignedBodyHeaderType,
        AwsSigningConfig,
        aws_sign_request,
    )
    from awscrt.http import HttpHeaders
    from awscrt.http import HttpRequest as CrtRequest

    body = b"crt body"
    crt = CrtRequest("PUT", "/bucket/a%20b/c%2Bd?tagging=&versionId=v%201",
                     HttpHeaders([("host", "localhost:4566"), ("content-length", str(len(body)))]))
    config = AwsSigningConfig(
        signature_type=AwsSignatureType.HTTP_REQUEST_HEADERS,
        credentials_provider=AwsCredentialsProvider.new_static(AK, SECRET),
        region="us-west-2", service="s3", date=FIXED, use_double_uri_encode=False,
        should_normalize_uri_path=False, signed_body_value=hashlib.sha256(body).hexdigest(),
        signed_body_header_type=AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256)
    signed = aws_sign_request(crt, config).result()
    path, _, query = signed.path.partition("?")
    request = HttpRequest("PUT", path, query, Headers(list(signed.headers)), BytesBody(body))
    check(request, "s3")
    request.query_string = "tagging=&versionId=v%202"
    assert rejected(request, "s3").error_code == "SignatureDoesNotMatch"


def test_aws_documentation_chunked_upload_example() -> None:
    """The seed and chunk signatures published in the S3 SigV4 streaming-upload documentation."""
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
    headers = [
        ("Host", "s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"),
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
                          "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
                          f"x-amz-decoded-content-length;x-amz-storage-class,Signature={seed}"),
        ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"), ("Content-Encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", "66560"), ("Content-Length", "66824"),
    ]
    request = HttpRequest("PUT", "/examplebucket/chunkObject.txt", "", Headers(headers))
    credential = parse_credential(request)
    assert credential is not None
    verify(request, secret, credential, datetime(2013, 5, 24, 0, 1, tzinfo=UTC), "s3")
    signer = auth.chunk_signer(credential, secret, credential.signature)
    assert signer(b"a" * 65536) == "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
    assert signer(b"a" * 1024) == "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
    assert signer(b"") == "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"


def test_chunk_verifiers_chain_and_reject_reordered_chunks() -> None:
    import hmac as hmac_mod

    credential = Credential(AK, "20260314", "us-east-1", "s3", "sigv4-header", "ab" * 32, ("host",),
                            "20260314T150926Z")
    expected = auth.chunk_signer(credential, SECRET, credential.signature)
    first, second, final = expected(b"one"), expected(b"two"), expected(b"")
    trailer_block = b"x-amz-checksum-crc32:AAAAAA==\n"
    key = auth.signing_key(SECRET, "20260314", "us-east-1", "s3")
    to_sign = "\n".join(("AWS4-HMAC-SHA256-TRAILER", "20260314T150926Z", credential.scope, final,
                         hashlib.sha256(trailer_block).hexdigest()))
    trailer = hmac_mod.new(key, to_sign.encode(), hashlib.sha256).hexdigest()

    verify_chunk, verify_trailer = auth.chunk_verifiers(credential, SECRET)
    verify_chunk(b"one", first)
    verify_chunk(b"two", second)
    verify_chunk(b"", final)
    verify_trailer(trailer_block, trailer)

    verify_chunk, _ = auth.chunk_verifiers(credential, SECRET)
    with pytest.raises(AwsError) as info:
        verify_chunk(b"two", second)
    assert info.value.error_code == "SignatureDoesNotMatch"


# --------------------------------------------------------------------------- presigned SigV4

def s3_client(signature_version: str = "s3v4", **config: Any) -> Any:
    return boto3.client("s3", endpoint_url=ENDPOINT, region_name="us-east-1", aws_access_key_id=AK,
                        aws_secret_access_key=SECRET,
                        config=BotoConfig(signature_version=signature_version, **config))


def presigned(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> HttpRequest:
    return wire(method, url, headers or {})


def test_presigned_v4_get_with_response_overrides() -> None:
    url = s3_client().generate_presigned_url(
        "get_object", Params={"Bucket": "bucket", "Key": "dir/a b+c.txt",
                              "ResponseContentDisposition": 'attachment; filename="x y.txt"'},
        ExpiresIn=600)
    request = presigned(url)
    credential = parse_credential(request)
    assert credential is not None and credential.scheme == "sigv4-query"
    assert (credential.access_key, credential.region, credential.service) == (AK, "us-east-1", "s3")
    check(request, "s3")
    check(request, "s3", now=FIXED + timedelta(seconds=599))


def test_presigned_v4_expiry_and_validity_window() -> None:
    request = presigned(s3_client().generate_presigned_url(
        "get_object", Params={"Bucket": "bucket", "Key": "k"}, ExpiresIn=600))
    error = rejected(request, "s3", now=FIXED + timedelta(seconds=601))
    assert (error.error_code, str(error), error_status(error)) == ("AccessDenied", "Request has expired", 403)
    assert error.fields["X-Amz-Expires"] == "600"
    error = rejected(request, "s3", now=FIXED - timedelta(hours=1))
    assert (error.error_code, str(error)) == ("AccessDenied", "Request is not valid yet")


def test_presigned_v4_rejects_tampering() -> None:
    url = s3_client().generate_presigned_url("get_object", Params={"Bucket": "bucket", "Key": "k"})
    request = presigned(url)
    request.path = "/bucket/k2"
    assert rejected(request, "s3").error_code == "SignatureDoesNotMatch"
    request = presigned(url + "&response-content-type=text%2Fhtml")
    assert rejected(request, "s3").error_code == "SignatureDoesNotMatch"
    request = presigned(url, method="DELETE")
    assert rejected(request, "s3").error_code == "SignatureDoesNotMatch"
    query = dict(parse_qsl(urlsplit(url).query))
    query["X-Amz-Expires"] = "604801"
    request = presigned(url.split("?")[0] + "?" + urlencode(query))
    error = rejected(request, "s3")
    assert (error.error_code, error_status(error)) == ("AuthorizationQueryParametersError", 400)


def test_presigned_v4_put_with_signed_content_type() -> None:
    url = s3_client().generate_presigned_url(
        "put_object", Params={"Bucket": "bucket", "Key": "k", "ContentType": "image/png"})
    check(wire("PUT", url, {"Content-Type": "image/png"}, b"\x89PNG"), "s3")
    assert rejected(wire("PUT", url, {"Content-Type": "text/html"}, b"x"), "s3").error_code == \
        "SignatureDoesNotMatch"


def test_presigned_v4_non_s3_service() -> None:
    signer = botocore.auth.SigV4QueryAuth(CREDS, "sts", "us-east-1", expires=60)
    request = sign(signer, "GET", ENDPOINT + "/?Action=GetCallerIdentity&Version=2011-06-15",
                   {"x-k8s-aws-id": "cluster"})
    check(request, "sts")
    error = rejected(request, "sts", now=FIXED + timedelta(seconds=61))
    assert error.error_code == "SignatureDoesNotMatch"
    assert str(error).startswith("Signature expired")


# --------------------------------------------------------------------------- SigV2

def test_sigv2_header_with_subresources() -> None:
    signer = botocore.auth.HmacV1Auth(CREDS)
    url = ENDPOINT + "/bucket/big%20file?partNumber=3&uploadId=abc%2Fdef&ignored=1"
    request = sign(signer, "PUT", url, {"Content-MD5": "1B2M2Y8AsgTpgAZPrwtEDA==", "x-amz-meta-Colour": "blue"},
                   b"")
    credential = parse_credential(request)
    assert credential is not None and (credential.scheme, credential.access_key) == ("sigv2-header", AK)
    now = datetime.now(UTC)  # the v2 signer stamps the real time in its Date header
    check(request, "s3", now=now)
    assert auth.v2_strings_to_sign(request, credential)[0].endswith(
        "x-amz-meta-colour:blue\n/bucket/big%20file?partNumber=3&uploadId=abc/def")
    assert rejected(tamper_header(request, "x-amz-meta-colour", "red"), "s3", now=now).error_code == \
        "SignatureDoesNotMatch"
    request.query_string = "partNumber=4&uploadId=abc%2Fdef&ignored=1"
    assert rejected(request, "s3", now=now).error_code == "SignatureDoesNotMatch"
    error = rejected(sign(signer, "PUT", url, {}, b""), "s3", now=now + timedelta(hours=1))
    assert error.error_code == "RequestTimeTooSkewed"


def test_sigv2_header_with_uploads_subresource_and_wrong_secret() -> None:
    request = sign(botocore.auth.HmacV1Auth(CREDS), "POST", ENDPOINT + "/bucket/k?uploads", {}, b"")
    now = datetime.now(UTC)
    check(request, "s3", now=now)
    assert rejected(request, "s3", now=now, secret="wrong").error_code == "SignatureDoesNotMatch"


def test_presigned_v2_url_from_boto3() -> None:
    url = s3_client("s3").generate_presigned_url(
        "get_object", Params={"Bucket": "bucket", "Key": "a b.txt", "VersionId": "v1",
                              "ResponseContentType": "text/plain"}, ExpiresIn=300)
    request = presigned(url)
    credential = parse_credential(request)
    assert credential is not None and credential.scheme == "sigv2-query"
    expires = datetime.fromtimestamp(int(request.query_dict["Expires"]), UTC)
    check(request, "s3", now=expires - timedelta(seconds=1))
    error = rejected(request, "s3", now=expires + timedelta(seconds=1))
    assert (error.error_code, str(error)) == ("AccessDenied", "Request has expired")
    tampered = presigned(url.replace("versionId=v1", "versionId=v2"))
    assert rejected(tampered, "s3", now=expires - timedelta(seconds=1)).error_code == "SignatureDoesNotMatch"


def test_presigned_v2_with_session_token_in_query() -> None:
    signer = botocore.auth.HmacV1QueryAuth(Credentials(AK, SECRET, "session-token-value"), expires=60)
    request = sign(signer, "GET", ENDPOINT + "/bucket/key", {}, b"")
    credential = parse_credential(request)
    assert credential is not None and credential.session_token == "session-token-value"
    expires = datetime.fromtimestamp(int(request.query_dict["Expires"]), UTC)
    check(request, "s3", now=expires)


def test_sigv2_is_refused_outside_s3() -> None:
    request = sign(botocore.auth.HmacV1Auth(CREDS), "GET", ENDPOINT + "/", {}, b"")
    credential = parse_credential(request)
    assert credential is not None
    with pytest.raises(AwsError) as info:
        verify(request, SECRET, credential, datetime.now(UTC), "kinesis")
    assert info.value.error_code == "IncompleteSignatureException"


# --------------------------------------------------------------------------- parse_credential

@pytest.mark.parametrize("headers,query,expected", [
    ({}, "", None),
    ({"Authorization": "AWS4-HMAC-SHA256 Credential=AKX/20260101/us-east-1/s3/aws4_request, "
                       "SignedHeaders=host, Signature=00"}, "", ("AKX", "us-east-1", "s3", "sigv4-header")),
    ({}, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKQ%2F20260101%2Feu-west-1%2Fsqs%2Faws4_request"
         "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=5&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
     ("AKQ", "eu-west-1", "sqs", "sigv4-query")),
    ({}, "AWSAccessKeyId=AK2&Expires=1&Signature=x", ("AK2", None, "s3", "sigv2-query")),
    ({"Authorization": "AWS AK3:c2lnbmF0dXJl"}, "", ("AK3", None, "s3", "sigv2-header")),
    ({"Authorization": "AWS4-HMAC-SHA256 Credential=broken"}, "", None),
    ({"Authorization": "Bearer token"}, "", None),
])
def test_parse_credential(headers: dict[str, str], query: str, expected: tuple[Any, ...] | None) -> None:
    request = HttpRequest("GET", "/", query, Headers(headers.items()))
    credential = parse_credential(request)
    if expected is None:
        assert credential is None
    else:
        assert credential is not None
        assert (credential.access_key, credential.region, credential.service, credential.scheme) == expected


def test_sigv4a_is_parsed_but_refused() -> None:
    request = HttpRequest("GET", "/k", "", Headers([
        ("Authorization", "AWS4-ECDSA-P256-SHA256 Credential=AKA/20260314/s3/aws4_request, "
                          "SignedHeaders=host;x-amz-date;x-amz-region-set, Signature=3045"),
        ("x-amz-region-set", "*"), ("x-amz-date", "20260314T150926Z"), ("host", "b.s3.localhost")]))
    credential = parse_credential(request)
    assert credential is not None
    assert (credential.scheme, credential.region, credential.service) == ("sigv4a-header", "*", "s3")
    error = rejected(request, "s3")
    assert (error.error_code, error_status(error)) == ("InvalidRequest", 400)



# --------------------------------------------------------------------------- whole boto3 clients

class _EmptyRaw:
    def stream(self, *args: Any, **kwargs: Any) -> Any:
        return iter(())

    def read(self, *args: Any) -> bytes:
        return b""


def captured(service: str, call: str, **params: Any) -> HttpRequest:
    """The request a boto3 client sends for one call, as the server would receive it."""
    from botocore.awsrequest import AWSResponse

    client = boto3.client(service, endpoint_url=ENDPOINT, region_name="eu-central-1", aws_access_key_id=AK,
                          aws_secret_access_key=SECRET, config=BotoConfig(retries={"max_attempts": 1}))
    sent: list[HttpRequest] = []

    def before_send(request: Any, **_: Any) -> AWSResponse:
        body = request.body
        if body is None or isinstance(body, (bytes, bytearray)):
            raw = bytes(body or b"")
        elif isinstance(body, str):
            raw = body.encode("utf-8")
        else:
            raw = body.read() if hasattr(body, "read") else b"".join(body)
        items = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()]
        sent.append(wire(request.method, request.url, items, bytes(raw)))
        return AWSResponse(request.url, 200, {}, _EmptyRaw())

    client.meta.events.register("before-send", before_send)
    # The empty canned response may not parse; only the request matters.
    with contextlib.suppress(Exception):
        getattr(client, call)(**params)
    assert sent, f"{service}.{call} sent nothing"
    return sent[0]


@pytest.mark.parametrize("service,call,params", [
    ("s3", "put_object", {"Bucket": "bkt", "Key": "dir/ä ö+&=?.txt", "Body": b"payload bytes",
                          "Metadata": {"colour": "blue"}}),
    ("s3", "get_object", {"Bucket": "bkt", "Key": "a/b c", "Range": "bytes=0-3", "VersionId": "v 1"}),
    ("s3", "list_objects_v2", {"Bucket": "bkt", "Prefix": "p/q r", "Delimiter": "/", "MaxKeys": 5}),
    ("s3", "delete_objects", {"Bucket": "bkt", "Delete": {"Objects": [{"Key": "a"}, {"Key": "b"}]}}),
    ("s3", "upload_part", {"Bucket": "bkt", "Key": "k", "UploadId": "u/1", "PartNumber": 2, "Body": b"part"}),
    ("kinesis", "put_record", {"StreamName": "s", "Data": b"record", "PartitionKey": "pk"}),
    ("sts", "get_caller_identity", {}),
    ("glue", "get_table", {"DatabaseName": "db", "Name": "t"}),
])
def test_boto3_client_requests_verify(service: str, call: str, params: dict[str, Any]) -> None:
    request = captured(service, call, **params)
    check(request, "s3" if service == "s3" else service, now=FIXED)


def test_boto3_s3_put_with_tampered_body_is_rejected() -> None:
    request = captured("s3", "put_object", Bucket="bkt", Key="k", Body=b"payload bytes")
    assert request.headers.get("x-amz-content-sha256") == hashlib.sha256(b"payload bytes").hexdigest()
    request.body = BytesBody(b"payload BYTES")
    assert rejected(request, "s3").error_code == "XAmzContentSHA256Mismatch"


def test_sigv2_bucket_level_request_signed_with_trailing_slash() -> None:
    request = captured_v2_create_bucket()
    assert request.path == "/new-bucket"
    check(request, "s3", now=datetime.now(UTC))
    request.path = "/other-bucket"
    assert rejected(request, "s3", now=datetime.now(UTC)).error_code == "SignatureDoesNotMatch"


def captured_v2_create_bucket() -> HttpRequest:
    """boto3 signs CreateBucket's resource as "/new-bucket/" while it sends the path "/new-bucket"."""
    from botocore.awsrequest import AWSResponse

    client = s3_client("s3")
    sent: list[HttpRequest] = []

    def before_send(request: Any, **_: Any) -> AWSResponse:
        items = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()]
        sent.append(wire(request.method, request.url, items, b""))
        return AWSResponse(request.url, 200, {}, _EmptyRaw())

    client.meta.events.register("before-send", before_send)
    with contextlib.suppress(Exception):
        client.create_bucket(Bucket="new-bucket")
    return sent[0]

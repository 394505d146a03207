"""S3 checksums against botocore's own implementations, published check values and awscrt's combiners."""

from __future__ import annotations

import base64
import itertools
import os
import random

import pytest
from awscrt import checksums as crt_checksums
from botocore import httpchecksum

from fogbank.services.s3.checksums import (
    ALGORITHMS,
    DIGEST_SIZES,
    algorithm_for_header,
    combine_crc,
    combine_full_object,
    composite_checksum,
    decode_digest,
    header_name,
    member_name,
    new_checksum,
)

BOTOCORE: dict[str, type[httpchecksum.BaseChecksum]] = {
    "CRC32": httpchecksum.Crc32Checksum,
    "CRC32C": httpchecksum.CrtCrc32cChecksum,
    "CRC64NVME": httpchecksum.CrtCrc64NvmeChecksum,
    "SHA1": httpchecksum.Sha1Checksum,
    "SHA256": httpchecksum.Sha256Checksum,
}
CRCS = ("CRC32", "CRC32C", "CRC64NVME")


def botocore_digest(algorithm: str, data: bytes) -> bytes:
    checksum = BOTOCORE[algorithm]()
    checksum.update(data)
    digest = checksum.digest()
    assert isinstance(digest, bytes)
    return digest


def ours(algorithm: str, data: bytes) -> bytes:
    checksum = new_checksum(algorithm)
    checksum.update(data)
    return checksum.digest()


def test_algorithms() -> None:
    assert ALGORITHMS == ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
    assert set(BOTOCORE) == set(ALGORITHMS)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("size", [0, 1, 9, 4_096, 1_000_003])
def test_digest_matches_botocore(algorithm: str, size: int) -> None:
    data = os.urandom(size)
    checksum = new_checksum(algorithm)
    checksum.update(data)
    expected = botocore_digest(algorithm, data)
    assert checksum.digest() == expected
    assert len(expected) == DIGEST_SIZES[algorithm]
    assert checksum.b64digest() == base64.b64encode(expected).decode()


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_incremental_updates_equal_one_update(algorithm: str) -> None:
    rng = random.Random(7)
    data = os.urandom(200_000)
    checksum = new_checksum(algorithm)
    pos = 0
    while pos < len(data):
        step = rng.choice([0, 1, 3, 100, 65_536])
        checksum.update(data[pos:pos + step])
        pos += step
    assert checksum.digest() == botocore_digest(algorithm, data)
    # digest() does not finalize: more data may follow.
    checksum.update(b"tail")
    assert checksum.digest() == botocore_digest(algorithm, data + b"tail")


@pytest.mark.parametrize(
    ("algorithm", "check"),
    [
        # The standard check values: each CRC over the nine ASCII bytes "123456789".
        ("CRC32", "cbf43926"),
        ("CRC32C", "e3069283"),
        ("CRC64NVME", "ae8b14860a799888"),
        ("SHA1", "f7c3bc1d808e04732adf679965ccc34ca7ae3441"),
        ("SHA256", "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225"),
    ],
)
def test_known_vectors(algorithm: str, check: str) -> None:
    assert ours(algorithm, b"123456789").hex() == check


def test_lower_case_names_are_accepted() -> None:
    assert ours("crc32c", b"123456789").hex() == "e3069283"


@pytest.mark.parametrize("bad", ["MD5", "CRC64", "SHA512", "", "XXHASH64"])
def test_unknown_algorithm(bad: str) -> None:
    with pytest.raises(ValueError):
        new_checksum(bad)
    with pytest.raises(ValueError):
        header_name(bad)
    with pytest.raises(ValueError):
        member_name(bad)


def test_names() -> None:
    assert [header_name(a) for a in ALGORITHMS] == [
        "x-amz-checksum-crc32",
        "x-amz-checksum-crc32c",
        "x-amz-checksum-crc64nvme",
        "x-amz-checksum-sha1",
        "x-amz-checksum-sha256",
    ]
    assert [member_name(a) for a in ALGORITHMS] == [
        "ChecksumCRC32",
        "ChecksumCRC32C",
        "ChecksumCRC64NVME",
        "ChecksumSHA1",
        "ChecksumSHA256",
    ]
    assert algorithm_for_header("X-Amz-Checksum-CRC64NVME") == "CRC64NVME"
    assert algorithm_for_header("x-amz-checksum-sha256") == "SHA256"
    assert algorithm_for_header("x-amz-checksum-md5") is None
    assert algorithm_for_header("x-amz-checksum-type") is None
    assert algorithm_for_header("content-md5") is None


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_composite_checksum(algorithm: str) -> None:
    parts = [os.urandom(n) for n in (5_000, 5_000, 17)]
    digests = [botocore_digest(algorithm, p) for p in parts]
    expected = base64.b64encode(botocore_digest(algorithm, b"".join(digests))).decode()
    assert composite_checksum(algorithm, digests) == f"{expected}-3"


def test_composite_checksum_of_one_part_is_not_the_part_checksum() -> None:
    digest = botocore_digest("SHA256", b"only part")
    result = composite_checksum("SHA256", [digest])
    assert result.endswith("-1")
    assert result[:-2] != base64.b64encode(digest).decode()


def _random_cuts(rng: random.Random, size: int, parts: int) -> list[int]:
    cuts = sorted(rng.randint(0, size) for _ in range(parts - 1))
    return [0, *cuts, size]


@pytest.mark.parametrize("algorithm", CRCS)
@pytest.mark.parametrize("seed", range(5))
def test_full_object_combine_equals_whole_crc(algorithm: str, seed: int) -> None:
    rng = random.Random(seed)
    data = os.urandom(rng.randint(0, 300_000))
    bounds = _random_cuts(rng, len(data), rng.randint(1, 12))
    pieces = [data[a:b] for a, b in itertools.pairwise(bounds)]
    parts = [(botocore_digest(algorithm, p), len(p)) for p in pieces]
    expected = base64.b64encode(botocore_digest(algorithm, data)).decode()
    assert combine_full_object(algorithm, parts) == expected


@pytest.mark.parametrize("algorithm", CRCS)
def test_full_object_combine_with_empty_and_large_lengths(algorithm: str) -> None:
    a, b = os.urandom(1_000), os.urandom(3_000_000)
    parts = [(ours(algorithm, piece), len(piece)) for piece in (b"", a, b"", b)]
    expected = base64.b64encode(botocore_digest(algorithm, a + b)).decode()
    assert combine_full_object(algorithm, parts) == expected
    assert combine_full_object(algorithm, []) == base64.b64encode(bytes(DIGEST_SIZES[algorithm])).decode()


CRT_COMBINE = {
    "CRC32": crt_checksums.combine_crc32,
    "CRC32C": crt_checksums.combine_crc32c,
    "CRC64NVME": crt_checksums.combine_crc64nvme,
}


@pytest.mark.parametrize("algorithm", CRCS)
def test_combine_agrees_with_awscrt_for_lengths_no_data_could_cover(algorithm: str) -> None:
    # Part lengths up to 5 GiB (S3's largest part) and beyond, checked against awscrt's own combiner.
    rng = random.Random(11)
    mask = (1 << (DIGEST_SIZES[algorithm] * 8)) - 1
    # (Length 0 is left out: with it crc2 can only be the empty CRC, which the data tests above cover.)
    lengths = [1, 2, 255, 5 * 1024**3, 5 * 1024**4, 2**63 - 1, *(rng.randint(1, 2**40) for _ in range(20))]
    for length in lengths:
        crc1, crc2 = rng.randint(0, mask), rng.randint(0, mask)
        assert combine_crc(algorithm, crc1, crc2, length) == CRT_COMBINE[algorithm](crc1, crc2, length)


@pytest.mark.parametrize("algorithm", ["SHA1", "SHA256", "MD5"])
def test_full_object_combine_rejects_non_crc(algorithm: str) -> None:
    with pytest.raises(ValueError):
        combine_full_object(algorithm, [(b"\0" * 20, 1)])


def test_full_object_combine_rejects_bad_parts() -> None:
    with pytest.raises(ValueError):
        combine_full_object("CRC32", [(b"\0" * 8, 1)])
    with pytest.raises(ValueError):
        combine_full_object("CRC64NVME", [(b"\0" * 8, -1)])


def test_decode_digest() -> None:
    digest = ours("CRC32C", b"abc")
    assert decode_digest("CRC32C", base64.b64encode(digest).decode()) == digest
    for bad in ("not base64!", "AAAA", base64.b64encode(b"\0" * 8).decode(), "AAAAAA==\n", "ÀÀÀÀ"):
        with pytest.raises(ValueError):
            decode_digest("CRC32C", bad)

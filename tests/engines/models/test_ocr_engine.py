"""Document decoding (formats by magic bytes, pages, limits, broken files) and the OCR engine on a page
drawn here: exact words, boxes where the text was drawn, lines split at column gaps."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw
from tests.services.textract import render

from fogbank.engines.models import documents
from fogbank.engines.models.documents import DocumentError
from fogbank.engines.models.ocr import OcrEngine, reading_order


def test_formats_are_told_by_their_bytes() -> None:
    page = render.text_page(["x"])
    assert documents.sniff(render.png(page)) == "PNG"
    assert documents.sniff(render.jpeg(page)) == "JPEG"
    assert documents.sniff(render.tiff([page])) == "TIFF"
    assert documents.sniff(render.pdf([page])) == "PDF"
    assert documents.sniff(b"GIF89a....") is None


def test_pages_of_multipage_tiff_and_pdf() -> None:
    pages = [render.text_page([f"page {i}"], width=400 + 100 * i) for i in range(3)]
    tiff_pages = list(documents.iter_pages(render.tiff(pages)))
    assert [p.size for p in tiff_pages] == [p.size for p in pages]
    assert documents.inspect(render.pdf(pages)).pages == 3
    pdf_pages = list(documents.iter_pages(render.pdf(pages)))
    assert len(pdf_pages) == 3 and all(p.mode == "RGB" for p in pdf_pages)
    # PDF pages are rendered larger than drawn (at most 4x, at most the OCR's working size).
    assert all(o.width < p.width <= documents.PDF_TARGET_SIDE for o, p in zip(pages, pdf_pages, strict=True))
    with pytest.raises(DocumentError) as info:
        list(documents.iter_pages(render.pdf(pages), max_pages=2))
    assert info.value.reason == "too_many_pages"


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "empty"),
    (b"hello world", "unsupported"),
    (render.png(render.text_page(["x"]))[:120], "corrupt"),
    (render.encrypted_pdf(), "encrypted"),
    (render.empty_pdf(), "corrupt"),
])
def test_broken_documents_say_why(data: bytes, reason: str) -> None:
    with pytest.raises(DocumentError) as info:
        list(documents.iter_pages(data))
    assert info.value.reason == reason


def test_pixel_bombs_are_refused_before_decoding() -> None:
    buffer = io.BytesIO()
    Image.new("1", (12000, 12000)).save(buffer, "PNG")  # tiny file, 144 M pixels
    with pytest.raises(DocumentError) as info:
        documents.load_image(buffer.getvalue())
    assert info.value.reason == "too_large"


def test_exif_orientation_is_applied_to_photos() -> None:
    image = Image.new("RGB", (40, 20), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees clockwise
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    assert documents.load_image(buffer.getvalue()).size == (20, 40)


@pytest.fixture(scope="module")
def engine() -> OcrEngine:
    return OcrEngine()


def test_ocr_reads_words_with_boxes_and_splits_columns(engine: OcrEngine) -> None:
    image = Image.new("RGB", (1100, 260), "white")
    draw = ImageDraw.Draw(image)
    draw.text((40, 40), "Shipping address confirmed", font=render.font(34), fill="black")
    draw.text((40, 150), "Quantity", font=render.font(34), fill="black")
    draw.text((700, 150), "Q3 98", font=render.font(34), fill="black")
    page = engine.read(image)
    assert [ln.text for ln in page.lines] == ["Shipping address confirmed", "Quantity", "Q3 98"]
    words = page.lines[0].words
    assert [w.text for w in words] == ["Shipping", "address", "confirmed"]
    assert 25 <= words[0].box.left <= 50 and 30 <= words[0].box.top <= 50
    assert words[0].box.right < words[1].box.left < words[2].box.left
    assert all(w.confidence > 0.8 for ln in page.lines for w in ln.words)
    assert page.lines[2].box.left > 650  # the far column is its own line
    assert [ln.text for ln in reading_order(list(reversed(page.lines)))] == [ln.text for ln in page.lines]

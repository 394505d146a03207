"""Turning document bytes (PNG, JPEG, TIFF, PDF) into page images for OCR and vision models.

Formats are told apart by their magic bytes, never by a name a client sent. Decoding is bounded: a page
count limit, a pixel limit that also stops decompression bombs, and PDF pages rendered at a resolution
chosen so the longer side stays near what the OCR detector works at. Every failure is a ``DocumentError``
whose ``reason`` the services map onto their own AWS errors.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from PIL import Image

Reason = Literal["unsupported", "corrupt", "encrypted", "too_many_pages", "too_large", "empty"]

FORMATS = ("PNG", "JPEG", "TIFF", "PDF")
# Pixels per page beyond which an image is refused rather than decoded (Pillow's bomb guard is 89 M).
MAX_PIXELS = 100_000_000
# PDF pages are rendered so that their longer side is about this many pixels (~180 dpi on A4/Letter).
PDF_TARGET_SIDE = 2000
PDF_MAX_SCALE = 4.0


class DocumentError(ValueError):
    """A document that cannot be turned into pages; ``reason`` says why in one word."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason


@dataclass
class DocumentInfo:
    format: str
    pages: int


def sniff(data: bytes) -> str | None:
    """The format named by the first bytes, or None."""
    head = data[:8]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "TIFF"
    if b"%PDF-" in data[:1024]:
        return "PDF"
    return None


def inspect(data: bytes, formats: tuple[str, ...] = FORMATS) -> DocumentInfo:
    """The format and page count, checking the document opens at all."""
    if not data:
        raise DocumentError("empty", "The document is empty")
    fmt = sniff(data)
    if fmt is None or fmt not in formats:
        raise DocumentError("unsupported", "Request has unsupported document format")
    if fmt == "PDF":
        pdf = _open_pdf(data)
        try:
            count = len(pdf)
        finally:
            pdf.close()
        if count == 0:
            raise DocumentError("corrupt", "The PDF document has no pages")
        return DocumentInfo(fmt, count)
    image = _open_image(data)
    count = int(getattr(image, "n_frames", 1) or 1) if fmt == "TIFF" else 1
    return DocumentInfo(fmt, count)


def iter_pages(data: bytes, formats: tuple[str, ...] = FORMATS, max_pages: int | None = None) -> Iterator[Image.Image]:
    """RGB page images, one at a time, so a long PDF is never held in memory whole."""
    info = inspect(data, formats)
    if max_pages is not None and info.pages > max_pages:
        raise DocumentError("too_many_pages", f"The document has {info.pages} pages; at most {max_pages} are allowed")
    if info.format == "PDF":
        yield from _pdf_pages(data)
        return
    image = _open_image(data)
    for index in range(info.pages):
        try:
            image.seek(index)
            frame = image.convert("RGB")
        except (OSError, ValueError, EOFError) as exc:
            raise DocumentError("corrupt", f"Unable to read page {index + 1} of the image: {exc}") from exc
        yield frame


def load_image(data: bytes, formats: tuple[str, ...] = ("PNG", "JPEG")) -> Image.Image:
    """One RGB image (photos for Rekognition), with EXIF orientation applied as a camera meant it."""
    from PIL import ImageOps

    if not data:
        raise DocumentError("empty", "The image is empty")
    fmt = sniff(data)
    if fmt is None or fmt not in formats:
        raise DocumentError("unsupported", "Request has invalid image format")
    image = _open_image(data)
    try:
        image.load()
        transposed = ImageOps.exif_transpose(image)
        return (transposed or image).convert("RGB")
    except (OSError, ValueError, SyntaxError) as exc:
        raise DocumentError("corrupt", f"Unable to decode the image: {exc}") from exc


def _open_image(data: bytes) -> Image.Image:
    from PIL import Image

    try:
        with warnings.catch_warnings():
            # MAX_PIXELS below is the limit that applies; Pillow's own warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        width, height = image.size
    except Image.DecompressionBombError as exc:
        raise DocumentError("too_large", f"The image has too many pixels: {exc}") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise DocumentError("corrupt", f"Unable to decode the image: {exc}") from exc
    if width <= 0 or height <= 0:
        raise DocumentError("corrupt", "The image has no pixels")
    if width * height > MAX_PIXELS:
        raise DocumentError("too_large", f"The image is {width}x{height} pixels, more than {MAX_PIXELS} allowed")
    return image


def _open_pdf(data: bytes):  # type: ignore[no-untyped-def]
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        # PDFium reports some malformed files (a page tree with no pages) as a password error too, so
        # encryption is told by the trailer's /Encrypt entry, not by the message.
        if b"/Encrypt" in data[-65536:] or b"/Encrypt" in data[:65536]:
            raise DocumentError("encrypted", "The PDF document is encrypted (password protected)") from exc
        raise DocumentError("corrupt", f"Unable to read the PDF document: {exc}") from exc


def _pdf_pages(data: bytes) -> Iterator[Image.Image]:
    pdf = _open_pdf(data)
    try:
        for index in range(len(pdf)):
            page = pdf[index]
            try:
                width, height = page.get_size()
                longer = max(width, height, 1.0)
                scale = min(PDF_MAX_SCALE, PDF_TARGET_SIDE / longer)
                if width * height * scale * scale > MAX_PIXELS:
                    scale = (MAX_PIXELS / max(width * height, 1.0)) ** 0.5
                bitmap = page.render(scale=scale)
                try:
                    image = bitmap.to_pil().convert("RGB")
                finally:
                    bitmap.close()
            except Exception as exc:  # pdfium raises its own and generic errors alike
                raise DocumentError("corrupt", f"Unable to render page {index + 1} of the PDF: {exc}") from exc
            finally:
                page.close()
            yield image
    finally:
        pdf.close()

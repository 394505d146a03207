"""From document bytes to Textract's response: pages decoded, OCR run through the shared model registry,
page geometry analysed, blocks built. Used by the synchronous operations and by the job runner alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fogbank.engines.models import ocr
from fogbank.engines.models.documents import DocumentError, inspect, iter_pages
from fogbank.engines.models.orientation import orient
from fogbank.engines.models.registry import ModelRegistry, ModelUnavailable
from fogbank.engines.models.vision_analysis import PageAnalysis, analyze_page
from fogbank.errors import AwsError
from fogbank.services.textract import errors
from fogbank.services.textract.blocks import PageGeometry, page_blocks

if TYPE_CHECKING:
    from PIL import Image

CAPABILITY = "ocr"
MODEL_VERSION = "1.0"
MAX_SIDE = 10_000


def register(models: ModelRegistry) -> None:
    """The OCR capability Textract and Rekognition's DetectText share."""
    models.register(CAPABILITY, ocr.ENGINE_NAME, ocr.load_default, "printed text detection and recognition",
                    override=ocr.load_override, concurrency=1)


def document_error(exc: DocumentError) -> AwsError:
    if exc.reason == "too_large":
        return errors.DocumentTooLargeException(f"Document size exceeds the limit: {exc}")
    if exc.reason == "corrupt":
        return errors.BadDocumentException(f"Unable to read the document: {exc}")
    if exc.reason == "encrypted":
        return errors.UnsupportedDocumentException(f"Request has unsupported document format: {exc}")
    if exc.reason == "too_many_pages":
        return errors.UnsupportedDocumentException(f"Request has unsupported document format: {exc}")
    return errors.UnsupportedDocumentException("Request has unsupported document format")


def query_pages(spec: list[str] | None, page: int, total: int) -> bool:
    """Whether a query applies to a page: its Pages list ("1", "2-4", "3-*", "*"), page 1 when absent."""
    if not spec:
        return page == 1
    for item in spec:
        text = item.strip()
        if text == "*":
            return True
        first, dash, last = text.partition("-")
        try:
            low = int(first)
            high = (total if last.strip() == "*" else int(last)) if dash else low
        except ValueError:
            continue
        if low <= page <= high:
            return True
    return False


def validate_queries(queries: list[dict[str, Any]]) -> None:
    for query in queries:
        for item in query.get("Pages") or []:
            text = item.strip()
            if text == "*":
                continue
            first, dash, last = text.partition("-")
            if not first.strip().isdigit() or (dash and not (last.strip().isdigit() or last.strip() == "*")):
                raise errors.InvalidParameterException(f"Invalid page specification in query: {item!r}")


@dataclass
class AnalyzedPage:
    number: int
    image_size: tuple[int, int]  # of the upright page that was analysed
    analysis: PageAnalysis
    blocks: list[dict[str, Any]]
    turn: int = 0  # degrees the page as given is turned clockwise from upright

    def geometry(self) -> PageGeometry:
        """Normalised geometry on the page as given, from pixel boxes of the upright page."""
        return PageGeometry(float(self.image_size[0]), float(self.image_size[1]), self.turn)


class DocumentAnalyzer:
    def __init__(self, models: ModelRegistry) -> None:
        self.models = models
        register(models)

    @staticmethod
    def _check_size(image: Image.Image) -> None:
        if image.width > MAX_SIDE or image.height > MAX_SIDE:
            raise errors.UnsupportedDocumentException(
                f"Request has unsupported document format: the page is {image.width}x{image.height} pixels, "
                f"more than {MAX_SIDE} on a side")

    def read_page(self, image: Image.Image) -> ocr.PageText:
        self._check_size(image)
        try:
            text: ocr.PageText = self.models.run(CAPABILITY, lambda model, img: model.read(img), image)
        except ModelUnavailable as exc:
            raise errors.InternalServerError(f"The OCR model is not available: {exc}") from exc
        return text

    def pages(self, data: bytes, features: set[str], queries: list[dict[str, Any]], *, max_pages: int | None,
              progress: Callable[[int, int], None] | None = None) -> list[AnalyzedPage]:
        out: list[AnalyzedPage] = []
        try:
            total = inspect(data).pages
            for number, image in enumerate(iter_pages(data, max_pages=max_pages), start=1):
                if progress is not None:
                    progress(number, total)
                self._check_size(image)
                oriented = orient(image, self.read_page)
                image, text = oriented.image, oriented.text
                applicable = [q for q in queries if query_pages(q.get("Pages"), number, total)]
                analysis = analyze_page(image, text, features, [q["Text"] for q in applicable])
                blocks = page_blocks(analysis, number, features, applicable, turn=oriented.turn)
                out.append(AnalyzedPage(number, (image.width, image.height), analysis, blocks, oriented.turn))
        except DocumentError as exc:
            raise document_error(exc) from exc
        return out

    def respond(self, data: bytes, features: set[str], queries: list[dict[str, Any]], *,
                max_pages: int | None) -> dict[str, Any]:
        pages = self.pages(data, features, queries, max_pages=max_pages)
        return {"DocumentMetadata": {"Pages": len(pages)}, "Blocks": [b for p in pages for b in p.blocks]}

"""Documents the Textract tests draw themselves with Pillow: text pages, ruled and borderless tables, a form
with checkboxes and a signature, multi-page PDFs and TIFFs, and broken files. What is drawn is returned
too, so tests compare the service's answers with the truth."""

from __future__ import annotations

import io
import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    if path.exists():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def pdf(pages: list[Image.Image]) -> bytes:
    buffer = io.BytesIO()
    pages[0].save(buffer, "PDF", save_all=True, append_images=pages[1:], resolution=150)
    return buffer.getvalue()


def tiff(pages: list[Image.Image]) -> bytes:
    buffer = io.BytesIO()
    pages[0].save(buffer, "TIFF", save_all=True, append_images=pages[1:], compression="tiff_deflate")
    return buffer.getvalue()


def text_page(lines: list[str], width: int = 1000, size: int = 30) -> Image.Image:
    image = Image.new("RGB", (width, 80 + len(lines) * int(size * 2.2)), "white")
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        draw.text((60, 40 + index * int(size * 2.2)), line, font=font(size), fill="black")
    return image


INVOICE_FIELDS = {"Invoice Number:": "INV-2024-0042", "Date:": "12/03/2024", "Customer:": "Jane Doe"}
INVOICE_TABLE = [["Item", "Qty", "Price"], ["Widget", "2", "10.00"], ["Gadget", "5", "3.50"],
                 ["Cable", "3", "4.25"]]
INVOICE_TOTAL = ("Total", "50.25")


def invoice() -> Image.Image:
    """A scanned-style invoice: a title, three labelled fields, a ruled table whose last row has a label
    cell merged across two columns."""
    image = Image.new("RGB", (1240, 1100), "white")
    draw = ImageDraw.Draw(image)
    draw.text((60, 40), "INVOICE", font=font(56, bold=True), fill="black")
    y = 150
    for key, value in INVOICE_FIELDS.items():
        draw.text((60, y), f"{key} {value}", font=font(30), fill="black")
        y += 60
    widths = [460, 200, 260]
    x0, y0, row_h = 60, 380, 64
    xs = [x0]
    for width in widths:
        xs.append(xs[-1] + width)
    for r, row in enumerate(INVOICE_TABLE):
        top = y0 + r * row_h
        for c, cell in enumerate(row):
            draw.rectangle([xs[c], top, xs[c + 1], top + row_h], outline="black", width=3)
            draw.text((xs[c] + 14, top + 15), cell, font=font(30), fill="black")
    top = y0 + len(INVOICE_TABLE) * row_h
    draw.rectangle([xs[0], top, xs[2], top + row_h], outline="black", width=3)  # merged label cell
    draw.rectangle([xs[2], top, xs[3], top + row_h], outline="black", width=3)
    draw.text((xs[0] + 14, top + 15), INVOICE_TOTAL[0], font=font(30), fill="black")
    draw.text((xs[2] + 14, top + 15), INVOICE_TOTAL[1], font=font(30), fill="black")
    return image


BORDERLESS = [["Product", "Units", "Price"], ["Apples", "12", "3.40"], ["Bananas", "7", "1.25"],
              ["Cherries", "30", "9.99"]]


def form() -> Image.Image:
    """A form: labelled fields, two checkboxes (one ticked), a borderless table and a signature."""
    image = Image.new("RGB", (1240, 1200), "white")
    draw = ImageDraw.Draw(image)
    draw.text((60, 40), "APPLICATION", font=font(48, bold=True), fill="black")
    draw.text((60, 140), "Full Name: John Smith", font=font(30), fill="black")
    draw.text((60, 210), "Phone:", font=font(30), fill="black")
    draw.text((420, 210), "555-0100", font=font(30), fill="black")
    draw.text((60, 290), "Employed:", font=font(30), fill="black")
    _checkbox(draw, 300, 292, ticked=True)
    draw.text((350, 290), "Yes", font=font(30), fill="black")
    _checkbox(draw, 480, 292, ticked=False)
    draw.text((530, 290), "No", font=font(30), fill="black")
    y = 420
    for row in BORDERLESS:
        for c, cell in enumerate(row):
            draw.text((100 + c * 360, y), cell, font=font(30), fill="black")
        y += 60
    draw.text((60, 800), "Signature", font=font(30), fill="black")
    points = [(280 + t * 4, 790 + 22 * math.sin(t / 4.5) * (1 if t % 40 < 20 else 0.6)) for t in range(90)]
    draw.line(points, fill="black", width=3)
    draw.line([(280, 790), (330, 760), (345, 815), (380, 775)], fill="black", width=3)
    return image


def _checkbox(draw: ImageDraw.ImageDraw, x: int, y: int, ticked: bool) -> None:
    draw.rectangle([x, y, x + 30, y + 30], outline="black", width=3)
    if ticked:
        draw.line([(x + 6, y + 15), (x + 13, y + 24), (x + 25, y + 6)], fill="black", width=4)


def encrypted_pdf() -> bytes:
    """A PDF whose trailer names a standard security handler: opening it needs a password."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        b"<< /Filter /Standard /V 1 /R 2 /O <" + b"11" * 32 + b"> /U <" + b"22" * 32 + b"> /P -4 >>",
    ]
    return _pdf_file(objects, trailer_extra=b" /Encrypt 4 0 R /ID [<0123456789abcdef0123456789abcdef>"
                                            b"<0123456789abcdef0123456789abcdef>]")


def empty_pdf() -> bytes:
    """A well-formed PDF with no pages."""
    return _pdf_file([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


def _pdf_file(objects: list[bytes], trailer_extra: bytes = b"") -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R".encode() + trailer_extra + b" >>\n"
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)

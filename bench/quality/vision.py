"""Textract and Rekognition quality and speed on the engines the services use, in-process and offline.

- OCR character error rate on generated pages in four fonts and three sizes, clean and scanned-style
  (noise, blur, a 1.5-degree tilt, JPEG at quality 60);
- table cell accuracy on generated ruled and borderless tables, key-value accuracy on generated forms;
- label top-5 accuracy and face detection recall on the photos that ship inside scikit-image and
  scikit-learn (their own labels, given below);
- pages/s (OCR alone, and OCR plus full analysis) and images/s (labels, faces);
- object boxes (the COCO detector under Node.js behind DetectLabels' Instances): recall and precision against
  boxes drawn by hand around the main objects of six of those photos (same class, IoU >= 0.5, detections at
  AWS's default MinConfidence of 55), and the images/s the detector costs. ``--objects`` runs only this part.
- lending and turned pages (``--lending`` runs only this part): page-type accuracy
  of the lending classifier and lending fields exactly right on generated W-2s, pay slips, bank statements
  and unrelated pages; orientation found and CER on pages turned by 0/90/180/270 degrees, and what
  orientation detection costs in OCR time against reading the upright page.

    .venv/bin/python bench/quality/vision.py [--record] [--pages N] [--objects] [--lending]
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "src"), str(Path(__file__).resolve().parent)]

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageFilter, ImageFont  # noqa: E402

from fogbank.engines.models.faces import FaceEngine  # noqa: E402
from fogbank.engines.models.objects import NodeObjectDetector  # noqa: E402
from fogbank.engines.models.ocr import OcrEngine, PageText  # noqa: E402
from fogbank.engines.models.registry import ModelUnavailable  # noqa: E402
from fogbank.engines.models.vision import load_labels  # noqa: E402
from fogbank.engines.models.vision_analysis import analyze_page  # noqa: E402

FONTS = ["DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf", "DejaVuSans-Bold.ttf"]
SIZES = [18, 24, 32]
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
SENTENCES = [
    "The committee approved the budget for the next fiscal year.", "Invoice 4471 is due on 14 March 2025.",
    "Please return the signed form to the front desk by Friday.", "Total amount payable: $1,284.50 (incl. VAT)",
    "Shipment ID QX-20931 left the Rotterdam warehouse at 08:45.", "Our office hours are Monday to Friday, 9 to 5.",
    "The quick brown fox jumps over the lazy dog.", "Account holder: Maria Gonzalez, account no. 0093-118-72",
    "Temperature readings rose by 3.2 degrees over the week.", "Reference your order number in all correspondence.",
    "Section 4.2 describes the warranty terms in detail.", "Contact support@example.org for further assistance.",
]
WORDS = ["Widget", "Gadget", "Cable", "Adapter", "Bracket", "Sensor", "Valve", "Filter", "Pump", "Switch", "Relay",
         "Module", "Panel", "Hinge", "Gasket", "Spring"]
# Photos shipped with scikit-image / scikit-learn, with the labels a person would give them.
PHOTOS = {("skimage", "chelsea.png"): "Cat", ("skimage", "coffee.png"): "Coffee",
          ("skimage", "motorcycle_left.png"): "Motorcycle", ("skimage", "motorcycle_right.png"): "Motorcycle",
          ("skimage", "rocket.jpg"): "Rocket", ("skimage", "astronaut.png"): "Person",
          ("skimage", "camera.png"): "Person", ("sklearn", "flower.jpg"): "Flower",
          ("sklearn", "china.jpg"): "Building"}
FACES = {("skimage", "astronaut.png"): 1, ("skimage", "camera.png"): 1, ("skimage", "chelsea.png"): 0,
         ("skimage", "coffee.png"): 0, ("skimage", "motorcycle_left.png"): 0, ("sklearn", "china.jpg"): 0}

# The main objects of six photos, boxed by hand: (COCO class, left, top, width, height) in pixels.
OBJECTS: dict[tuple[str, str], list[tuple[str, float, float, float, float]]] = {
    ("skimage", "astronaut.png"): [("person", 10, 15, 355, 497)],
    ("skimage", "camera.png"): [("person", 5, 55, 325, 457)],
    ("skimage", "chelsea.png"): [("cat", 0, 0, 430, 300)],
    ("skimage", "coffee.png"): [("cup", 172, 18, 218, 245), ("dining table", 0, 0, 600, 400)],
    ("skimage", "motorcycle_left.png"): [("motorcycle", 120, 70, 556, 375)],
    ("skimage", "motorcycle_right.png"): [("motorcycle", 80, 70, 548, 375)],
}
OBJECT_MIN_CONFIDENCE = 55.0


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def object_rows() -> tuple[str, list[tuple[str, str]], list[str]]:
    """Recall, precision and speed of the object detector on the hand-boxed photos."""
    try:
        detector = NodeObjectDetector(ROOT / "node")
    except ModelUnavailable as exc:
        return "object detector unavailable", [("object boxes", f"not measured: {exc}")], []
    try:
        images = {source: photo(source) for source in OBJECTS}
        detector.detect(images[next(iter(OBJECTS))])  # the first request after start is not timed
        seconds = 0.0
        true_pos = false_pos = expected = 0
        overlaps: list[float] = []
        notes: list[str] = []
        rounds = 3
        for source, truth in OBJECTS.items():
            for _ in range(rounds):
                started = time.perf_counter()
                found = detector.detect(images[source])
                seconds += time.perf_counter() - started
            kept = [d for d in found if d.confidence >= OBJECT_MIN_CONFIDENCE]
            unmatched = list(truth)
            expected += len(truth)
            for det in kept:
                box = (det.left, det.top, det.width, det.height)
                best = max(unmatched, key=lambda t: iou(box, t[1:]) if t[0] == det.name else -1.0, default=None)
                if best is not None and best[0] == det.name and iou(box, best[1:]) >= 0.5:
                    true_pos += 1
                    overlaps.append(iou(box, best[1:]))
                    unmatched.remove(best)
                else:
                    false_pos += 1
                    notes.append(f"{source[1]}: {det.name} {det.confidence:.0f} not matched")
            notes += [f"{source[1]}: {t[0]} missed" for t in unmatched]
        kept_total = true_pos + false_pos
        rows = [("object box recall (hand-boxed objects found, IoU >= 0.5)", f"{true_pos}/{expected}"),
                ("object box precision (boxes at confidence >= 55 that match)",
                 f"{true_pos}/{kept_total}" if kept_total else "no boxes"),
                ("mean IoU of the matched boxes", f"{sum(overlaps) / len(overlaps):.2f}" if overlaps else "-"),
                ("object detection images/s (one worker, one core)",
                 f"{rounds * len(OBJECTS) / seconds:.2f}")]
        return detector.name, rows, notes
    finally:
        detector.close()


def photo(source: tuple[str, str]) -> Image.Image:
    package, name = source
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.origin is not None
    folder = Path(spec.origin).parent / ("data" if package == "skimage" else "datasets/images")
    return Image.open(folder / name).convert("RGB")


def cer(reference: str, hypothesis: str) -> tuple[int, int]:
    previous = list(range(len(hypothesis) + 1))
    for i, a in enumerate(reference, start=1):
        current = [i] + [0] * len(hypothesis)
        for j, b in enumerate(hypothesis, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b))
        previous = current
    return previous[-1], len(reference)


def text_page(rng: random.Random, font_name: str, size: int) -> tuple[Image.Image, list[str]]:
    font = ImageFont.truetype(str(FONT_DIR / font_name), size)
    lines = rng.sample(SENTENCES, 6)
    width = max(int(font.getlength(line)) for line in lines) + 120
    image = Image.new("RGB", (width, 60 + len(lines) * int(size * 2.0)), "white")
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        draw.text((60, 30 + index * int(size * 2.0)), line, font=font, fill="black")
    return image, lines


def scanned(image: Image.Image, rng: random.Random) -> Image.Image:
    gray = image.convert("L").rotate(1.5, expand=True, fillcolor=255, resample=Image.Resampling.BICUBIC)
    gray = gray.filter(ImageFilter.GaussianBlur(0.7))
    array = np.asarray(gray, dtype=np.float32)
    noise = np.random.default_rng(rng.randrange(1 << 30)).normal(0, 14, array.shape)
    noisy = Image.fromarray(np.clip(array + noise, 0, 255).astype(np.uint8)).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, "JPEG", quality=60)
    return Image.open(io.BytesIO(out.getvalue())).convert("RGB")


def table_page(rng: random.Random, ruled: bool) -> tuple[Image.Image, list[list[str]]]:
    font = ImageFont.truetype(str(FONT_DIR / "DejaVuSans.ttf"), 24)
    rows = [["Item", "Qty", "Unit Price", "Amount"]]
    for _ in range(rng.randint(3, 7)):
        qty, price = rng.randint(1, 40), rng.randint(100, 9999) / 100
        rows.append([rng.choice(WORDS), str(qty), f"{price:.2f}", f"{qty * price:.2f}"])
    widths = [300, 120, 200, 200]
    image = Image.new("RGB", (1000, 120 + 56 * len(rows)), "white")
    draw = ImageDraw.Draw(image)
    xs = [60]
    for width in widths:
        xs.append(xs[-1] + width)
    for r, row in enumerate(rows):
        top = 60 + r * 56
        for c, cell in enumerate(row):
            if ruled:
                draw.rectangle([xs[c], top, xs[c + 1], top + 56], outline="black", width=2)
            draw.text((xs[c] + 12, top + 14), cell, font=font, fill="black")
    return image, rows


def form_page(rng: random.Random) -> tuple[Image.Image, dict[str, str]]:
    font = ImageFont.truetype(str(FONT_DIR / "DejaVuSans.ttf"), 26)
    fields = {"Name:": rng.choice(["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra"]),
              "Date:": f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/20{rng.randint(10, 29)}",
              "Phone:": f"555-{rng.randint(1000, 9999)}", "City:": rng.choice(["Lisbon", "Oslo", "Quito", "Hanoi"]),
              "Policy Number:": f"P-{rng.randint(10000, 99999)}", "Department:": rng.choice(["Sales", "Legal"])}
    image = Image.new("RGB", (1100, 700), "white")
    draw = ImageDraw.Draw(image)
    y = 60
    for index, (key, value) in enumerate(fields.items()):
        layout = index % 3
        if layout == 0:
            draw.text((60, y), f"{key} {value}", font=font, fill="black")
        elif layout == 1:
            draw.text((60, y), key, font=font, fill="black")
            draw.text((420, y), value, font=font, fill="black")
        else:
            draw.text((60, y), key, font=font, fill="black")
            y += 36
            draw.text((60, y), value, font=font, fill="black")
        y += 80
    return image, fields


def page_text(page: PageText) -> list[str]:
    return [line.text for line in page.lines]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="append the results to bench/RESULTS.md")
    parser.add_argument("--pages", type=int, default=2, help="pages per font and size")
    parser.add_argument("--objects", action="store_true", help="measure only the object detector")
    parser.add_argument("--lending", action="store_true", help="measure only lending pages and turned pages")
    args = parser.parse_args()
    if args.objects:
        record(object_section(), args.record)
        return
    if args.lending:
        record(lending_section(args.pages), args.record)
        return
    rng = random.Random(2024)
    ocr = OcrEngine()
    ocr.read(text_page(random.Random(1), FONTS[0], 24)[0])  # load the sessions before timing
    clean_errors = clean_total = noisy_errors = noisy_total = 0
    ocr_seconds = 0.0
    pages = 0
    by_font: dict[str, list[int]] = {}
    for font_name in FONTS:
        for size in SIZES:
            for _ in range(args.pages):
                image, lines = text_page(rng, font_name, size)
                for variant, picture in (("clean", image), ("noisy", scanned(image, rng))):
                    started = time.perf_counter()
                    found = page_text(ocr.read(picture))
                    ocr_seconds += time.perf_counter() - started
                    pages += 1
                    errors, total = cer("\n".join(lines), "\n".join(found))
                    if variant == "clean":
                        clean_errors += errors
                        clean_total += total
                        stats = by_font.setdefault(f"{font_name[:-4]} {size}px", [0, 0])
                        stats[0] += errors
                        stats[1] += total
                    else:
                        noisy_errors += errors
                        noisy_total += total
    cells_right = cells_total = 0
    analysis_seconds = 0.0
    analysed = 0
    for index in range(8):
        image, rows = table_page(rng, ruled=index % 2 == 0)
        started = time.perf_counter()
        result = analyze_page(image, ocr.read(image), {"TABLES"})
        analysis_seconds += time.perf_counter() - started
        analysed += 1
        grid = result.tables[0].grid() if result.tables else []
        for r, row in enumerate(rows):
            for c, cell in enumerate(row):
                cells_total += 1
                cells_right += int(r < len(grid) and c < len(grid[r]) and grid[r][c] == cell)
    kv_right = kv_total = kv_found = 0
    for _ in range(6):
        image, fields = form_page(rng)
        started = time.perf_counter()
        result = analyze_page(image, ocr.read(image), {"FORMS"})
        analysis_seconds += time.perf_counter() - started
        analysed += 1
        found_pairs = {kv.key_text: kv.value_text for kv in result.key_values}
        kv_found += len(found_pairs)
        kv_total += len(fields)
        kv_right += sum(1 for k, v in fields.items() if found_pairs.get(k) == v)
    labels = load_labels()
    faces = FaceEngine()
    top5 = 0
    label_seconds = 0.0
    misses = []
    for source, expected in PHOTOS.items():
        image = photo(source)
        started = time.perf_counter()
        found_labels = [lb.name for lb in labels.labels(image)]
        if any(f.confidence > 0.5 for f in faces.detect(image)):
            found_labels.insert(0, "Person")
        label_seconds += time.perf_counter() - started
        hit = expected in found_labels[:5]
        top5 += hit
        if not hit:
            misses.append(f"{source[1]}: expected {expected}, got {', '.join(found_labels[:5])}")
    face_seconds = 0.0
    detected = expected_faces = false_faces = 0
    for source, count in FACES.items():
        image = photo(source)
        started = time.perf_counter()
        found = len(faces.detect(image))
        face_seconds += time.perf_counter() - started
        expected_faces += count
        detected += min(found, count)
        false_faces += max(0, found - count)
    load = os.getloadavg()[0]
    rows = [
        ("OCR CER, clean pages (4 fonts x 3 sizes)", f"{100 * clean_errors / clean_total:.2f}%"),
        ("OCR CER, scanned-style pages (noise, blur, 1.5° tilt, JPEG q60)", f"{100 * noisy_errors / noisy_total:.2f}%"),
        ("table cells exactly right (4 ruled + 4 borderless tables)", f"{cells_right}/{cells_total} "
                                                                     f"({100 * cells_right / cells_total:.1f}%)"),
        ("key-values exactly right (6 forms, 3 layouts)", f"{kv_right}/{kv_total} (pairs reported: {kv_found})"),
        ("label top-5 accuracy (scikit-image/scikit-learn photos)", f"{top5}/{len(PHOTOS)}"),
        ("face detection recall / false faces", f"{detected}/{expected_faces} / {false_faces}"),
        ("OCR pages/s", f"{pages / ocr_seconds:.2f}"),
        ("OCR + analysis pages/s", f"{analysed / analysis_seconds:.2f}"),
        ("labels (+ face check) images/s", f"{len(PHOTOS) / label_seconds:.2f}"),
        ("face detection images/s", f"{len(FACES) / face_seconds:.2f}"),
    ]
    lines = [f"## Documents and vision (Textract OCR + geometry, Rekognition models), {time.strftime('%Y-%m-%d')}",
             "", f"Engines: {ocr.name}; {labels.name}; {faces.name}. In-process, {os.cpu_count()} cores, "
             f"load average {load:.1f} at the end (a shared machine: speeds are indicative only).", "",
             "| measure | result |", "|---|---:|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    per_font = ", ".join(f"{k} {100 * e / t:.1f}%" for k, (e, t) in by_font.items())
    lines += ["", f"CER by font and size (clean): {per_font}"]
    if misses:
        lines += ["", "Label misses: " + "; ".join(misses)]
    record("\n".join(lines) + "\n\n" + object_section(), args.record)


LENDING_TITLES = {
    "W2": ["Form W-2 Wage and Tax Statement", "W-2 Wage and Tax Statement 2024"],
    "PAYSLIPS": ["Earnings Statement", "Pay Stub", "Payslip"],
    "BANK_STATEMENT": ["Monthly Account Statement", "Checking Account Statement"],
}


def lending_page(rng: random.Random, kind: str, scan: bool) -> tuple[Image.Image, dict[str, str]]:
    """A generated page of one lending type: its title and labelled fields in three layouts, with the
    field types the labels should map to; an UNCLASSIFIED page is six ordinary sentences."""
    font = ImageFont.truetype(str(FONT_DIR / rng.choice(FONTS[:3])), 26)
    money = f"{rng.randint(1, 99)},{rng.randint(100, 999)}.{rng.randint(10, 99)}"
    fields: list[tuple[str, str, str]] = {
        "W2": [("a Employee's social security number", f"{rng.randint(100, 899)}-{rng.randint(10, 99)}-"
                f"{rng.randint(1000, 9999)}", "EMPLOYEE_SSN"),
               ("b Employer identification number", f"{rng.randint(10, 99)}-{rng.randint(1000000, 9999999)}",
                "EMPLOYER_EIN"),
               ("1 Wages, tips, other compensation", money, "WAGES_TIPS_OTHER_COMPENSATION"),
               ("2 Federal income tax withheld", f"{rng.randint(1000, 9999)}.{rng.randint(10, 99)}",
                "FEDERAL_INCOME_TAX_WITHHELD"),
               ("3 Social security wages", money, "SOCIAL_SECURITY_WAGES")],
        "PAYSLIPS": [("Employee Name", rng.choice(["Ada Lovelace", "Alan Turing", "Grace Hopper"]), "EMPLOYEE_NAME"),
                     ("Pay Period Start", f"0{rng.randint(1, 9)}/01/2024", "PAY_PERIOD_START_DATE"),
                     ("Pay Period End", f"0{rng.randint(1, 9)}/15/2024", "PAY_PERIOD_END_DATE"),
                     ("Gross Pay", f"{rng.randint(1000, 4999)}.{rng.randint(10, 99)}", "GROSS_PAY"),
                     ("Net Pay", f"{rng.randint(500, 999)}.{rng.randint(10, 99)}", "NET_PAY")],
        "BANK_STATEMENT": [("Account Number", f"{rng.randint(10**7, 10**8 - 1)}", "ACCOUNT_NUMBER"),
                           ("Statement Period", "March 1 - March 31 2024", "STATEMENT_PERIOD"),
                           ("Beginning Balance", f"{rng.randint(100, 9999)}.{rng.randint(10, 99)}",
                            "BEGINNING_BALANCE"),
                           ("Ending Balance", f"{rng.randint(100, 9999)}.{rng.randint(10, 99)}", "ENDING_BALANCE")],
    }.get(kind, [])
    image = Image.new("RGB", (1240, 1100), "white")
    draw = ImageDraw.Draw(image)
    if kind == "UNCLASSIFIED":
        for index, line in enumerate(rng.sample(SENTENCES, 6)):
            draw.text((60, 60 + index * 70), line, font=font, fill="black")
    else:
        draw.text((60, 50), rng.choice(LENDING_TITLES[kind]), font=ImageFont.truetype(
            str(FONT_DIR / "DejaVuSans-Bold.ttf"), 40), fill="black")
        y = 160
        for index, (label, value, _) in enumerate(fields):
            if index % 3 == 2:
                draw.text((60, y), f"{label}:", font=font, fill="black")
                y += 38
                draw.text((60, y), value, font=font, fill="black")
            elif index % 3 == 1:
                draw.text((60, y), f"{label}:", font=font, fill="black")
                draw.text((640, y), value, font=font, fill="black")
            else:
                draw.text((60, y), f"{label}: {value}", font=font, fill="black")
            y += 90
    return (scanned(image, rng) if scan else image), {kind_: value for _, value, kind_ in fields}


def lending_section(pages: int) -> str:
    from fogbank.engines.models.lending_classes import classify
    from fogbank.engines.models.orientation import orient
    from fogbank.services.textract.lending import field_type

    rng = random.Random(7)
    ocr = OcrEngine()
    ocr.read(text_page(random.Random(1), FONTS[0], 24)[0])
    kinds = ["W2", "PAYSLIPS", "BANK_STATEMENT", "UNCLASSIFIED"]
    typed = {"clean": [0, 0], "scanned": [0, 0]}
    fields_right = fields_total = 0
    confusions: list[str] = []
    field_misses: list[str] = []
    for _ in range(max(1, pages)):
        for kind in kinds:
            for variant in ("clean", "scanned"):
                image, truth = lending_page(rng, kind, variant == "scanned")
                text = ocr.read(image)
                found = classify(page_text(text)).page_type
                typed[variant][0] += found == kind
                typed[variant][1] += 1
                if found != kind:
                    confusions.append(f"{kind} ({variant}) -> {found}")
                extracted: dict[str, str] = {}
                for pair in analyze_page(image, text, {"FORMS"}).key_values:
                    field = field_type(found, pair.key_text)
                    if field and field not in extracted:
                        extracted[field] = pair.value_text
                fields_total += len(truth)
                fields_right += sum(1 for k, v in truth.items() if extracted.get(k) == v)
                field_misses.extend(f"{k}={extracted.get(k)!r} (drawn {v!r})" for k, v in truth.items()
                                    if extracted.get(k) != v)
    turned_right = turned_total = 0
    cer_errors = cer_chars = 0
    upright_seconds = turned_seconds = 0.0
    undo = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}
    for font_name in FONTS:
        for _ in range(max(1, pages)):
            image, lines = text_page(rng, font_name, 26)
            started = time.perf_counter()
            ocr.read(image)
            upright_seconds += time.perf_counter() - started
            for turn in (0, 90, 180, 270):
                given = image.transpose(undo[turn]) if turn else image
                started = time.perf_counter()
                oriented = orient(given, ocr.read)
                turned_seconds += time.perf_counter() - started
                turned_total += 1
                turned_right += oriented.turn == turn
                errors, total = cer("\n".join(lines), "\n".join(page_text(oriented.text)))
                cer_errors += errors
                cer_chars += total
    upright_pages = len(FONTS) * max(1, pages)
    rows = [
        ("page type right, clean pages (W-2, pay slip, bank statement, unrelated)",
         f"{typed['clean'][0]}/{typed['clean'][1]}"),
        ("page type right, scanned-style pages", f"{typed['scanned'][0]}/{typed['scanned'][1]}"),
        ("lending fields exactly right (type and value)", f"{fields_right}/{fields_total} "
                                                          f"({100 * fields_right / max(1, fields_total):.1f}%)"),
        ("orientation found (pages turned 0/90/180/270, 4 fonts)", f"{turned_right}/{turned_total}"),
        ("OCR CER after orientation, all turns", f"{100 * cer_errors / max(1, cer_chars):.2f}%"),
        ("OCR time with orientation, mean over turns / upright OCR alone",
         f"{(turned_seconds / turned_total) / (upright_seconds / upright_pages):.2f}x"),
    ]
    lines = [f"## Textract lending pages and turned pages, {time.strftime('%Y-%m-%d')}", "",
             f"Engine: {ocr.name}; phrase-evidence page classifier. In-process, {os.cpu_count()} cores, load "
             f"average {os.getloadavg()[0]:.1f} at the end (a shared machine: speeds are indicative only).", "",
             "| measure | result |", "|---|---:|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    if confusions:
        lines += ["", "Misclassified: " + "; ".join(confusions)]
    if field_misses:
        lines += ["", "Fields missed: " + "; ".join(field_misses[:12])]
    return "\n".join(lines) + "\n"


def object_section() -> str:
    name, rows, notes = object_rows()
    lines = [f"## Rekognition object boxes (DetectLabels Instances), {time.strftime('%Y-%m-%d')}", "",
             f"Engine: {name}. {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end "
             "(a shared machine: speeds are indicative only).", "", "| measure | result |", "|---|---:|"]
    lines += [f"| {measure} | {value} |" for measure, value in rows]
    if notes:
        lines += ["", "Unmatched: " + "; ".join(notes)]
    return "\n".join(lines) + "\n"


def record(text: str, append: bool) -> None:
    print(text)
    if append:
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as handle:
            handle.write("\n" + text)


if __name__ == "__main__":
    main()

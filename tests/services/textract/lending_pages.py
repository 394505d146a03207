"""Lending pages the tests draw: a W-2-like form, a two-page pay slip, an unrelated page, and pages turned by
90, 180 and 270 degrees. What is drawn is returned too, so tests compare answers with the truth."""

from __future__ import annotations

from PIL import Image, ImageDraw
from tests.services.textract.render import font

W2_TITLE = ["Form W-2 Wage and Tax Statement 2023"]
W2_FIELDS = {
    "a Employee's social security number": "123-45-6789",
    "b Employer identification number": "12-3456789",
    "c Employer's name": "Acme Widgets Inc",
    "e Employee's name": "Jane Q Public",
    "1 Wages, tips, other compensation": "58,250.00",
    "2 Federal income tax withheld": "7,420.15",
    "3 Social security wages": "58,250.00",
    "5 Medicare wages and tips": "58,250.00",
}
W2_EXPECTED = {"EMPLOYEE_SSN": "123-45-6789", "EMPLOYER_EIN": "12-3456789", "EMPLOYER_NAME": "Acme Widgets Inc",
               "EMPLOYEE_NAME": "Jane Q Public", "WAGES_TIPS_OTHER_COMPENSATION": "58,250.00",
               "FEDERAL_INCOME_TAX_WITHHELD": "7,420.15", "SOCIAL_SECURITY_WAGES": "58,250.00",
               "MEDICARE_WAGES_AND_TIPS": "58,250.00"}
PAYSLIP_FIELDS = {
    "Employee Name": "Jane Q Public",
    "Pay Period Start": "03/01/2024",
    "Pay Period End": "03/15/2024",
    "Pay Date": "03/20/2024",
    "Gross Pay": "2,240.38",
}
PAYSLIP_EXPECTED = {"EMPLOYEE_NAME": "Jane Q Public", "PAY_PERIOD_START_DATE": "03/01/2024",
                    "PAY_PERIOD_END_DATE": "03/15/2024", "PAY_DATE": "03/20/2024", "GROSS_PAY": "2,240.38"}
PAYSLIP_PAGE_TWO = {"Total Deductions": "538.27", "Net Pay": "1,702.11"}
UNRELATED = ["Spring Gardening Newsletter", "Tomatoes want six hours of sun each day",
             "Water the roots early in the morning", "Mulch keeps the soil cool and moist"]


def labelled_page(title: list[str], fields: dict[str, str], footer: str | None = None) -> Image.Image:
    """A page of "Label: value" lines under a bold title, as a form printed from a payroll system looks."""
    image = Image.new("RGB", (1240, 1300), "white")
    draw = ImageDraw.Draw(image)
    y = 60
    for line in title:
        draw.text((60, y), line, font=font(40, bold=True), fill="black")
        y += 80
    y += 20
    for key, value in fields.items():
        draw.text((60, y), f"{key}: {value}", font=font(30), fill="black")
        y += 70
    if footer:
        draw.text((900, 1220), footer, font=font(26), fill="black")
    return image


def w2_page() -> Image.Image:
    return labelled_page(W2_TITLE, W2_FIELDS)


def payslip_pages() -> list[Image.Image]:
    first = labelled_page(["ACME WIDGETS INC", "Earnings Statement"], PAYSLIP_FIELDS, "Page 1 of 2")
    second = labelled_page(["Earnings Statement"], PAYSLIP_PAGE_TWO, "Page 2 of 2")
    return [first, second]


def unrelated_page() -> Image.Image:
    return _plain(UNRELATED)


def _plain(lines: list[str]) -> Image.Image:
    image = Image.new("RGB", (1240, 900), "white")
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        draw.text((60, 60 + index * 80), line, font=font(34 if index else 44, bold=index == 0), fill="black")
    return image


ROTATION_LINES = ["Quarterly report for the northern region", "Revenue grew by twelve percent",
                  "Costs fell in the third quarter", "Headcount stayed the same"]


def upright_text_page() -> Image.Image:
    return _plain(ROTATION_LINES)


def turned(image: Image.Image, turn: int) -> Image.Image:
    """The page turned clockwise by ``turn`` degrees, as a sideways or upside-down scan gives it."""
    ops = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}
    return image.transpose(ops[turn]) if turn else image

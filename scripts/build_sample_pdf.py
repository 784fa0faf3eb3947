#!/usr/bin/env python3
"""Build examples/handbook/benefits-and-travel.pdf, the sample PDF of the askdocs handbook.

The document is a fictional "Northwind Labs Benefits and Travel Guide" with one
topic per page and a real text layer, so that PDF extraction and page-level
citations can be tested. Output is deterministic (fixed creation date and file
id), so re-running the script reproduces the same bytes for the same fpdf2
version.

Usage:
    python scripts/build_sample_pdf.py [OUTPUT_PATH]

Requires fpdf2. Uses only the core Helvetica font, so all text must be latin-1.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "examples" / "handbook" / "benefits-and-travel.pdf"

TITLE = "Northwind Labs Benefits and Travel Guide"
CREATION_DATE = datetime(2025, 1, 15, 9, 0, 0, tzinfo=UTC)

# One entry per PDF page: (heading, [paragraphs]).
PAGES: list[tuple[str, list[str]]] = [
    (
        "Benefits and Travel Guide: Overview",
        [
            "This guide describes the benefits that Northwind Labs offers to its "
            "employees and explains how to plan and book business travel. It "
            "complements the Northwind Labs Employee Handbook, which covers leave, "
            "expenses, information security, on-call and remote work. Where the "
            "handbook and this guide overlap, the handbook page on that topic applies.",
            "The guide applies to all employees with a permanent or fixed-term "
            "contract of at least six months. Interns and contractors should check "
            "their individual agreements, as not every benefit described here is "
            "available to them.",
            "Each page of this guide covers one topic: health insurance on page 2, "
            "the company pension plan on page 3, booking business travel on page 4 "
            "and your personal learning budget on page 5. The figures in this "
            "edition are valid from 1 January 2025 and are reviewed every year by "
            "the People team together with Finance.",
            "Questions about benefits can be sent to benefits@northwind.example. "
            "The benefits team answers within three working days and holds an open "
            "consultation hour every Thursday from 13:00 to 14:00 in the Utrecht "
            "office and by video call.",
        ],
    ),
    (
        "Health Insurance",
        [
            "Northwind Labs offers every employee a group health insurance plan with "
            "our partner insurer Helix Health. The company pays 80% of the monthly "
            "premium. The remaining 20% is deducted from your gross salary each "
            "month, which usually makes it cheaper than an individual policy.",
            "The plan covers general practitioner visits, specialist care, hospital "
            "stays, prescription medicines and mental health support, including up "
            "to 12 sessions with a psychologist per year. Dental care is included "
            "in the plan at no extra cost, covering check-ups twice a year, "
            "cleanings and standard treatments such as fillings. Orthodontic "
            "treatment for children under 18 is covered up to a lifetime limit.",
            "You must enrol within 30 days of your start date. Enrolment is done "
            "online through the Helix Health portal using the employer code that "
            "you receive in your welcome email. If you miss the 30-day window, you "
            "can only join at the next annual enrolment period in November, unless "
            "you experience a major life event such as marriage or the birth of a "
            "child.",
            "Partners and children can be added to your plan. The same 80/20 split "
            "of the premium applies to them. If your country of employment requires "
            "a statutory basic insurance, the Helix Health plan is offered as a "
            "supplementary policy on top of it.",
        ],
    ),
    (
        "Pension Plan",
        [
            "Northwind Labs offers a defined contribution pension plan managed by "
            "the Meridian Pension Fund. You decide how much of your gross salary "
            "you want to contribute, and the money is invested on your behalf in "
            "a range of funds that you can choose from in the Meridian portal.",
            "The company matches your contributions up to 5% of your gross annual "
            "salary. For example, if you contribute 4% of your salary, Northwind "
            "Labs adds another 4%; if you contribute 7%, the company adds 5%. "
            "Contributions are deducted from your salary before tax where local "
            "law allows this.",
            "The company's matching contributions vest after 1 year of employment. "
            "Your own contributions always belong to you from the first day. If "
            "you leave Northwind Labs before completing one year of service, the "
            "matching contributions made by the company so far are returned to the "
            "plan and only your own contributions are transferred.",
            "You can change your contribution percentage once a year, during the "
            "benefits review in November, or at any time after a major life event. "
            "Meridian sends you an annual statement every March showing your "
            "balance, returns and projected retirement income.",
        ],
    ),
    (
        "Booking Business Travel",
        [
            "All business trips, including flights, trains, hotels and rental cars, "
            "are booked through TripDesk, our corporate travel booking platform. "
            "Bookings made in TripDesk are paid directly by the company, so you do "
            "not have to advance the money yourself. Only book outside TripDesk if "
            "the platform cannot offer a suitable option, and ask your manager "
            "first.",
            "Trips must be booked at least 14 days in advance. Early booking keeps "
            "prices low and gives colleagues time to plan around your absence. "
            "Trips booked at shorter notice need a short justification, such as an "
            "urgent customer visit, which TripDesk asks for during booking.",
            "Hotel costs are limited to 180 EUR per night in most cities. In "
            "London, Paris and New York the limit is 250 EUR per night because of "
            "higher local prices. The limits include taxes and breakfast. TripDesk "
            "shows hotels within the limit first; choosing a more expensive hotel "
            "requires approval from your manager in the tool.",
            "Travel insurance is included for every business trip booked through "
            "TripDesk. It covers emergency medical treatment abroad, repatriation, "
            "trip cancellation for reasons outside your control and lost or "
            "delayed luggage. The insurance card and the 24-hour emergency number "
            "are attached to every TripDesk booking confirmation.",
        ],
    ),
    (
        "Learning Budget",
        [
            "We want everyone at Northwind Labs to keep learning. Every employee "
            "has a personal learning budget of 1,500 EUR per year, plus 5 study "
            "days per year that can be used for courses, conferences, exam "
            "preparation or self-study. Study days are paid working days and do "
            "not count against your vacation allowance.",
            "The budget can be spent on training courses, certifications, "
            "conference tickets, online learning subscriptions, books and language "
            "lessons. Travel and accommodation for a conference are paid from the "
            "learning budget as well. The learning should be relevant to your "
            "current role or to a role you are working towards at Northwind Labs; "
            "your manager can help you decide.",
            "Discuss your learning plans with your manager at the start of the "
            "year, ideally as part of your development conversation. Purchases "
            "are approved by your manager before you buy; study days are requested "
            "in the same way as other time off. The budget and the study days are "
            "reset on 1 January and unused amounts cannot be carried over to the "
            "following year.",
            "If a single course or certification costs more than the annual "
            "budget, you can combine the budgets of two consecutive years with "
            "your manager's agreement. In that case you may be asked to repay part "
            "of the cost if you leave the company within 12 months of completing "
            "the course.",
        ],
    ),
]


class GuidePDF(FPDF):
    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", "", 8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 10, f"{TITLE} - page {self.page_no()}", align="C")


def build(output: Path) -> Path:
    pdf = GuidePDF(orientation="P", unit="mm", format="A4")
    pdf.set_title(TITLE)
    pdf.set_author("Northwind Labs People Team")
    pdf.set_subject("Health insurance, pension, business travel and learning budget")
    pdf.set_keywords("Northwind Labs, benefits, travel, handbook, askdocs sample")
    pdf.set_creator("askdocs scripts/build_sample_pdf.py")
    pdf.set_lang("en")
    pdf.set_creation_date(CREATION_DATE)
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=20)

    for number, (heading, paragraphs) in enumerate(PAGES, start=1):
        pdf.add_page()
        if number == 1:
            pdf.set_font("Helvetica", "B", 20)
            pdf.set_text_color(20, 60, 110)
            pdf.multi_cell(0, 10, TITLE, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
        pdf.set_font("Helvetica", "B", 16)
        pdf.set_text_color(20, 60, 110)
        pdf.multi_cell(0, 9, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        pdf.set_font("Helvetica", "", 11)
        pdf.set_text_color(0, 0, 0)
        for paragraph in paragraphs:
            paragraph.encode("latin-1")  # core fonts only support latin-1
            pdf.multi_cell(0, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
        if pdf.page_no() != number:
            raise RuntimeError(f"content for page {number} ({heading!r}) overflowed")

    output.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(output))
    return output


def main() -> int:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUTPUT
    path = build(output)
    print(f"wrote {path} ({path.stat().st_size} bytes, {len(PAGES)} pages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""QR badges (issue #13, item 5): the report renders name, identifier and a QR code
of exactly the identifier. This machine has no wkhtmltopdf, so the HTML the PDF is
made from is tested."""

import base64
import re

from lxml import html

from odoo.tests import tagged

from .common import AttendanceCase


@tagged("post_install", "-at_install")
class TestAttendanceBadge(AttendanceCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.subscribers = cls.Subscriber.browse(
            [
                cls.create_subscriber(
                    f"BADGE-{i:02d}", family="Badger", given=f"N{i}"
                ).id
                for i in range(12)
            ]
        )

    def render(self, report, subscribers):
        content, _type = self.env["ir.actions.report"]._render_qweb_html(
            report, subscribers.ids
        )
        return html.fromstring(content)

    def qr_images(self, doc):
        return doc.xpath("//*[contains(@class, 'o_spp_badge_qr')]//img")

    def test_one_badge(self):
        subscriber = self.subscribers[0]
        doc = self.render("spp_attendance.report_attendance_badge", subscriber)
        self.assertEqual(len(doc.xpath("//table[hasclass('o_spp_badge')]")), 1)
        self.assertEqual(
            doc.xpath("string(//*[hasclass('o_spp_badge_name')])"), "Badger, N0"
        )
        self.assertEqual(
            doc.xpath("string(//*[hasclass('o_spp_badge_identifier')])"), "BADGE-00"
        )
        (image,) = self.qr_images(doc)
        src = image.get("src")
        self.assertTrue(src.startswith("data:image/png;base64,"))
        self.assertTrue(base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG"))
        # Odoo's barcode widget names the value it encoded: exactly the identifier
        self.assertEqual(image.get("alt"), "Barcode BADGE-00")

    def test_a4_sheet_of_badges(self):
        doc = self.render(
            "spp_attendance.report_attendance_badge_sheet", self.subscribers
        )
        self.assertEqual(len(doc.xpath("//table[hasclass('o_spp_badge')]")), 12)
        self.assertEqual(len(self.qr_images(doc)), 12)
        # ten badges a page: two pages
        self.assertEqual(len(doc.xpath("//div[hasclass('page')]")), 2)
        identifiers = doc.xpath("//*[hasclass('o_spp_badge_identifier')]/text()")
        self.assertEqual(identifiers, [f"BADGE-{i:02d}" for i in range(12)])
        for image, identifier in zip(self.qr_images(doc), identifiers, strict=True):
            self.assertEqual(image.get("alt"), f"Barcode {identifier}")
        self.assertTrue(
            re.search("page-break-after", html.tostring(doc, encoding="unicode"))
        )

    def test_reports_are_offered_on_the_subscriber_list(self):
        for xmlid in (
            "spp_attendance.action_report_attendance_badge",
            "spp_attendance.action_report_attendance_badge_sheet",
        ):
            report = self.env.ref(xmlid)
            self.assertEqual(report.binding_model_id.model, "spp.attendance.subscriber")

"""The registry import creates subscribers in bulk (Odoo's bulk-import context,
defaults and shared precomputed values computed once per page, the new
contacts' computed values written in one statement) and reads a page's
subscribers in one query. What ``create()`` stores must be stored all the same:
compared here field by field with twins made by ``create()``."""

import base64
import datetime
import itertools

from odoo.tests import tagged
from odoo.tools import file_open

from ..models.attendance_subscriber_import import (
    PAGE_MEMO,
    flush_batched,
    page_defaults,
    share_related_values,
)
from .registry_common import RegistryImportCase

IMAGES = ("image_1920", "image_1024", "image_512", "image_256", "image_128")

#: Stored fields that differ between a record and its twin by construction.
OWN = {
    "spp.attendance.subscriber": {"id", "person_identifier", "partner_id"},
    "res.partner": {"id", "commercial_partner_id"},
}


def stored_fields(model):
    return [
        name
        for name, field in model._fields.items()
        if field.store and field.column_type and name not in OWN[model._name]
    ]


@tagged("post_install", "-at_install")
class TestRegistryImportBulk(RegistryImportCase):
    def import_persons(self, count):
        self.emulator.population = count
        wizard = self.preview(self.manager)
        wizard.run_in_background = False
        log = self.import_now(wizard)
        self.assertEqual(log.state, "done", log.error_message)
        return log

    def count_queries(self, function):
        self.env.flush_all()
        before = self.env.cr.sql_log_count
        function()
        self.env.flush_all()
        return self.env.cr.sql_log_count - before

    def assert_twins(self, imported, twins):
        """Every stored field of ``imported`` and their contacts equals their
        twins' (made by ``create()``), read back from the database."""
        Partner = self.env["res.partner"]
        self.env.invalidate_all()
        for model, records, their_twins in (
            (self.Subscriber, imported, twins),
            (Partner, imported.partner_id, twins.partner_id),
        ):
            names = stored_fields(model)
            self.assertIn("create_uid", names)
            for record, twin in zip(records, their_twins, strict=True):
                values, twin_values = record.read(names)[0], twin.read(names)[0]
                values.pop("id"), twin_values.pop("id")
                self.assertEqual(values, twin_values, record._name)
        # the contacts' images (attachments, no column): none, as create()'s
        self.assert_same_images(imported.partner_id, twins.partner_id)

    def assert_same_images(self, records, twins):
        self.env.flush_all()
        self.env.invalidate_all()

        def images(partners):
            return [tuple(p[name] for name in IMAGES) for p in partners.sudo()]

        self.assertEqual(images(records), images(twins))
        Attachment = self.env["ir.attachment"].sudo()

        def attachments(partners):
            return sorted(
                (partner_index, attachment.res_field, attachment.checksum)
                for partner_index, partner in enumerate(partners)
                for attachment in Attachment.search(
                    [
                        ("res_model", "=", "res.partner"),
                        ("res_id", "=", partner.id),
                        ("res_field", "in", list(IMAGES)),
                    ]
                )
            )

        self.assertEqual(attachments(records), attachments(twins))

    def create_twins(self, imported):
        twins = self.Subscriber.with_user(self.manager).create(
            [
                {
                    "person_identifier": "TWIN-" + person.person_identifier,
                    "family_name": person.family_name,
                    "given_name": person.given_name,
                    "addl_name": person.addl_name,
                    "gender": person.gender,
                    "email": person.email,
                    "phone": person.phone,
                }
                for person in imported
            ]
        )
        # flushed as the user who created them, as an import flushes its page
        # (the ORM writes the flushing user's id in write_uid)
        twins.env.flush_all()
        return twins.sudo()

    def test_created_as_create_creates_them(self):
        self.import_persons(6)
        imported = self.registry_subscribers()
        self.assertEqual(len(imported), 6)
        # what the ORM's cache holds is what the database holds
        Partner = self.env["res.partner"]

        def values():
            return (
                imported.read(stored_fields(self.Subscriber)),
                imported.partner_id.read(stored_fields(Partner)),
            )

        cached = values()
        self.env.invalidate_all()
        self.assertEqual(cached, values())
        self.assert_twins(imported, self.create_twins(imported))
        for partner in imported.partner_id:
            self.assertEqual(partner.commercial_partner_id, partner)
            self.assertEqual(partner.create_uid, self.manager)
            self.assertEqual(partner.company_id, self.env.company)

    def test_defaults_of_the_page_are_those_of_create(self):
        """Defaults computed once per page: a user default (``ir.default``) and
        a ``default_*`` key of the context reach every person of the page as
        ``create()`` gives them, and the memo lives only during the page."""
        Partner = self.env["res.partner"]
        self.env["ir.default"].set("res.partner", "comment", "<p>from a registry</p>")
        self.env["ir.default"].set("res.partner", "tz", "Africa/Nairobi")
        log = self.import_persons(12)
        self.assertEqual(self.counts(log), (12, 0, 0, 0))
        self.assertNotIn(PAGE_MEMO, self.env.cr.cache)
        imported = self.registry_subscribers()
        self.assertEqual(set(imported.partner_id.mapped("tz")), {"Africa/Nairobi"})
        self.assert_twins(imported, self.create_twins(imported))
        # a default_* key of the context: the ORM's and the page's agree
        vals = [
            {
                "person_identifier": f"CTX{i}",
                "family_name": f"Ctx{i}",
                "company_id": self.env.company.id,
            }
            for i in range(5)
        ]
        Subscriber = self.Subscriber.with_context(default_active=False)
        bulk = Subscriber._import_create(vals)
        plain = Subscriber.create(
            [dict(v, person_identifier="P" + v["person_identifier"]) for v in vals]
        )
        self.assertEqual(bulk.mapped("active"), [False] * 5)
        self.assertEqual(bulk.mapped("active"), plain.mapped("active"))
        self.assertEqual(
            bulk.partner_id.mapped("comment"), plain.partner_id.mapped("comment")
        )
        self.assertEqual(len(Partner.browse(bulk.partner_id.ids).exists()), 5)

    def test_page_defaults_fall_back_to_the_orm_when_they_vary(self):
        """The memo is used only after two records of the same fields got the
        same defaults, never for dates, and mutable defaults are copied."""
        Partner = self.env["res.partner"]
        calls = []

        def orm(defaults):
            def add_missing_default_values(values):
                calls.append(values)
                return dict(next(defaults), **values)

            return add_missing_default_values

        def run(defaults, count=6):
            calls.clear()
            self.env.cr.cache[PAGE_MEMO] = {}
            try:
                function = orm(defaults)
                return [
                    page_defaults(Partner, {"name": f"N{i}"}, function)
                    for i in range(count)
                ]
            finally:
                del self.env.cr.cache[PAGE_MEMO]

        # the same defaults: asked twice, then remembered
        results = run(itertools.repeat({"ref": "R", "category_id": [(6, 0, [])]}))
        self.assertEqual(len(calls), 2)
        self.assertEqual(
            results,
            [
                {"ref": "R", "category_id": [(6, 0, [])], "name": f"N{i}"}
                for i in range(6)
            ],
        )
        # each record has its own copy of a mutable default
        results[3]["category_id"][0][2].append(1)
        self.assertEqual(results[4]["category_id"], [(6, 0, [])])
        # a default that changes from call to call (a sequence, a clock...)
        results = run({"ref": str(i)} for i in itertools.count())
        self.assertEqual(len(calls), 6)
        self.assertEqual([r["ref"] for r in results], [str(i) for i in range(6)])
        # a date is never remembered, even when the first two agree
        today = datetime.date(2024, 1, 1)
        results = run(itertools.repeat({"date": today}))
        self.assertEqual(len(calls), 6)
        # another set of fields is sampled on its own
        self.env.cr.cache[PAGE_MEMO] = {}
        try:
            function = orm(itertools.repeat({"ref": "R"}))
            calls.clear()
            for values in ({"name": "a"}, {"name": "b", "email": "x"}) * 3:
                page_defaults(Partner, values, function)
            self.assertEqual(len(calls), 4)
        finally:
            del self.env.cr.cache[PAGE_MEMO]
        # outside a page: always the ORM's
        calls.clear()
        function = orm(itertools.repeat({"ref": "R"}))
        for i in range(3):
            page_defaults(Partner, {"name": f"N{i}"}, function)
        self.assertEqual(len(calls), 3)

    def test_shared_precomputes_follow_their_dependencies(self):
        """A precomputed value (the contact's salesperson, ``user_id``, from its
        parent company) is shared only between contacts that agree on what it
        depends on: contacts of a company get the company's, the others none,
        as ``create()`` gives them."""
        Partner = self.env["res.partner"]
        company = Partner.create(
            {"name": "Registry Co", "is_company": True, "user_id": self.manager.id}
        )
        vals = [
            {"name": f"Person {i}", **({"parent_id": company.id} if i % 2 else {})}
            for i in range(8)
        ]
        plain = Partner.create([dict(v) for v in vals])
        self.env.cr.cache[PAGE_MEMO] = {}
        try:
            shared = Partner.create([dict(v) for v in vals])
        finally:
            del self.env.cr.cache[PAGE_MEMO]
        self.assertEqual(
            [partner.user_id.id for partner in shared],
            [self.manager.id if i % 2 else False for i in range(8)],
        )
        names = [
            n for n in stored_fields(Partner) if n not in ("create_date", "write_date")
        ]
        self.env.flush_all()
        self.env.invalidate_all()
        for record, twin in zip(shared, plain, strict=True):
            values, twin_values = record.read(names)[0], twin.read(names)[0]
            values.pop("id"), twin_values.pop("id")
            self.assertEqual(values, twin_values)

    def test_shared_related_values_are_those_of_the_orm(self):
        """The stored related images of new contacts, computed once for the
        contacts that share the source image, are the ORM's: no image, the
        same image, or different ones (then left to the ORM)."""
        Partner = self.env["res.partner"]

        def image(name):
            with file_open(f"base/static/img/{name}", "rb") as file:
                return base64.b64encode(file.read())

        red, blue = image("partner_root-image.png"), image("user_demo-image.png")
        for images in ([False] * 3, [red] * 3, [red, False, blue]):
            vals = [
                {"name": f"Image {i}", "image_1920": image}
                for i, image in enumerate(images)
            ]
            shared = Partner.create([dict(v) for v in vals])
            share_related_values(shared)
            pending = self.env.records_to_compute(Partner._fields["image_128"])
            # computed once when the contacts share their image, else left
            self.assertEqual(bool(pending & shared), len(set(images)) > 1)
            shared._recompute_recordset()
            plain = Partner.create([dict(v) for v in vals])
            self.assert_same_images(shared, plain)
            if images[0]:
                self.assertTrue(shared[0].image_128)
                self.assertNotEqual(shared[0].image_128, shared[0].image_1920)

    def test_no_chatter_per_created_person_but_changes_tracked(self):
        self.import_persons(20)
        imported = self.registry_subscribers()
        for model, ids in (
            (self.Subscriber._name, imported.ids),
            ("res.partner", imported.partner_id.ids),
        ):
            self.assertFalse(
                self.env["mail.message"].search(
                    [("model", "=", model), ("res_id", "in", ids)]
                )
            )
            self.assertFalse(
                self.env["mail.followers"].search(
                    [("res_model", "=", model), ("res_id", "in", ids)]
                )
            )
        # a re-import's changes stay in each changed person's chatter
        self.emulator.generation = 2  # every 10th person renamed
        log = self.import_persons(20)
        self.assertEqual(self.counts(log), (0, 2, 18, 0))
        self.env.cr.flush()  # tracking is finalised before commit
        tracked = self.env["mail.message"].search(
            [("model", "=", self.Subscriber._name), ("res_id", "in", imported.ids)]
        )
        renamed = imported.filtered(lambda s: s.given_name.endswith("-v2"))
        self.assertEqual(
            renamed.mapped("person_identifier"), ["UIN00000010", "UIN00000020"]
        )
        self.assertEqual(sorted(tracked.mapped("res_id")), sorted(renamed.ids))
        self.assertIn("given_name", tracked.tracking_value_ids.field_id.mapped("name"))

    def test_queries_do_not_grow_with_the_page(self):
        Log = self.Log.with_user(self.manager)

        def records(first, count):
            return [
                {
                    "identifier": [{"identifier_value": f"Q{index:05d}"}],
                    "name": {
                        "surname": f"Family{index}",
                        "given_name": f"Given{index}",
                    },
                    "email": [f"q{index}@example.org"],
                }
                for index in range(first, first + count)
            ]

        mapping = Log._registry_params()["mapping"]

        def apply(page):
            Log._apply_plan(Log._plan_records(page, mapping))

        def queries(first, count):
            page = records(first, count)
            return self.count_queries(lambda: apply(page))

        queries(1, 3)  # the first page reads what the ORM caches afterwards
        created = [queries(11, 3), queries(101, 60)]
        self.assertEqual(created[0], created[1], "first import")
        self.assertLessEqual(created[1], 10)
        unchanged = [queries(11, 3), queries(101, 60)]
        self.assertEqual(unchanged[0], unchanged[1], "re-import, nothing changed")
        self.assertLessEqual(unchanged[1], 3)
        # three persons with the same change (written together), the others not
        page = records(101, 60)
        for record in page[:3]:
            record["email"] = ["shared@example.org"]
        before = self.Subscriber.search([("email", "=", "shared@example.org")])
        self.assertFalse(before)
        apply(page)
        changed = self.Subscriber.search([("email", "=", "shared@example.org")])
        self.assertEqual(
            sorted(changed.mapped("person_identifier")), ["Q00101", "Q00102", "Q00103"]
        )

    def test_flush_batched_leaves_other_pending_writes_to_the_orm(self):
        Partner = self.env["res.partner"]
        other = Partner.create({"name": "Other"})
        self.env.flush_all()
        new = Partner.create(
            [{"name": f"Bulk {i}", "email": "B@x.org"} for i in (1, 2)]
        )
        other.email = "Other@X.org"  # pending, not one of the records flushed
        new._recompute_recordset()
        other._recompute_recordset()
        flush_batched(new)
        self.env.flush_all()
        self.env.invalidate_all()
        self.assertEqual(other.email_normalized, "other@x.org")
        self.assertEqual(new.mapped("email_normalized"), ["b@x.org", "b@x.org"])
        self.assertEqual(new.mapped("commercial_partner_id"), new)
        self.assertEqual(new.mapped("complete_name"), ["Bulk 1", "Bulk 2"])

    def test_archived_and_other_company_subscribers_are_found(self):
        """The page's read in SQL keeps the ORM search's scope: archived
        subscribers are updated and stay archived; another company's identifier
        is skipped, never duplicated."""
        archived = self.create_subscriber("UIN00000001", family="Old", given="Name")
        archived.active = False
        other_company = self.env["res.company"].create({"name": "Other Registry Co"})
        elsewhere = self.create_subscriber(
            "UIN00000002", family="Else", given="Where", company_id=other_company.id
        )
        log = self.import_persons(3)
        self.assertEqual(self.counts(log), (1, 1, 0, 1))
        self.assertEqual(log.issue_ids.mapped("reason"), ["duplicate"])
        self.assertEqual(log.issue_ids.identifier, "UIN00000002")
        archived.invalidate_recordset()
        self.assertEqual(
            (archived.family_name, archived.given_name, archived.active),
            ("Family1", "Given1", False),
        )
        self.assertEqual(elsewhere.family_name, "Else")
        self.assertEqual(
            sorted(self.registry_subscribers().mapped("person_identifier")),
            ["UIN00000001", "UIN00000002", "UIN00000003"],
        )

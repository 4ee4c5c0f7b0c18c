from collections import Counter, defaultdict

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL
from odoo.tools.misc import clean_context

GENDERS = [
    ("male", "Male"),
    ("female", "Female"),
    ("other", "Other"),
    ("unknown", "Unknown"),
]
NAME_FIELDS = ("family_name", "given_name", "addl_name")
PARTNER_CONTACT_FIELDS = ("email", "phone", "mobile")


class AttendanceSubscriber(models.Model):
    """A program participant whose attendance is recorded.

    A subscriber *is* a contact: it delegates to its own ``res.partner``
    (``_inherits``). Creating a subscriber always creates a new partner unless a
    ``partner_id`` is given explicitly; there is no matching on names. The
    partner's name is always "Family, Given Addl", kept in sync on every
    rename. ``person_identifier`` is the external key used by the API.

    This file: fields, constraints, names and partner, deletion. Indexes and
    name search: ``attendance_subscriber_search.py``; attendance statistics and
    history: ``attendance_subscriber_history.py``; participation:
    ``attendance_subscriber_participation.py``.
    """

    _name = "spp.attendance.subscriber"
    _description = "Attendance Subscriber"
    _inherit = ["mail.thread"]
    _inherits = {"res.partner": "partner_id"}
    _order = "family_name, given_name, id"
    _rec_names_search = ["name", "person_identifier"]

    partner_id = fields.Many2one(
        "res.partner",
        string="Partner",
        required=True,
        ondelete="restrict",
        index=True,
        auto_join=True,
        copy=False,
    )
    person_identifier = fields.Char(
        required=True,
        copy=False,
        tracking=True,
        # contains-match (ilike) searches; equality uses the unique constraint's index
        index="trigram",
        help="Unique identifier of the person (e.g. the registry ID); the key "
        "used by the API.",
    )
    family_name = fields.Char(tracking=True)
    given_name = fields.Char(tracking=True)
    addl_name = fields.Char(string="Additional Names", tracking=True)
    gender = fields.Selection(GENDERS, tracking=True)
    # redefined (instead of inherited) to track changes on the subscriber
    email = fields.Char(related="partner_id.email", readonly=False, tracking=True)
    phone = fields.Char(related="partner_id.phone", readonly=False, tracking=True)
    mobile = fields.Char(related="partner_id.mobile", readonly=False, tracking=True)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company",
        string="Company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
        tracking=True,
    )
    attendance_list_ids = fields.One2many(
        "spp.attendance.list", "subscriber_id", string="Attendance History"
    )
    attendance_count = fields.Integer(
        string="Attendance Records", compute="_compute_attendance_stats"
    )
    days_present_count = fields.Integer(
        string="Days Present", compute="_compute_attendance_stats"
    )
    days_absent_count = fields.Integer(
        string="Days Absent", compute="_compute_attendance_stats"
    )
    last_attendance_date = fields.Date(
        string="Last Attendance",
        compute="_compute_attendance_stats",
        help="Last date on which the subscriber was present.",
    )

    _sql_constraints = [
        (
            "person_identifier_uniq",
            "unique(person_identifier)",
            "A subscriber with the same person identifier already exists.",
        ),
        (
            "partner_id_uniq",
            "unique(partner_id)",
            "This contact is already linked to another subscriber.",
        ),
    ]

    # ------------------------------------------------------------------
    # Names and partner
    # ------------------------------------------------------------------

    @api.model
    def _compose_name(self, family_name, given_name, addl_name):
        """Display name "Family, Given Addl" (missing parts are skipped)."""
        family_name, given_name, addl_name = (
            (part or "").strip() for part in (family_name, given_name, addl_name)
        )
        name = ", ".join(part for part in (family_name, given_name) if part)
        if addl_name:
            name = f"{name} {addl_name}" if name else addl_name
        return name

    @api.model
    def _normalize_vals(self, vals):
        vals = dict(vals)
        for fname in ("person_identifier", *NAME_FIELDS):
            if isinstance(vals.get(fname), str):
                vals[fname] = vals[fname].strip()
        if "person_identifier" in vals and not vals["person_identifier"]:
            raise ValidationError(
                _("Person identifier: a subscriber needs a non-blank identifier.")
            )
        if vals.get("gender") and vals["gender"] not in dict(GENDERS):
            raise ValidationError(
                _(
                    "Gender: '%(value)s' is not allowed; use one of: %(allowed)s.",
                    value=vals["gender"],
                    allowed=", ".join(dict(GENDERS)),
                )
            )
        return vals

    @api.model
    def _identifiers_domain(self, identifiers):
        """Domain of the subscribers whose identifier is one of ``identifiers``.

        A subquery on ``unnest()``, not an IN list: PostgreSQL may plan an IN
        list on the identifier's trigram index, one probe per value, each reading
        the index's whole pending list after a large import (seconds per
        request); the subquery is joined through the unique index.
        """
        return [
            (
                "person_identifier",
                "in",
                SQL("(SELECT unnest(%s::varchar[]))", list(identifiers)),
            )
        ]

    @api.model
    def _check_identifiers_free(self, identifiers, exclude=None):
        """Refuse identifiers given twice or already used by another subscriber."""
        identifiers = [identifier for identifier in identifiers if identifier]
        duplicates = {i for i, count in Counter(identifiers).items() if count > 1}
        if duplicates:
            raise ValidationError(
                _(
                    "Person identifier '%(identifier)s' is given to more than one "
                    "subscriber; identifiers must be unique.",
                    identifier=sorted(duplicates)[0],
                )
            )
        if not identifiers:
            return
        # A join on unnest(), not an IN list: the list may be planned on the
        # trigram index, one probe per value (see the import log's
        # _read_subscribers); archived and other companies' subscribers count.
        # No ORDER BY/LIMIT: PostgreSQL then walked the primary key in order
        # looking for a first match, i.e. the whole table when there is none.
        self.flush_model(["person_identifier"])
        self.env.cr.execute(
            SQL(
                """
                SELECT s.id FROM unnest(%s::varchar[]) AS given(identifier)
                  JOIN spp_attendance_subscriber s
                    ON s.person_identifier = given.identifier
                 WHERE s.id != ALL(%s::int[])
                """,
                identifiers,
                list(exclude.ids) if exclude else [],
            )
        )
        found = [row[0] for row in self.env.cr.fetchall()]
        existing = (
            self.sudo().with_context(active_test=False).browse(min(found, default=()))
        )
        if existing:
            raise ValidationError(
                _(
                    "Person identifier '%(identifier)s' is already used by "
                    "subscriber %(name)s%(archived)s; identifiers must be unique.",
                    identifier=existing.person_identifier,
                    name=existing.name,
                    archived="" if existing.active else _(" (archived)"),
                )
            )

    @api.model
    def _check_partners_free(self, partner_ids, exclude=None):
        """Refuse a contact that is already (or twice) linked to a subscriber."""
        partner_ids = [partner_id for partner_id in partner_ids if partner_id]
        if len(set(partner_ids)) < len(partner_ids):
            raise ValidationError(
                _("Contact: the same contact cannot be linked to two subscribers.")
            )
        if not partner_ids:
            return
        domain = [("partner_id", "in", partner_ids)]
        if exclude:
            domain.append(("id", "not in", exclude.ids))
        existing = self.sudo().with_context(active_test=False).search(domain, limit=1)
        if existing:
            raise ValidationError(
                _(
                    "Contact: '%(partner)s' is already linked to subscriber "
                    "%(name)s (%(identifier)s); a contact can belong to one "
                    "subscriber only.",
                    partner=existing.partner_id.display_name,
                    name=existing.name,
                    identifier=existing.person_identifier,
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        vals_list = [self._normalize_vals(vals) for vals in vals_list]
        self._check_identifiers_free([v.get("person_identifier") for v in vals_list])
        self._check_partners_free([v.get("partner_id") for v in vals_list])
        default_company = self.default_get(["company_id"]).get("company_id")
        new_partner_vals = []
        for vals in vals_list:
            vals.setdefault("company_id", default_company)
            if vals.get("partner_id"):
                continue
            partner_vals = {
                "name": self._compose_name(*(vals.get(f) for f in NAME_FIELDS)),
                "company_id": vals["company_id"],
            }
            for fname in PARTNER_CONTACT_FIELDS:
                if fname in vals:
                    partner_vals[fname] = vals.pop(fname)
            new_partner_vals.append((vals, partner_vals))
        if new_partner_vals:
            self._check_has_name([pv for _v, pv in new_partner_vals])
            # The subscriber carries the audit trail: no chatter noise on the
            # partner, and no default_* of the subscriber's context leaking in.
            partners = (
                self.env["res.partner"]
                .with_context(
                    clean_context(self.env.context),
                    mail_create_nolog=True,
                    mail_create_nosubscribe=True,
                    tracking_disable=True,
                )
                .create([partner_vals for _v, partner_vals in new_partner_vals])
            )
            for (vals, _pv), partner in zip(new_partner_vals, partners, strict=False):
                vals["partner_id"] = partner.id
        subscribers = super().create(vals_list)
        subscribers._sync_partner_name()
        return subscribers

    def write(self, vals):
        vals = self._normalize_vals(vals)
        if vals.get("person_identifier"):
            self._check_identifiers_free(
                [vals["person_identifier"]] * len(self), exclude=self
            )
        if vals.get("partner_id"):
            self._check_partners_free([vals["partner_id"]] * len(self), exclude=self)
        result = super().write(vals)
        if not {"name", "partner_id", *NAME_FIELDS}.isdisjoint(vals):
            self._sync_partner_name()
        if vals.get("company_id"):
            self.partner_id.filtered(
                lambda partner: partner.company_id.id != vals["company_id"]
            ).write({"company_id": vals["company_id"]})
        return result

    @api.model
    def _check_has_name(self, partner_vals_list):
        for partner_vals in partner_vals_list:
            if not partner_vals["name"]:
                raise ValidationError(
                    _("Name: a subscriber needs a family name or a given name.")
                )

    @api.constrains(*NAME_FIELDS)
    def _check_name_parts(self):
        for subscriber in self:
            if not (subscriber.family_name or subscriber.given_name):
                raise ValidationError(
                    _(
                        "Name: subscriber '%(identifier)s' needs a family name or a "
                        "given name.",
                        identifier=subscriber.person_identifier,
                    )
                )

    def _sync_partner_name(self):
        """Write "Family, Given Addl" on the partners whose name differs."""
        by_name = defaultdict(lambda: self.env["res.partner"])
        for subscriber in self:
            name = self._compose_name(
                subscriber.family_name, subscriber.given_name, subscriber.addl_name
            )
            if name and subscriber.partner_id.name != name:
                by_name[name] |= subscriber.partner_id
        for name, partners in by_name.items():
            partners.write({"name": name})

    # ------------------------------------------------------------------
    # Deletion
    # ------------------------------------------------------------------

    @api.ondelete(at_uninstall=False)
    def _unlink_except_with_attendance(self):
        groups = (
            self.env["spp.attendance.list"]
            .sudo()
            .with_context(active_test=False)
            ._read_group(
                [("subscriber_id", "in", self.ids)], ["subscriber_id"], ["__count"]
            )
        )
        if groups:
            lines = [
                _(
                    "%(name)s (%(identifier)s) has %(count)s attendance records.",
                    name=subscriber.name,
                    identifier=subscriber.person_identifier,
                    count=count,
                )
                for subscriber, count in groups
            ]
            raise UserError(
                _(
                    "Subscribers with attendance records cannot be deleted; archive "
                    "them instead.\n%(details)s",
                    details="\n".join(lines),
                )
            )

    def unlink(self):
        """Delete; the contact is kept, with a note saying who deleted what."""
        notes = {
            subscriber.partner_id.id: _(
                "Attendance subscriber %(identifier)s deleted by %(user)s.",
                identifier=subscriber.person_identifier,
                user=self.env.user.name,
            )
            for subscriber in self
        }
        result = super().unlink()
        partners = self.env["res.partner"].sudo().browse(list(notes)).exists()
        if partners:
            partners._message_log_batch(
                bodies={
                    partner.id: Markup("<p>%s</p>") % notes[partner.id]
                    for partner in partners
                },
                author_id=self.env.user.partner_id.id,
            )
        return result

import logging

import psycopg2

from odoo import api, models
from odoo.modules.db import FunctionStatus, has_trigram
from odoo.osv.expression import NEGATIVE_TERM_OPERATORS, get_unaccent_wrapper
from odoo.tools import SQL
from odoo.tools.sql import create_index

_logger = logging.getLogger(__name__)

#: btree index matching the default ``_order`` (the subscribers list's first page)
LIST_ORDER_INDEX = "spp_attendance_subscriber_list_order_idx"
#: GIN trigram index on the contacts' name, where a subscriber's display name lives
PARTNER_NAME_TRIGRAM_INDEX = "res_partner_name_trigram_idx"


class AttendanceSubscriberSearch(models.Model):
    """Subscriber lists and name searches served by indexes: the index of the
    default order, the contacts' name trigram index, and a name search that
    unites two index-served searches."""

    _inherit = "spp.attendance.subscriber"  # pylint: disable=consider-merging-classes-inherited

    def init(self):
        """Indexes that fields cannot declare (run on install and on every update).

        - ``LIST_ORDER_INDEX``: ``(family_name, given_name, id)``, the default order
          exactly as the ORM emits it (ascending, default NULLS LAST, the columns'
          collation), so a list page is an index scan stopping after ``limit`` rows
          instead of a sort of the whole table;
        - ``PARTNER_NAME_TRIGRAM_INDEX``: GIN trigram index on ``res_partner.name``
          (the subscriber's ``name`` is the contact's), on the very expression the
          ORM's ``ilike`` emits (``unaccent(...)`` only when the server runs with
          ``--unaccent`` and the function is immutable, as ``index="trigram"``
          does).

        Trigram indexes need the ``pg_trgm`` extension: Odoo creates it with the
        databases it creates itself; for a database created otherwise it is
        created here when possible (a trusted extension: the database's CREATE
        privilege is enough), before Odoo creates the fields' trigram indexes.
        """
        result = super().init()
        cr = self.env.cr
        create_index(
            cr,
            LIST_ORDER_INDEX,
            self._table,
            ['"family_name"', '"given_name"', '"id"'],
        )
        registry = self.env.registry
        if not registry.has_trigram:
            self._create_trigram_extension()
        if registry.has_trigram:
            expression = '"name"'
            if registry.has_unaccent == FunctionStatus.INDEXABLE:
                expression = get_unaccent_wrapper(cr)(expression)
            create_index(
                cr,
                PARTNER_NAME_TRIGRAM_INDEX,
                "res_partner",
                [f"{expression} gin_trgm_ops"],
                method="gin",
            )
        return result

    @api.model
    def _create_trigram_extension(self):
        cr = self.env.cr
        cr.execute(
            "SELECT has_database_privilege(current_database(), 'CREATE') "
            "AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm')"
        )
        if cr.fetchone()[0]:
            try:
                with cr.savepoint(flush=False):
                    cr.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            except psycopg2.Error as exc:
                _logger.warning("Cannot create the pg_trgm extension: %s", exc)
            self.env.registry.has_trigram = has_trigram(cr)
        if not self.env.registry.has_trigram:
            _logger.warning(
                "PostgreSQL extension pg_trgm is missing and cannot be created: "
                "subscriber searches by name or identifier will scan the tables."
            )

    @api.model
    def _name_search(self, name, domain=None, operator="ilike", limit=None, order=None):
        """Search by name or identifier as a UNION of two index-served searches.

        The default ``name ILIKE x OR person_identifier ILIKE x`` spans the
        contact and the subscriber tables: PostgreSQL must join and filter every
        row whatever the indexes (80 ms at 100,000 subscribers). Each half alone
        is served by its trigram index, so the ids of both are united first.
        """
        if not name or operator in NEGATIVE_TERM_OPERATORS:
            return super()._name_search(name, domain, operator, limit, order)
        matching = SQL(
            "(%s UNION %s)",
            self._search([("name", operator, name)]).subselect(),
            self._search([("person_identifier", operator, name)]).subselect(),
        )
        return self._search(
            [*(domain or []), ("id", "in", matching)], limit=limit, order=order
        )

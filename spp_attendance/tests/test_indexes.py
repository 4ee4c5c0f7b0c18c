"""Indexes of the subscribers list and search (issue #15, item 4).

These tests prove the plan, not the time: the expected indexes exist with the
right definition, and PostgreSQL's plan of the exact SQL the ORM builds uses them
once the table holds a few thousand rows and has been analyzed. No timing is
asserted (see bench/backoffice_index_bench.py for the measurements).
"""

import json

from odoo.tests import TransactionCase, tagged

from ..models.attendance_subscriber_search import (
    LIST_ORDER_INDEX,
    PARTNER_NAME_TRIGRAM_INDEX,
)

IDENTIFIER_TRIGRAM_INDEX = "spp_attendance_subscriber__person_identifier_index"
ROWS = 5000

LOAD = """
WITH src AS (
    SELECT g, nextval('res_partner_id_seq')::int AS partner_id,
           'Tfam' || lpad(g::text, 5, '0') AS family,
           (ARRAY['Ana', 'Jose', 'Grace', 'Kofi'])[1 + g %% 4] AS given
      FROM generate_series(1, %(rows)s) AS g
), partners AS (
    INSERT INTO res_partner (
        id, name, complete_name, commercial_partner_id, company_id, type, active,
        is_company, partner_share, color, lang, create_uid, write_uid, create_date,
        write_date)
    SELECT partner_id, family || ', ' || given, family || ', ' || given, partner_id,
           %(company)s, 'contact', true, false, true, 0, 'en_US', %(uid)s, %(uid)s,
           now() at time zone 'UTC', now() at time zone 'UTC'
      FROM src
    RETURNING id
)
INSERT INTO spp_attendance_subscriber (
    partner_id, company_id, person_identifier, family_name, given_name, active,
    create_uid, write_uid, create_date, write_date)
SELECT src.partner_id, %(company)s, 'TIDX-' || lpad(src.g::text, 6, '0'),
       src.family, src.given, true, %(uid)s, %(uid)s,
       now() at time zone 'UTC', now() at time zone 'UTC'
  FROM src JOIN partners ON partners.id = src.partner_id
"""


def _plan_nodes(plan):
    """Every node of a JSON plan, depth first."""
    yield plan
    for child in plan.get("Plans", ()):
        yield from _plan_nodes(child)


@tagged("post_install", "-at_install")
class TestSubscriberIndexes(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cr.execute(
            LOAD,
            {"rows": ROWS, "company": cls.env.company.id, "uid": cls.env.uid},
        )
        cls.env.invalidate_all()
        # rows inserted after a GIN index was built wait in its pending list until
        # (auto)vacuum merges them; the planner rightly avoids an index whose
        # pending list it would have to scan whole: merge it, as autovacuum would
        for index in (IDENTIFIER_TRIGRAM_INDEX, PARTNER_NAME_TRIGRAM_INDEX):
            cls.cr.execute("SELECT gin_clean_pending_list(%s::regclass)", [index])
        cls.cr.execute("ANALYZE res_partner")
        cls.cr.execute("ANALYZE spp_attendance_subscriber")
        # as the back office runs it: a real user, record rules applied
        admin = cls.env.ref("base.user_admin")
        cls.Subscriber = cls.env["spp.attendance.subscriber"].with_user(admin)

    def _indexdef(self, name):
        self.cr.execute(
            "SELECT tablename, indexdef FROM pg_indexes WHERE indexname = %s", [name]
        )
        row = self.cr.fetchone()
        self.assertTrue(row, f"index {name} is missing")
        return row

    def _plan(self, query):
        """``EXPLAIN (FORMAT JSON)`` of an ORM query (a ``Query`` from ``_search``)."""
        sql = query.select()
        self.cr.execute(f"EXPLAIN (FORMAT JSON) {sql.code}", sql.params)
        plan = self.cr.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        return plan[0]["Plan"]

    def _assert_uses_index(self, query, index_name, node_types):
        plan = self._plan(query)
        used = [
            (node["Node Type"], node.get("Index Name"))
            for node in _plan_nodes(plan)
            if node.get("Index Name")
        ]
        self.assertIn(
            index_name,
            [name for node_type, name in used if node_type in node_types],
            f"the plan does not use {index_name} ({', '.join(node_types)}): "
            f"{json.dumps(plan, indent=1)}",
        )
        return plan

    # ------------------------------------------------------------------
    # Definitions
    # ------------------------------------------------------------------

    def test_index_definitions(self):
        """The three indexes exist on the expressions the ORM's queries use."""
        table, definition = self._indexdef(LIST_ORDER_INDEX)
        self.assertEqual(table, "spp_attendance_subscriber")
        # plain ascending columns, default collation and NULLS LAST: exactly the
        # ORDER BY that _order = "family_name, given_name, id" produces
        self.assertTrue(
            definition.endswith("USING btree (family_name, given_name, id)"),
            definition,
        )
        self.assertTrue(self.env.registry.has_trigram, "pg_trgm is missing")
        table, definition = self._indexdef(IDENTIFIER_TRIGRAM_INDEX)
        self.assertEqual(table, "spp_attendance_subscriber")
        self.assertIn("USING gin (person_identifier gin_trgm_ops)", definition)
        table, definition = self._indexdef(PARTNER_NAME_TRIGRAM_INDEX)
        self.assertEqual(table, "res_partner")
        # "name" or, with --unaccent, "unaccent((name)::text)": as the ORM's ilike
        self.assertRegex(
            definition,
            r"USING gin \((name|unaccent\(\(?name\)?(::text)?\)) gin_trgm_ops\)",
        )

    def test_order_matches_index(self):
        """The ORM's ORDER BY is the index's column list, nothing added."""
        query = self.Subscriber._search([], limit=80, order=self.Subscriber._order)
        order = query.order.code.replace('"', "").split(",")
        self.assertEqual(
            [term.strip() for term in order],
            [
                "spp_attendance_subscriber.family_name",
                "spp_attendance_subscriber.given_name",
                "spp_attendance_subscriber.id",
            ],
        )

    def test_upgrade_recreates_indexes(self):
        """``-u`` recreates a missing index (``init`` and Odoo's field indexes)."""
        self.cr.execute(f'DROP INDEX "{LIST_ORDER_INDEX}"')
        self.cr.execute(f'DROP INDEX "{PARTNER_NAME_TRIGRAM_INDEX}"')
        self.cr.execute(f'DROP INDEX "{IDENTIFIER_TRIGRAM_INDEX}"')
        self.env["spp.attendance.subscriber"].init()
        self.env.registry.check_indexes(self.cr, ["spp.attendance.subscriber"])
        for name in (
            LIST_ORDER_INDEX,
            PARTNER_NAME_TRIGRAM_INDEX,
            IDENTIFIER_TRIGRAM_INDEX,
        ):
            self._indexdef(name)

    # ------------------------------------------------------------------
    # Plans of the ORM's queries
    # ------------------------------------------------------------------

    def test_list_first_page_plan(self):
        """First page of the list (default order): an index scan, no sort."""
        query = self.Subscriber._search([], limit=80, order=self.Subscriber._order)
        plan = self._assert_uses_index(
            query, LIST_ORDER_INDEX, ("Index Scan", "Index Only Scan")
        )
        self.assertNotIn(
            "Sort", [node["Node Type"] for node in _plan_nodes(plan)], plan
        )
        # and the ids are the first ones in that order
        ids = self.Subscriber.search([], limit=80).ids
        self.cr.execute(
            "SELECT id FROM spp_attendance_subscriber WHERE active "
            "ORDER BY family_name, given_name, id LIMIT 80"
        )
        self.assertEqual(ids, [row[0] for row in self.cr.fetchall()])

    def test_identifier_contains_plan(self):
        """``person_identifier ilike`` (contains) is served by the trigram index."""
        domain = [("person_identifier", "ilike", "idx-001234")]
        query = self.Subscriber._search(domain, order=self.Subscriber._order)
        self._assert_uses_index(query, IDENTIFIER_TRIGRAM_INDEX, ("Bitmap Index Scan",))
        self.assertEqual(
            self.Subscriber.search(domain).mapped("person_identifier"),
            ["TIDX-001234"],
        )

    def test_name_contains_plan(self):
        """``name ilike`` (the contact's name, contains) uses the trigram index."""
        domain = [("name", "ilike", "fam01234")]
        query = self.Subscriber._search(domain, order=self.Subscriber._order)
        self._assert_uses_index(
            query, PARTNER_NAME_TRIGRAM_INDEX, ("Bitmap Index Scan",)
        )
        self.assertEqual(
            self.Subscriber.search(domain).mapped("family_name"), ["Tfam01234"]
        )

    def test_name_search_plan(self):
        """``name_search`` (many2one fields, the search box) by name or identifier:
        both trigram indexes serve it, and it finds either kind of match."""
        query = self.Subscriber._name_search("fam01234", limit=8)
        plan = self._assert_uses_index(
            query, PARTNER_NAME_TRIGRAM_INDEX, ("Bitmap Index Scan",)
        )
        self._assert_uses_index(query, IDENTIFIER_TRIGRAM_INDEX, ("Bitmap Index Scan",))
        self.assertNotIn(
            "Seq Scan",
            [
                node["Node Type"]
                for node in _plan_nodes(plan)
                if node.get("Relation Name")
                in ("res_partner", "spp_attendance_subscriber")
            ],
            plan,
        )
        by_name = self.Subscriber.name_search("fam01234")
        self.assertEqual([name for _id, name in by_name], ["Tfam01234, Grace"])
        by_identifier = self.Subscriber.name_search("idx-004321")
        self.assertEqual(len(by_identifier), 1)
        self.assertEqual(
            self.Subscriber.browse(by_identifier[0][0]).person_identifier,
            "TIDX-004321",
        )
        # a domain still applies, and negative operators keep Odoo's behaviour
        self.assertFalse(
            self.Subscriber.name_search("fam01234", args=[("given_name", "=", "Kofi")])
        )
        self.assertEqual(
            len(self.Subscriber.name_search("TIDX-", operator="not ilike", limit=None)),
            self.Subscriber.search_count([("person_identifier", "not ilike", "TIDX-")]),
        )

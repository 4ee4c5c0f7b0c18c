from odoo import api, models, tools
from odoo.tools import SQL

from .attendance_summary_fold import DIRTY_TABLE


class AttendanceRecordAggregate(models.AbstractModel):
    """Shared behaviour of the report models aggregating the attendance records
    (daily summary, program reach): folded rows plus live dirty keys.

    Each model has a real table of folded rows, ``<_table>_folded``, written only
    by the fold (``spp.attendance.summary.fold``), never by writers. The model's
    ``_table`` is a VIEW::

        folded rows whose key is not dirty
        UNION ALL
        the records' aggregate restricted to the dirty keys

    so a read is exact under the reader's snapshot whatever the fold's lag (the
    dirty row of a change commits with the change). With nothing dirty the
    second branch is cut by a one-time filter and the records are not read;
    the ORM's conditions on the period and the company reach both branches.

    * A search first writes the records' pending changes (their triggers mark
      the keys dirty) and forgets the rows read earlier in the transaction (the
      ORM does not know that the rows depend on the records).
    * A row's id is the smallest id of its records (an aggregate), so reading rows
      by id would aggregate every dirty key: the ids' records give their periods
      (``_period_of_record``), and the read is restricted to those periods
      (``_period_column`` of the view).

    A model defines :meth:`_aggregate_sql` (its SELECT over the records) and its
    period (:meth:`_period_sql`, :meth:`_period_end_sql`).
    """

    _name = "spp.attendance.record.aggregate"
    _description = "Aggregate of attendance records (folded rows and dirty keys)"

    #: the view's period column, and the same value computed on a record
    _period_column = "attendance_date"
    _period_of_record = "attendance_date"

    # SQL of the model ------------------------------------------------------

    def _aggregate_sql(self, condition):
        """SELECT of the rows over the active records ``l`` meeting the SQL
        ``condition``, with the columns of the view in order."""
        raise NotImplementedError

    def _period_sql(self, alias):
        """The period of the date column of ``alias`` (a record or a key)."""
        return SQL("%s.attendance_date", SQL.identifier(alias))

    def _period_end_sql(self, period):
        """The first date after the period starting on ``period``."""
        return SQL("(%s + 1)", period)

    @property
    def _folded_table(self):
        return f"{self._table}_folded"

    def _key_match_sql(self, keys_table, alias, period):
        """EXISTS a key of ``keys_table`` for the row or record ``alias`` whose
        period is ``period``."""
        return SQL(
            """EXISTS (SELECT 1 FROM %(keys)s k
                        WHERE %(key_period)s = %(period)s
                          AND k.type_key = COALESCE(%(a)s.attendance_type_id, 0)
                          AND k.location_key = COALESCE(%(a)s.attendance_location_id, 0)
                          AND k.company_key = COALESCE(%(a)s.company_id, 0))""",
            keys=SQL.identifier(keys_table),
            key_period=self._period_sql("k"),
            period=period,
            a=SQL.identifier(alias),
        )

    def _records_of_keys_sql(self, keys_table):
        """Condition on the records ``l`` of the keys of ``keys_table``: a range
        of the date index (empty when there is no key) and the exact keys. The
        range spans the earliest to the latest dirty period, so a backdated
        write widens it until the next fold."""
        keys = SQL.identifier(keys_table)
        return SQL(
            """EXISTS (SELECT 1 FROM %(keys)s)
               AND l.attendance_date >= (SELECT MIN(%(period)s) FROM %(keys)s k)
               AND l.attendance_date < (SELECT %(end)s FROM %(keys)s k)
               AND %(match)s""",
            keys=keys,
            period=self._period_sql("k"),
            end=self._period_end_sql(SQL("MAX(%s)", self._period_sql("k"))),
            match=self._key_match_sql(keys_table, "l", self._period_sql("l")),
        )

    def _folded_of_keys_sql(self, keys_table):
        """Condition on the folded rows ``f`` of the keys of ``keys_table``."""
        return self._key_match_sql(
            keys_table, "f", SQL("f.%s", SQL.identifier(self._period_column))
        )

    # install, read, fold ---------------------------------------------------

    def init(self):
        if self._abstract:
            return
        cr = self.env.cr
        self.env["spp.attendance.summary.fold"]._ensure_dirty_keys()
        tools.drop_view_if_exists(cr, self._table)
        folded = SQL.identifier(self._folded_table)
        # A version that changes the aggregate's columns must drop the folded
        # table in a migration script: it is then refilled here.
        if not tools.table_exists(cr, self._folded_table):
            # the initial fill: one set-based statement over the records (the
            # triggers exist from here on in this transaction)
            cr.execute(
                SQL(
                    "CREATE TABLE %s AS %s",
                    folded,
                    self._aggregate_sql(SQL("TRUE")),
                )
            )
            cr.execute(SQL("ALTER TABLE %s ADD PRIMARY KEY (id)", folded))
            cr.execute(
                SQL(
                    """CREATE UNIQUE INDEX %s ON %s (
                           %s, COALESCE(attendance_type_id, 0),
                           COALESCE(attendance_location_id, 0),
                           COALESCE(company_id, 0))""",
                    SQL.identifier(f"{self._folded_table}_key_index"),
                    folded,
                    SQL.identifier(self._period_column),
                )
            )
            cr.execute(SQL("ANALYZE %s", folded))
        cr.execute(
            SQL(
                """
                CREATE VIEW %(view)s AS
                SELECT f.* FROM %(folded)s f WHERE NOT %(folded_dirty)s
                UNION ALL
                %(live)s
                """,
                view=SQL.identifier(self._table),
                folded=folded,
                folded_dirty=self._folded_of_keys_sql(DIRTY_TABLE),
                live=self._aggregate_sql(self._records_of_keys_sql(DIRTY_TABLE)),
            )
        )

    def _fold_keys(self, keys_table):
        """Replace the folded rows of the keys of ``keys_table`` by the records'
        aggregate (called by the fold)."""
        cr = self.env.cr
        folded = SQL.identifier(self._folded_table)
        # not logged on failure: see the fold's serialization race
        cr.execute(
            SQL(
                "DELETE FROM %s f WHERE %s",
                folded,
                self._folded_of_keys_sql(keys_table),
            ),
            log_exceptions=False,
        )
        cr.execute(
            SQL(
                "INSERT INTO %s %s",
                folded,
                self._aggregate_sql(self._records_of_keys_sql(keys_table)),
            ),
            log_exceptions=False,
        )

    @api.model
    def _flush_search(self, domain, fields=None, order=None, seen=None):
        self.env["spp.attendance.list"].flush_model()
        self.invalidate_model()
        return super()._flush_search(domain, fields=fields, order=order, seen=seen)

    def _as_query(self, ordered=True):
        query = super()._as_query(ordered)
        ids = tuple(id_ for id_ in self._ids if isinstance(id_, int))
        if ids:
            self.env["spp.attendance.list"].flush_model()
            self.env.cr.execute(
                SQL(
                    "SELECT DISTINCT %s FROM spp_attendance_list WHERE id IN %s",
                    SQL(self._period_of_record),
                    ids,
                )
            )
            periods = tuple(row[0] for row in self.env.cr.fetchall())
            query.add_where(
                SQL(
                    "%s IN %s",
                    SQL.identifier(self._table, self._period_column),
                    periods,
                )
                if periods
                else SQL("FALSE")
            )
        return query

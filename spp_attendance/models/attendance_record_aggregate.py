from odoo import api, models
from odoo.tools import SQL


class AttendanceRecordAggregate(models.AbstractModel):
    """Shared behaviour of the report models that are SQL views aggregating the
    attendance records (daily summary, program reach).

    * The rows are computed from the records, so a search first writes the
      records' pending changes and forgets the rows read earlier in the
      transaction (the ORM does not know that the rows depend on the records).
    * A row's id is the smallest id of its records (an aggregate), so reading rows
      by id would aggregate the whole table: the ids' records give their periods
      (``_period_of_record``), and the read is restricted to those periods
      (``_period_column`` of the view), which the records' date index serves.
    """

    _name = "spp.attendance.record.aggregate"
    _description = "Aggregate of attendance records (SQL view)"

    #: the view's period column, and the same value computed on a record
    _period_column = "attendance_date"
    _period_of_record = "attendance_date"

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

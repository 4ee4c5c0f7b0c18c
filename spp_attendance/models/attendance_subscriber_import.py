from collections import defaultdict

from odoo import api, models
from odoo.tools import SQL

#: Odoo's own bulk-import context: no tracking values, creation message or
#: follower per record (a page's creation is logged by its import log).
BULK_CONTEXT = {
    "tracking_disable": True,
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "mail_notrack": True,
}


class AttendanceSubscriberImport(models.Model):
    """Subscribers created in bulk by the registry import.

    ``create()`` all the same (defaults, stored computed fields, constraints,
    company, creator and dates are the ORM's), with Odoo's bulk-import context
    and the computed values of the new contacts written in one statement.
    """

    _inherit = "spp.attendance.subscriber"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _import_create(self, vals_list):
        """Create subscribers (each with its own new contact) from a page."""
        # Pending writes of others go first, so that the batched flush below
        # only has the new records' values to write.
        self.env.flush_all()
        subscribers = self.with_context(**BULK_CONTEXT).create(vals_list)
        for records in (subscribers.partner_id, subscribers):
            records._recompute_recordset()
            flush_batched(records)
        return subscribers


def flush_batched(records):
    """Write the pending stored values of ``records`` in one ``UPDATE ... FROM
    (VALUES ...)`` per set of columns.

    The ORM's flush sends one ``UPDATE`` per distinct set of values: one per
    new contact, as its ``commercial_partner_id`` is itself (Odoo 18's flush
    batches them the same way). The values are the ones the ORM computed, in
    its cache, converted as its flush converts them; ``write_uid`` and
    ``write_date`` are set as ``_write()`` sets them. A field that other
    records have pending too, a translated or context-dependent field, and a
    model with a parent store are left to the ORM's flush.
    """
    model = records.browse()
    if not records or model._parent_store:
        return
    cache, ids = records.env.cache, set(records._ids)
    depends_context = records.pool.field_depends_context
    columns = {}
    for field in list(cache.get_dirty_fields()):
        if (
            field.model_name != model._name
            or field.translate
            or depends_context[field]
            or field.name in models.LOG_ACCESS_COLUMNS
        ):
            continue
        dirty = cache.get_dirty_records(model, field)
        if not dirty or not ids.issuperset(dirty._ids):
            continue
        columns[field] = dirty._ids
    if not columns:
        return
    # records grouped by the columns they have pending (usually all the same)
    by_columns = defaultdict(list)
    for record_id in records._ids:
        fields = tuple(f for f, dirty_ids in columns.items() if record_id in dirty_ids)
        if fields:
            by_columns[fields].append(record_id)
    for field in columns:
        cache.clear_dirty_field(field)
    cr = records.env.cr
    for fields, record_ids in by_columns.items():
        params = []
        for record_id in record_ids:
            record = model.browse(record_id)
            params.append(record_id)
            params.extend(
                field.convert_to_column(
                    field.convert_to_write(cache.get(record, field), record), record
                )
                for field in fields
            )
        assignments = [
            SQL(
                "%s = v.%s::%s",
                SQL.identifier(field.name),
                SQL.identifier(field.name),
                SQL(field.column_type[1]),
            )
            for field in fields
        ]
        if model._log_access:
            assignments += [
                SQL("write_uid = %s", records.env.uid),
                SQL("write_date = %s", cr.now()),
            ]
        row = "(%s)" % ", ".join(["%s"] * (len(fields) + 1))
        width = len(fields) + 1
        for start in range(0, len(record_ids), 1000):
            chunk = params[start * width : (start + 1000) * width]
            cr.execute(
                SQL(
                    "UPDATE %s AS t SET %s FROM (VALUES %s) AS v(id, %s) "
                    "WHERE t.id = v.id",
                    SQL.identifier(model._table),
                    SQL(", ").join(assignments),
                    SQL(", ".join([row] * (len(chunk) // width)), *chunk),
                    SQL(", ").join(SQL.identifier(field.name) for field in fields),
                )
            )

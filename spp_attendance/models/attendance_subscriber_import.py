import copy
import datetime
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

#: ``cr.cache`` key of the memo of :func:`page_defaults` and
#: :func:`shared_precomputes`, present while ``_import_create`` creates a page.
PAGE_MEMO = "spp_attendance.import_page_memo"


class AttendanceSubscriberImport(models.Model):
    """Subscribers created in bulk by the registry import.

    ``create()`` all the same (defaults, stored computed fields, constraints,
    company, creator and dates are the ORM's, every override of ``create()``
    runs), with Odoo's bulk-import context. While it creates a page, the
    functions below compute once, for the records that cannot differ, the
    defaults (:func:`page_defaults`, here and in ``res.partner``), the
    contacts' precomputed values (:func:`shared_precomputes`) and the related
    values that read one same value (:func:`share_related_values`), and write
    the new records' computed values in one statement (:func:`flush_batched`).
    """

    _inherit = "spp.attendance.subscriber"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _import_create(self, vals_list):
        """Create subscribers (each with its own new contact) from a page."""
        # Pending writes of others go first, so that the batched flush below
        # only has the new records' values to write.
        self.env.flush_all()
        cache = self.env.cr.cache
        cache[PAGE_MEMO] = {}
        try:
            subscribers = self.with_context(**BULK_CONTEXT).create(vals_list)
        finally:
            cache.pop(PAGE_MEMO, None)
        for records in (subscribers.partner_id, subscribers):
            share_related_values(records)
            records._recompute_recordset()
            flush_batched(records)
        return subscribers

    @api.model
    def _add_missing_default_values(self, values):
        return page_defaults(self, values, super()._add_missing_default_values)


def _is_mutable(value):
    return isinstance(value, list | dict | set)


def page_defaults(model, values, add_missing_default_values):
    """``model._add_missing_default_values(values)``, computed once per page
    for the records given the same fields.

    Outside a page (no memo in ``cr.cache``) it is the ORM's, untouched. In a
    page, the ORM's method runs for the first two records given a set of
    fields; when both got the same defaults (the values added for the fields
    they were not given), the next records given that set of fields get
    these defaults without asking again. Plain ``create()`` computes every
    record's defaults before inserting any, with the same environment and
    fields asked for: a default can only differ from one record to the next
    when it does not depend on the environment and the database alone (a
    clock, a sequence, a random draw). Such a default shows up as a
    difference between the first two records, or as a date: the set of
    fields then keeps the ORM's method for every record. A default that is a
    mutable value (an x2many's commands) is copied for each record.
    """
    memo = model.env.cr.cache.get(PAGE_MEMO)
    if memo is None or _has_properties(model, memo):
        return add_missing_default_values(values)
    key = ("defaults", model._name, id(model.env), frozenset(values))
    entry = memo.get(key)
    if entry is None or entry["state"] != "stable":
        result = add_missing_default_values(values)
        defaults = {name: value for name, value in result.items() if name not in values}
        if entry is None:
            # the environment is kept so that its id is not reused
            memo[key] = {
                "state": "sampled",
                "defaults": copy.deepcopy(defaults),
                "env": model.env,
            }
        elif entry["state"] == "sampled":
            stable = defaults == entry["defaults"] and not any(
                isinstance(value, datetime.date) for value in defaults.values()
            )
            entry["state"] = "stable" if stable else "plain"
            entry["mutable"] = [n for n, v in defaults.items() if _is_mutable(v)]
        return result
    result = dict(entry["defaults"])
    for name in entry["mutable"]:
        result[name] = copy.deepcopy(result[name])
    result.update(values)
    return result


def _has_properties(model, memo):
    """Whether ``model`` has a properties field (whose defaults the ORM adds
    per record after the others): then its defaults are always the ORM's."""
    key = ("properties", model._name)
    if key not in memo:
        memo[key] = any(f.type == "properties" for f in model._fields.values())
    return memo[key]


def _frozen(value):
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, set | frozenset):
        return frozenset(_frozen(v) for v in value)
    hash(value)  # TypeError when it cannot be compared as a key
    return value


def shared_precomputes(model, vals_list, add_precomputed_values):
    """``model._add_precomputed_values(vals_list)``, computed once per group
    of records that agree on every field the precomputed fields depend on.

    Outside a page it is the ORM's, untouched. The ORM computes a
    ``precompute`` field on a new record made of the record's values; its
    compute method depends on the fields it declares (``@api.depends``, the
    contract on which the ORM itself decides what to recompute), and the
    environment is the same for the whole page. Records given the same
    values for those fields (and the same set of fields) therefore get the
    same precomputed values: the ORM computes them for the first record of
    each group, and the others get a copy. A precomputed value that is a
    mutable value (x2many commands) is never shared: such a page keeps the
    ORM's method.
    """
    memo = model.env.cr.cache.get(PAGE_MEMO)
    precomputable = [f for f in model._fields.values() if f.precompute]
    if memo is None or len(vals_list) < 2 or not precomputable:
        return add_precomputed_values(vals_list)
    depends = model.pool.field_depends
    names = {f.name for f in precomputable}
    for field in precomputable:
        names.update(path.split(".")[0] for path in depends[field])
    groups = defaultdict(list)
    try:
        for vals in vals_list:
            signature = (
                frozenset(vals),
                tuple((n, _frozen(vals[n])) for n in sorted(names) if n in vals),
            )
            groups[signature].append(vals)
    except TypeError:
        return add_precomputed_values(vals_list)
    representatives = [group[0] for group in groups.values()]
    add_precomputed_values(representatives)
    for first, *others in groups.values():
        precomputed = first.get("__precomputed__")
        if not precomputed or not others:
            continue
        if any(_is_mutable(first[field.name]) for field in precomputed):
            add_precomputed_values(others)
            continue
        for vals in others:
            vals["__precomputed__"] = set(precomputed)
            for field in precomputed:
                vals[field.name] = first[field.name]


def share_related_values(records):
    """Compute the stored related fields of ``records`` that read a field of
    the record itself (``image_128`` is ``image_1920``), when that field has
    the same value on every record: one assignment for all of them instead
    of one per record.

    The ORM's ``_compute_related`` assigns each record
    ``_process_related(record[source])``; with one source value this is one
    value, assigned here as the ORM assigns it (under the same protection,
    the recomputation marks removed the same way, as superuser when the field
    is computed as superuser). A new contact's four ``image_*`` fields: 60 ms
    per page of 1,000 contacts, one per-record write each, for nothing (no
    image). A related field through another record, a relational one, one
    whose compute is not the ORM's ``_compute_related``, or records that do
    not share the source value are left to the ORM's recomputation.
    """
    if len(records) < 2:
        return
    env = records.env
    for field in records._fields.values():
        if not (
            field.store
            and isinstance(field.related, str)
            and "." not in field.related
            and not field.relational
            and field.compute == field._compute_related
        ):
            continue
        source = records._fields[field.related]
        todo = env.records_to_compute(field)
        if (
            source.translate
            or not set(records._ids) <= set(todo._ids)
            or env.records_to_compute(source)
        ):
            continue
        recs = records.sudo() if field.compute_sudo else records
        cached = list(env.cache.get_values(recs, source))
        if len(cached) != len(recs) or any(v != cached[0] for v in cached):
            continue
        value = field._process_related(recs[:1][source.name], recs.env)
        computed = records.pool.field_computed.get(field, [field])
        for f in computed:
            if f.store:
                env.remove_to_compute(f, recs)
        with recs.env.protecting(computed, recs):
            recs[field.name] = value


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
        columns[field] = set(dirty._ids)
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

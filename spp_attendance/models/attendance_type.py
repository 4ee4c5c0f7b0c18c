from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError, ValidationError


class AttendanceType(models.Model):
    """What kind of session a record is about (training, distribution...)."""

    _name = "spp.attendance.type"
    _description = "Attendance Type"
    _order = "name, id"

    name = fields.Char(required=True)
    description = fields.Char()
    active = fields.Boolean(default=True)

    #: What the API reads of a reference; kept per worker (:meth:`_api_browse`).
    _api_cached_fields = ("name", "description", "active")

    def init(self):
        # Case-insensitive uniqueness, guaranteed by the database even for
        # concurrent writers. The Python check in create/write gives the
        # friendly message first.
        self.env.cr.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS spp_attendance_type_name_ci_uniq "
            "ON spp_attendance_type (lower(name))"
        )

    @api.model_create_multi
    def create(self, vals_list):
        vals_list = [self._strip_name(vals) for vals in vals_list]
        self._check_unique_names([vals.get("name") for vals in vals_list])
        self.env.registry.clear_cache()  # _api_rows, on every worker
        return super().create(vals_list)

    def write(self, vals):
        vals = self._strip_name(vals)
        if vals.get("name"):
            self._check_unique_names([vals["name"]] * len(self), exclude=self)
        self.env.registry.clear_cache()
        return super().write(vals)

    def unlink(self):
        self.env.registry.clear_cache()
        return super().unlink()

    @api.model
    @tools.ormcache("self._name", "self.env.uid", "tuple(self.env.companies.ids)")
    def _api_rows(self):
        """``{id: values}`` of every record the user may read (archived ones
        included), in the order of ``_api_cached_fields``.

        Kept per worker: types and locations are few and rarely change, and every
        API request reads some. Any change to them, to record rules or to groups
        clears Odoo's registry cache, which every worker checks at the start of a
        request, so a change is seen at once everywhere.
        """
        rows = self.with_context(active_test=False).search_read(
            [], list(self._api_cached_fields)
        )
        return {
            row["id"]: tuple(row[fname] for fname in self._api_cached_fields)
            for row in rows
        }

    @api.model
    def _api_browse(self, ids):
        """The records among ``ids`` that exist and the user may read, with
        ``_api_cached_fields`` put in the record cache from :meth:`_api_rows`
        (no query once the worker has them)."""
        rows = self._api_rows()
        records = self.browse(id_ for id_ in dict.fromkeys(ids) if id_ in rows)
        for position, fname in enumerate(self._api_cached_fields):
            self.env.cache.update(
                records,
                self._fields[fname],
                [rows[id_][position] for id_ in records._ids],
            )
        return records

    @api.model
    def _strip_name(self, vals):
        if isinstance(vals.get("name"), str):
            vals = dict(vals, name=vals["name"].strip())
        return vals

    @api.model
    def _check_unique_names(self, names, exclude=None):
        """Refuse names already used (ignoring case, archived records included)."""
        names = [name for name in names if name]
        if not names:
            return
        seen = {}
        for name in names:
            if name.lower() in seen:
                raise ValidationError(
                    _(
                        "The %(model)s name '%(name)s' is given twice; names must "
                        "be unique (ignoring upper/lower case).",
                        model=self._description,
                        name=name,
                    )
                )
            seen[name.lower()] = name
        self.flush_model(["name"])
        query = "SELECT name FROM %s WHERE lower(name) IN %%s" % self._table
        params = [tuple(seen)]
        if exclude:
            query += " AND id NOT IN %s"
            params.append(tuple(exclude.ids))
        self.env.cr.execute(query, params)  # pylint: disable=sql-injection
        existing = self.env.cr.fetchone()
        if existing:
            raise ValidationError(
                _(
                    "A %(model)s named '%(existing)s' already exists (it may be "
                    "archived), so '%(name)s' cannot be used: names must be unique "
                    "(ignoring upper/lower case).",
                    model=self._description,
                    existing=existing[0],
                    name=seen[existing[0].lower()],
                )
            )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_in_use(self):
        self._check_not_in_use("attendance_type_id")

    def _check_not_in_use(self, fname):
        if not self:
            return
        groups = (
            self.env["spp.attendance.list"]
            .sudo()
            .with_context(active_test=False)
            ._read_group([(fname, "in", self.ids)], [fname], ["__count"])
        )
        if groups:
            lines = [
                _(
                    "'%(name)s' is used by %(count)s attendance records.",
                    name=record.name,
                    count=count,
                )
                for record, count in groups
            ]
            raise UserError(
                _(
                    "%(model)s records in use cannot be deleted; archive them "
                    "instead.\n%(details)s",
                    model=self._description,
                    details="\n".join(lines),
                )
            )

"""Small helpers shared by the services."""

from urllib.parse import urlparse

from odoo import _
from odoo.tools import SQL

from .exceptions import Invalid, UnknownReference


class Service:
    """A service works in the environment it is given (user, companies, language)."""

    def __init__(self, env):
        self.env = env


def at(path, message):
    """``message`` prefixed with the place of the value in the request."""
    return "%s: %s" % (path, message)


def names_sql(names):
    """``"a", "b", ...``: column names as SQL."""
    return SQL(", ").join(SQL.identifier(name) for name in names)


def column_arrays(model, names, rows):
    """One typed array per column ``names`` of ``rows`` (dicts), for ``unnest``:
    ``%s::int4[], %s::varchar[], ...`` with the model's column types, so that a
    batch is written by one statement whatever its size."""
    return SQL(", ").join(
        SQL(
            "%s::%s[]",
            [row.get(name) or None for row in rows],
            SQL(model._fields[name].column_type[1]),
        )
        for name in names
    )


def select_rows(model, domain, names, **search):
    """Tuples of the columns ``names`` of the records of ``model`` matching
    ``domain``, read by one SELECT built by ``_search`` (access rights and record
    rules applied; ``search``: its ``offset``, ``limit``, ``order``).

    For read-only answers and checks: building ORM records first would cost
    several times the query for a page of 1,000 records.
    """
    model.flush_model(names)
    query = model._search(domain, **search)
    model.env.cr.execute(
        query.select(*(SQL.identifier(model._table, name) for name in names))
    )
    return model.env.cr.fetchall()


def is_web_url(url):
    parsed = urlparse(url)
    return parsed.scheme.lower() in ("http", "https") and bool(parsed.netloc)


class ReferenceChecks(Service):
    """Messages of the checks every write applies to a card's references."""

    def __init__(self, env):
        super().__init__(env)
        self._tz_names = {}  # (location id, company id) -> timezone, see tz_name()

    def unknown_type(self, path, type_id):
        return UnknownReference(
            at(path, _("Attendance Type %(id)s does not exist.", id=type_id)),
            field=path,
            reason="unknown_type",
        )

    def unknown_location(self, path, location_id):
        return UnknownReference(
            at(path, _("Attendance Location %(id)s does not exist.", id=location_id)),
            field=path,
            reason="unknown_location",
        )

    def invalid_url(self, path):
        return Invalid(
            at(
                path,
                _("attendance_external_url must be an http or https address."),
            ),
            field=path,
            reason="invalid_url",
        )

    def listing(self, model):
        """The API's list of a reference model (types, locations): id, name and
        description of every active record visible in the environment."""
        return [
            {"id": r.id, "name": r.name, "description": r.description or False}
            for r in self.env[model].search([])
        ]

    def tz_name(self, location_id, company_id):
        """The timezone of records at this location and company (see the model's
        ``_resolve_tz``), resolved once per location and company for the whole
        batch, the location read from the worker's copy."""
        place = (location_id or False, company_id)
        if place not in self._tz_names:
            location = self.env["spp.attendance.location"]._api_browse(
                [location_id] if location_id else []
            )
            self._tz_names[place] = self.env["spp.attendance.list"]._resolve_tz(
                location or None, self.env["res.company"].browse(company_id)
            )
        return self._tz_names[place]

    def active_records(self, model, ids):
        """``{id: record}`` of the existing, active records among ``ids``."""
        records = self.env[model]._api_browse(ids)
        return {record.id: record for record in records if record.active}

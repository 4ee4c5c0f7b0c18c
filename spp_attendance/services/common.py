"""Small helpers shared by the services."""

from urllib.parse import urlparse

from odoo import _

from .exceptions import Invalid, UnknownReference


class Service:
    """A service works in the environment it is given (user, companies, language)."""

    def __init__(self, env):
        self.env = env


def at(path, message):
    """``message`` prefixed with the place of the value in the request."""
    return "%s: %s" % (path, message)


def is_web_url(url):
    parsed = urlparse(url)
    return parsed.scheme.lower() in ("http", "https") and bool(parsed.netloc)


class ReferenceChecks(Service):
    """Messages of the checks every write applies to a card's references."""

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

    def active_records(self, model, ids):
        """``{id: record}`` of the existing, active records among ``ids``."""
        records = self.env[model].browse(set(ids)).exists()
        return {record.id: record for record in records if record.active}

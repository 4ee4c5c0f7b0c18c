"""The page loop shared by the preview and the import (:class:`Pager`)."""

from .errors import DCIError

# Safety valve of the page loop: a registry that keeps sending new persons
# without ever reporting an end is stopped here.
MAX_PAGES = 100000


class Pager:
    """The page loop: follows the registry's pagination to its last page.

    The preview and the import (foreground, background, resumed) all drive
    one of these, so they ask for the same pages and stop at the same place.
    :meth:`advance` checks a page against what the registry said before and
    raises ``DCIError`` when its answers contradict each other: ending
    "done" then would import part of the registry without a word.

    The rules, with ``n`` the records of the page:

    * a page number other than the one asked for, or a non-empty page equal
      to the page before: the registry ignores ``page_number`` (error). One
      exception: a registry that reports no pagination at all and answers page
      2 with page 1 when page 1 was not exactly the size asked for sends its
      whole result every time (OpenSPP's own DCI server does): page 1 was all
      of it, and the run ends there;
    * **total known** (``total_count``, the latest one; a page without it
      keeps the last one): stop once the records received reach it (records
      as the registry counts them: ``Page.units``). A short
      page before that is the registry's own page cap, not the end: carry on.
      An empty page before it, more records than it, or a total that shrinks
      is a contradiction (error). A total that grows is followed;
    * **no total**: an empty page ends it; a page shorter than the page size
      the registry reported as its own (one that differs from ours) ends it;
      any other page, full or short, is followed by the next one. A short page
      with only our own page size to compare with is ambiguous (last page, or
      a cap the registry does not report?): asking once more costs one
      request, guessing wrong loses persons silently;
    * a page holding more records than the page size the registry reported
      is a contradiction (error);
    * when page 1 reports a page size below ours, the following pages are
      asked with the registry's size, so that page N means the same records
      whether the registry counts its offsets in our size or in its own.

    The state is a plain dict (:meth:`to_dict`), so that a background import
    can keep it between pages and a resumed one carries on where it failed.
    """

    _STATE = (
        "page_size",
        "number",
        "request_size",
        "registry_size",
        "total",
        "received",
        "pages",
        "fingerprint",
        "done",
    )

    def __init__(
        self,
        page_size,
        *,
        number=1,
        request_size=None,
        registry_size=None,
        total=None,
        received=0,
        pages=0,
        fingerprint=None,
        done=False,
        max_pages=MAX_PAGES,
    ):
        self.page_size = page_size  # configured
        self.number = number  # next page to ask for
        self.request_size = request_size or page_size  # page size asked for
        self.registry_size = registry_size  # the registry's own, if it said
        self.total = total  # latest total_count reported
        self.received = received
        self.pages = pages
        self.fingerprint = fingerprint
        self.done = done
        self.max_pages = max_pages

    def to_dict(self):
        return {key: getattr(self, key) for key in self._STATE}

    @classmethod
    def from_dict(cls, state, **kwargs):
        state = {key: state[key] for key in cls._STATE if key in (state or {})}
        return cls(**state, **kwargs)

    @property
    def page_count(self):
        """Pages of the whole run, when the total is known."""
        return page_count(self.total, self.registry_size or self.request_size)

    def advance(self, page):
        """Take page ``self.number``; return True when it is the last one.

        Raises ``DCIError`` (``pagination_*``) without changing the state.
        """
        if self.done:
            raise DCIError("config", "The import has already read its last page.")
        number, count = self.number, len(page.units)
        said = self._said(page)
        if page.page_number is not None and page.page_number != number:
            raise DCIError(
                "pagination_loop",
                f"Asked for page {number}, the registry answered page "
                f"{page.page_number} ({said}): it does not follow the requested "
                "page number, so persons would be skipped or read twice.",
            )
        if count and page.fingerprint == self.fingerprint:
            if self._answers_everything_at_once(page, number):
                # The whole result came on page 1 (OpenSPP's own DCI server does
                # not paginate); this repeat adds nothing and ends the run.
                page.records, page.units = [], []
                self.pages += 1
                self.number = number + 1
                self.done = True
                return True
            raise DCIError(
                "pagination_loop",
                f"Page {number} holds the same {count} record(s) as page "
                f"{number - 1} ({said}): the registry seems to ignore the "
                "requested page number.",
            )
        registry_size = self.registry_size
        if page.page_size is not None and page.page_size != self.request_size:
            registry_size = page.page_size  # its own size, not an echo of ours
        if page.page_size is not None and count > page.page_size:
            raise DCIError(
                "pagination_inconsistent",
                f"Page {number} holds {count} record(s), more than the page size "
                f"the registry reported ({said}).",
            )
        total = self.total
        if page.total_count is not None:
            if total is not None and page.total_count < total:
                raise DCIError(
                    "pagination_inconsistent",
                    f"The registry reported {total} persons in total, then "
                    f"{page.total_count} on page {number} ({said}): its result "
                    "changed during the run or its count is wrong.",
                )
            total = page.total_count
        received = self.received + count
        if total is not None:
            if received > total:
                raise DCIError(
                    "pagination_inconsistent",
                    f"The registry has sent {received} record(s) by page {number}, "
                    f"more than the {total} it reported in total ({said}).",
                )
            if not count and received < total:
                raise DCIError(
                    "pagination_inconsistent",
                    f"Page {number} is empty, but the registry reported {total} "
                    f"persons in total and sent {received} so far ({said}): "
                    "it stopped sending persons it says it has.",
                )
            last = received >= total
        else:
            last = not count or bool(registry_size and count < registry_size)
        if not last and number >= self.max_pages:
            raise DCIError(
                "pagination_limit",
                f"Stopped after {number} pages: the registry keeps sending persons "
                f"({received} so far) without reporting an end. Narrow the search "
                "query or raise the page size.",
            )
        if (
            number == 1
            and page.page_size is not None
            and page.page_size < self.request_size
        ):
            self.request_size = page.page_size
        self.registry_size = registry_size
        self.total = total
        self.received = received
        self.pages += 1
        self.fingerprint = page.fingerprint
        self.number = number + 1
        self.done = last
        return last

    def _answers_everything_at_once(self, page, number):
        """True when page 2 repeats page 1 from a registry that reports no
        pagination at all and did not fill page 1 to the size asked for (fewer
        records: all there are; more: it ignores the page size). Such a registry
        sends its whole result every time. A page 1 of exactly the size asked
        for may be a cap at that size: repeating it stays an error."""
        return (
            number == 2
            and self.total is None
            and self.registry_size is None
            and page.total_count is None
            and page.page_size is None
            and page.page_number is None
            and self.received != self.request_size
        )

    @staticmethod
    def _said(page):
        def show(value):
            return "none" if value is None else value

        return (
            f"its answer: {len(page.records)} record(s), page_number "
            f"{show(page.page_number)}, page_size {show(page.page_size)}, "
            f"total_count {show(page.total_count)}"
        )


def page_count(total_count, page_size):
    """Number of pages for ``total_count`` records (``None`` if unknown)."""
    if total_count is None:
        return None
    return max(1, -(-total_count // page_size))

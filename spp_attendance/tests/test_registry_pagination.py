"""Registry import: following the registry's pagination to its last page.

Registries that cap their pages below the size asked for, that report no
total, and that contradict themselves; the preview and the import (in the
request, in the background, resumed) must read the same pages and never end
"done" with part of the registry. Against the DCI emulator on 127.0.0.1.
"""

import copy

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .registry_common import LOG_MODEL, RegistryImportCase, example

MEMBERS_PATH = (
    "message.search_response[*].data.reg_records[*].member_list[*].demographic_info"
)


@tagged("post_install", "-at_install")
class TestRegistryPagination(RegistryImportCase):
    def asked(self):
        """(page_number, page_size) of every search request since the last
        call; each request must be schema-valid."""
        self.assert_requests_valid()
        asked = [
            (
                body["message"]["search_request"][0]["search_criteria"]["pagination"][
                    "page_number"
                ],
                body["message"]["search_request"][0]["search_criteria"]["pagination"][
                    "page_size"
                ],
            )
            for body in self.emulator.search_requests
        ]
        self.emulator.search_requests.clear()
        return asked

    def preview_and_import(self, background=False):
        """Preview, then import; both must read the same pages and agree."""
        wizard = self.preview()
        preview_asked = self.asked()
        if background:
            log = self.import_in_background(wizard)
        else:
            log = self.import_now(wizard)
        self.assertEqual(self.asked(), preview_asked, "the same pages")
        self.assertEqual(self.counts(log), self.counts(wizard))
        self.assertEqual(log.received_count, wizard.received_count)
        self.assertEqual(log.pages_done, wizard.pages_count)
        self.assertEqual(log.total_count, wizard.registry_total)
        self.assertEqual(log.registry_page_size, wizard.registry_page_size)
        return wizard, log, preview_asked

    def assert_complete(self, log, count):
        self.assertEqual(log.state, "done")
        self.assertEqual(log.progress, 100.0)
        self.assertFalse(log.error_message)
        self.assertEqual(log.created_count, count)
        self.assertEqual(len(self.registry_subscribers()), count)

    # -- a registry that caps its pages -----------------------------------------

    def test_capped_pages_followed_to_the_total(self):
        """The registry serves 40 per page when asked for 100 and says nothing
        about it (echoes page_size 100), but reports its total: every person."""
        self.emulator.population = 250
        self.emulator.page_cap = 40
        wizard, log, asked = self.preview_and_import()
        self.assertEqual(asked, [(n, 100) for n in range(1, 8)])
        self.assertEqual(
            (wizard.received_count, wizard.pages_count, wizard.registry_total),
            (250, 7, 250),
        )
        self.assertEqual(self.counts(wizard), (250, 0, 0, 0))
        self.assertFalse(wizard.registry_page_size)
        self.assert_complete(log, 250)
        self.assertEqual(log.registry_received_count, 250)
        self.assertEqual((log.pages_done, log.total_pages), (7, 7))

    def test_capped_pages_in_the_background(self):
        self.emulator.population = 250
        self.emulator.page_cap = 60
        wizard, log, asked = self.preview_and_import(background=True)
        self.assertTrue(log.background)
        self.assertEqual(len(asked), 5)  # 60 x 4 + 10
        self.assert_complete(log, 250)

    def test_reported_cap_is_used_for_the_following_pages(self):
        """The registry reports its own page size (40) on page 1; the next
        pages are asked with it, so page N means the same persons even for a
        registry that counts its offsets in the size asked for."""
        self.emulator.population = 250
        self.emulator.page_cap = 40
        self.emulator.report_page_size = "served"
        self.emulator.cap_offsets = "requested"
        wizard, log, asked = self.preview_and_import()
        self.assertEqual(asked, [(1, 100)] + [(n, 40) for n in range(2, 8)])
        self.assertEqual(wizard.registry_page_size, 40)
        self.assert_complete(log, 250)
        self.assertEqual((log.page_size, log.registry_page_size), (100, 40))
        self.assertEqual((log.pages_done, log.total_pages), (7, 7))
        identifiers = set(self.registry_subscribers().mapped("person_identifier"))
        self.assertEqual(identifiers, {f"UIN{i:08d}" for i in range(1, 251)})

    # -- a registry that reports no total ----------------------------------------

    def test_no_total_reads_until_an_empty_page(self):
        """No total_count: a short page may be the registry's cap, so the next
        page is asked for; the empty page ends the import."""
        self.emulator.population = 250
        self.emulator.report_total = None
        wizard, log, asked = self.preview_and_import()
        self.assertEqual(asked, [(n, 100) for n in (1, 2, 3, 4)])
        self.assertEqual(
            (wizard.received_count, wizard.pages_count, wizard.registry_total),
            (250, 4, 0),
        )
        self.assert_complete(log, 250)
        self.assertEqual((log.total_count, log.pages_done), (0, 4))

    def test_no_total_with_an_unreported_cap(self):
        """No total and a silent cap of 40: without the extra page, 40 persons
        would be imported as if they were all."""
        self.emulator.population = 250
        self.emulator.page_cap = 40
        self.emulator.report_total = "empty"  # "" as in the standard's samples
        wizard, log, asked = self.preview_and_import()
        self.assertEqual(len(asked), 8)  # 40 x 6, 10, then the empty page
        self.assertEqual(wizard.received_count, 250)
        self.assert_complete(log, 250)

    def test_no_total_with_a_reported_page_size(self):
        """No total, but the registry says its pages hold 40: a shorter page
        is its last one, no extra request."""
        self.emulator.population = 250
        self.emulator.page_cap = 40
        self.emulator.report_page_size = "served"
        self.emulator.report_total = None
        wizard, log, asked = self.preview_and_import()
        self.assertEqual(asked, [(1, 100)] + [(n, 40) for n in range(2, 8)])
        self.assert_complete(log, 250)
        # a multiple of its page size: the full last page is followed by an
        # empty one
        self.emulator.population = 280
        wizard, log, asked = self.preview_and_import()
        self.assertEqual(len(asked), 8)
        self.assertEqual(self.counts(log), (30, 0, 250, 0))

    def test_no_pagination_object_at_all(self):
        self.emulator.population = 200
        self.emulator.report_pagination = False
        wizard, log, asked = self.preview_and_import()
        self.assertEqual(asked, [(1, 100), (2, 100), (3, 100)])
        self.assert_complete(log, 200)

    def test_empty_registry(self):
        for report_total in ("count", None):
            with self.subTest(report_total=report_total):
                self.emulator.report_total = report_total
                wizard, log, asked = self.preview_and_import()
                self.assertEqual(asked, [(1, 100)])
                self.assertEqual(log.state, "done")
                self.assertEqual(self.counts(log), (0, 0, 0, 0))

    # -- a registry that contradicts itself -----------------------------------

    @mute_logger(LOG_MODEL)
    def assert_contradiction(self, code, *texts, created=0, page=1, background=False):
        """The preview refuses with the registry's answer; the import fails on
        the same page with the same reason and keeps the pages before it."""
        with self.assertRaises(UserError) as caught:
            self.preview()
        message = str(caught.exception.args[0])
        self.assertIn(f"failed on page {page}", message)
        for text in texts:
            self.assertIn(text, message)
        wizard = self.Wizard.create({"run_in_background": background})
        if background:
            log = self.import_in_background(wizard)
        else:
            log = self.import_now(wizard)
        self.assertEqual(log.state, "failed")
        self.assertTrue(log.date_end)
        self.assertEqual(log.error_code, code)
        self.assertTrue(log.error_message.startswith(f"Page {page}: "))
        for text in texts:
            self.assertIn(text, log.error_message)
        self.assertEqual((log.next_page, log.pages_done), (page, page - 1))
        self.assertEqual(log.created_count, created)
        self.assertEqual(len(self.registry_subscribers()), created)
        return log

    def test_empty_pages_before_the_total(self):
        self.emulator.population = 250
        self.emulator.empty_from_page = 3
        log = self.assert_contradiction(
            "pagination_inconsistent",
            "Page 3 is empty, but the registry reported 250 persons in total and "
            "sent 200 so far",
            "total_count 250",
            created=200,
            page=3,
        )
        self.assertEqual(log.progress, 80.0)

    def test_silent_cap_that_skips_persons(self):
        """Capped at 40, counting its offsets in the size asked for, and not
        saying so: persons 41-100 are never served; the total shows it."""
        self.emulator.population = 250
        self.emulator.page_cap = 40
        self.emulator.cap_offsets = "requested"
        self.assert_contradiction(
            "pagination_inconsistent",
            "Page 4 is empty, but the registry reported 250 persons in total and "
            "sent 120 so far",
            created=120,
            page=4,
            background=True,
        )

    def test_total_that_shrinks_then_resume(self):
        self.emulator.population = 250
        self.emulator.total_by_page = {2: 150}
        log = self.assert_contradiction(
            "pagination_inconsistent",
            "The registry reported 250 persons in total, then 150 on page 2",
            created=100,
            page=2,
        )
        # resumed while the registry still says so: fails again, same page
        with mute_logger(LOG_MODEL):
            log.action_resume()
        self.assertEqual((log.state, log.next_page), ("failed", 2))
        # the registry is consistent again: the run carries on from page 2
        self.emulator.total_by_page = {}
        log.action_resume()
        self.assert_complete(log, 250)
        self.assertEqual(log.pages_done, 3)

    def test_total_that_grows_is_followed(self):
        self.emulator.population = 250
        self.emulator.total_by_page = {1: 150}
        wizard, log, asked = self.preview_and_import()
        self.assertEqual(len(asked), 3)
        self.assert_complete(log, 250)

    def test_more_records_than_the_total(self):
        self.emulator.population = 250
        self.emulator.total_by_page = {1: 80}
        self.assert_contradiction(
            "pagination_inconsistent",
            "sent 100 record(s) by page 1, more than the 80 it reported in total",
        )

    def test_more_records_than_the_reported_page_size(self):
        self.emulator.population = 250
        self.emulator.report_page_size = 50
        self.assert_contradiction(
            "pagination_inconsistent",
            "Page 1 holds 100 record(s), more than the page size",
            "page_size 50",
        )

    def test_page_number_ignored(self):
        self.emulator.population = 250
        self.emulator.fault = "ignore_page"
        self.assert_contradiction(
            "pagination_loop",
            "Asked for page 2, the registry answered page 1",
            created=100,
            page=2,
        )

    def test_page_repeated(self):
        """The right page number, the records of page 1 again."""
        self.emulator.population = 250
        self.emulator.report_total = None
        self.emulator.fault = "repeat_page"
        self.assert_contradiction(
            "pagination_loop",
            "Page 2 holds the same 100 record(s) as page 1",
            created=100,
            page=2,
        )

    def assert_whole_result_on_page_1(self, population):
        """OpenSPP's own DCI server: every record on every page, no pagination.
        Page 2 repeats page 1, which was not of the size asked for (fewer
        records: all there are; more: the page size is ignored): page 1 was the
        whole result, and the import ends there, done, each person once."""
        self.emulator.population = population
        self.emulator.fault = "no_paging"
        wizard, log, asked = self.preview_and_import()
        self.assertEqual(asked, [(1, 100), (2, 100)])
        self.assertEqual(log.received_count, population)
        self.assert_complete(log, population)

    def test_registry_that_does_not_paginate_smaller_than_a_page(self):
        self.assert_whole_result_on_page_1(30)

    def test_registry_that_does_not_paginate_larger_than_a_page(self):
        self.assert_whole_result_on_page_1(250)

    def test_full_page_repeated_without_pagination(self):
        """The same registry with exactly the page size asked for: page 1 may be
        a cap at that size, so the repeat is a contradiction, not the end."""
        self.emulator.population = 100
        self.emulator.fault = "no_paging"
        self.assert_contradiction(
            "pagination_loop",
            "Page 2 holds the same 100 record(s) as page 1",
            created=100,
            page=2,
        )

    def test_standards_mock_answers_another_page(self):
        """DCI's own SR mock answers page 5 (1 of 24250 records) to page 1."""
        self.emulator.mode = "replay"
        self.emulator.replay_file = "spdci-sr-mockup/sr_sync_search_response.json"
        self.assert_contradiction(
            "pagination_loop",
            "Asked for page 1, the registry answered page 5",
            "page_size 2000, total_count 24250",
        )

    # -- what counts as a registry record ---------------------------------------

    def test_groups_count_as_one_record_each(self):
        """total_count counts the registry's records (here groups), not the
        persons the records path finds in them."""
        group = example(
            "spdci-compliance-spec/openapi-examples/social_reg_record_group.example.json"
        )
        groups = []
        for number in range(3):
            copied = copy.deepcopy(group)
            copied["group_identifier"] = f"{group['group_identifier']}-{number}"
            groups.append(copied)
        self.emulator.mode = "pool"
        self.emulator.pool = groups
        self.set_params(page_size=1)
        self.set_mapping("dci", records=MEMBERS_PATH)
        wizard, log, asked = self.preview_and_import()
        self.assertEqual(len(asked), 3)
        self.assertEqual((wizard.received_count, wizard.registry_total), (12, 3))
        # two members with an identifier, the same in every group
        self.assertEqual(self.counts(wizard), (2, 0, 4, 6))
        self.assertEqual(log.state, "done")
        self.assertEqual((log.received_count, log.registry_received_count), (12, 3))

"""The cloud sync: the pages of Get Devices v2.2 fetched through the outbox and written into the inventory.

Modules: pages (a page as a call kind of the outbox: starting a sync, each
page's answer, the safety net), schedule (the sync every interval), values (a
cloud device in the inventory's terms, and the decisions that takes), writer
(one page into the inventory and its timeline), runs (the CloudSync row's
life). The writing side (values, writer, runs) knows no outbox: the page call
hands it the answer in the transaction that records the call. Import the
writing side from here; `pages` and `schedule` by their module.
"""

from devices.cloudsync.runs import begin, end_early, fail, is_due, mark_missing, past_end, running, write
from devices.cloudsync.values import Listed, listed
from devices.cloudsync.writer import CLOUD_FIELDS, PageWrite, write_page

__all__ = [
    "CLOUD_FIELDS",
    "Listed",
    "PageWrite",
    "begin",
    "end_early",
    "fail",
    "is_due",
    "listed",
    "mark_missing",
    "past_end",
    "running",
    "write",
    "write_page",
]

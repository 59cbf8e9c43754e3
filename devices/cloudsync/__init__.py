"""The cloud sync's writing side: a page of Get Devices v2.2 into the inventory, and the sync's row.

No HTTP and no outbox here: the outbox fetches each page as one call within
the budget and hands the answer to `write` in the transaction that records
the call. Modules: values (a cloud device in the inventory's terms, and the
decisions that takes), writer (one page into the inventory and its
timeline), runs (the CloudSync row's life). Import from here.
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

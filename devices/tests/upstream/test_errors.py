"""Upstream errors survive the task queue's pickling with every attribute."""

from __future__ import annotations

import pickle

from devices.upstream import GearsNotFound, GearsRateLimited


def test_errors_keep_their_attributes_through_pickling():
    error = GearsRateLimited("HTTP 429 from the cloud", retry_after=12.0, upstream_msg="x")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is GearsRateLimited
    assert (str(copy), copy.retry_after, copy.permanent, copy.status, copy.upstream_msg) == (
        str(error), 12.0, False, 429, "x"
    )
    not_found = pickle.loads(pickle.dumps(GearsNotFound("HTTP 404 from the cloud: Device not found")))
    assert (not_found.permanent, not_found.status) == (True, 404)

"""The devices app's pages and fragments; urls.py routes to these names.

Layers, top to bottom (a module imports only from those below it):
devices, imports, actions, bulk, remediation, sync, upstream, audit, overview, notices, timeline, tokens, health (the views);
panels, selection, table_rows, csv_response, htmx (what the views share).
"""

from devices.views.actions import action_cancel, action_create, action_retry, device_history, exemption
from devices.views.audit import audit_export, audit_log
from devices.views.bulk import bulk_action, bulk_cancel, bulk_detail, bulk_list
from devices.views.devices import (
    device_bulk_delete,
    device_create,
    device_delete,
    device_detail,
    device_edit,
    device_export,
    device_list,
)
from devices.views.health import healthz
from devices.views.imports import import_preview, import_upload
from devices.views.notices import notice_feed
from devices.views.overview import overview
from devices.views.remediation import (
    remediation_card,
    remediation_email,
    remediation_export,
    remediation_panel,
    remediation_refresh,
)
from devices.views.sync import sync_page, sync_start
from devices.views.timeline import timeline_page
from devices.views.tokens import token_list, token_revoke
from devices.views.upstream import upstream_check, upstream_page, upstream_resume

__all__ = [
    "action_cancel", "action_create", "action_retry", "device_history", "exemption",
    "audit_export", "audit_log",
    "bulk_action", "bulk_cancel", "bulk_detail", "bulk_list",
    "device_bulk_delete", "device_create", "device_delete", "device_detail", "device_edit", "device_export",
    "device_list",
    "healthz",
    "import_preview", "import_upload",
    "notice_feed", "overview",
    "remediation_card", "remediation_email", "remediation_export", "remediation_panel", "remediation_refresh",
    "sync_page", "sync_start",
    "timeline_page",
    "token_list", "token_revoke",
    "upstream_check", "upstream_page", "upstream_resume",
]

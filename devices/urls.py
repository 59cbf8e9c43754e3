from django.urls import path

from devices import views

app_name = "devices"

urlpatterns = [
    path("", views.device_list, name="device-list"),
    path("export.csv", views.device_export, name="device-export"),
    path("new/", views.device_create, name="device-create"),
    path("bulk/delete/", views.device_bulk_delete, name="device-bulk-delete"),
    path("<int:pk>/", views.device_detail, name="device-detail"),
    path("<int:pk>/edit/", views.device_edit, name="device-edit"),
    path("<int:pk>/delete/", views.device_delete, name="device-delete"),
    path("<int:pk>/timeline/", views.timeline_page, name="device-timeline"),
    path("import/", views.import_upload, name="import-upload"),
    path("import/<uuid:pk>/", views.import_preview, name="import-preview"),
    path("<int:pk>/actions/", views.action_create, name="action-create"),
    path("<int:pk>/history/", views.device_history, name="device-history"),
    path("actions/<int:pk>/cancel/", views.action_cancel, name="action-cancel"),
    path("actions/<int:pk>/retry/", views.action_retry, name="action-retry"),
    path("<int:pk>/exemption/", views.exemption, name="exemption"),
    path("bulk/actions/", views.bulk_action, name="bulk-action"),
    path("bulk/", views.bulk_list, name="bulk-list"),
    path("bulk/<int:pk>/", views.bulk_detail, name="bulk-detail"),
    path("bulk/<int:pk>/cancel/", views.bulk_cancel, name="bulk-cancel"),
    path("<int:pk>/remediation/", views.remediation_panel, name="remediation-panel"),
    path("<int:pk>/remediation/refresh/", views.remediation_refresh, name="remediation-refresh"),
    path("<int:pk>/remediation/email/", views.remediation_email, name="remediation-email"),
    path("<int:pk>/remediation/card/", views.remediation_card, name="remediation-card"),
    path("remediation.csv", views.remediation_export, name="remediation-export"),
    path("upstream/", views.upstream_page, name="upstream"),
    path("upstream/resume/", views.upstream_resume, name="upstream-resume"),
    path("upstream/check/", views.upstream_check, name="upstream-check"),
    path("sync/", views.sync_page, name="sync"),
    path("sync/start/", views.sync_start, name="sync-start"),
    path("audit/", views.audit_log, name="audit-log"),
    path("audit/export.csv", views.audit_export, name="audit-export"),
    path("notices/", views.notice_feed, name="notices"),
    path("tokens/", views.token_list, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
]

from django.urls import path

from devices import action_views, remediation_views, views

app_name = "devices"

urlpatterns = [
    path("", views.device_list, name="device-list"),
    path("export.csv", views.device_export, name="device-export"),
    path("new/", views.device_create, name="device-create"),
    path("bulk/delete/", views.device_bulk_delete, name="device-bulk-delete"),
    path("<int:pk>/", views.device_detail, name="device-detail"),
    path("<int:pk>/edit/", views.device_edit, name="device-edit"),
    path("<int:pk>/delete/", views.device_delete, name="device-delete"),
    path("import/", views.import_upload, name="import-upload"),
    path("import/<uuid:pk>/", views.import_preview, name="import-preview"),
    path("<int:pk>/actions/", action_views.action_create, name="action-create"),
    path("actions/<int:pk>/", action_views.action_row, name="action-row"),
    path("actions/<int:pk>/cancel/", action_views.action_cancel, name="action-cancel"),
    path("actions/<int:pk>/retry/", action_views.action_retry, name="action-retry"),
    path("bulk/actions/", action_views.bulk_action, name="bulk-action"),
    path("bulk/", action_views.bulk_list, name="bulk-list"),
    path("bulk/<int:pk>/", action_views.bulk_detail, name="bulk-detail"),
    path("bulk/<int:pk>/cancel/", action_views.bulk_cancel, name="bulk-cancel"),
    path("<int:pk>/remediation/", remediation_views.remediation_panel, name="remediation-panel"),
    path("<int:pk>/remediation/refresh/", remediation_views.remediation_refresh, name="remediation-refresh"),
    path("<int:pk>/remediation/email/", remediation_views.remediation_email, name="remediation-email"),
    path("<int:pk>/remediation/card/", remediation_views.remediation_card, name="remediation-card"),
    path("remediation.csv", remediation_views.remediation_export, name="remediation-export"),
    path("upstream/", action_views.upstream, name="upstream"),
    path("upstream/resume/", action_views.upstream_resume, name="upstream-resume"),
    path("audit/", action_views.audit_log, name="audit-log"),
    path("audit/export.csv", action_views.audit_export, name="audit-export"),
]

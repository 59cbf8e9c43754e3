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
    path("import/", views.import_upload, name="import-upload"),
    path("import/<uuid:pk>/", views.import_preview, name="import-preview"),
]

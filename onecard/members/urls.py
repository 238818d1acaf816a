from django.urls import path

from . import field_views, import_views, transfer_views, views

app_name = "members"
urlpatterns = [
    path("", views.member_list, name="list"),
    path("export/", views.member_export, name="export"),
    path("new/", views.member_create, name="create"),
    path("transfer/", transfer_views.member_transfer, name="transfer"),
    path("merge/", transfer_views.member_merge, name="merge"),
    path("tags/", field_views.tag_list, name="tags"),
    path("fields/", field_views.custom_field_list, name="fields"),
    path("<int:pk>/", views.member_detail, name="detail"),
    path("<int:pk>/edit/", views.member_edit, name="edit"),
    path("<int:pk>/access/", views.member_access_log, name="access_log"),
    path("<int:pk>/reveal/<str:field>/", views.member_reveal, name="reveal"),
    path("<int:pk>/consent/", views.member_consent, name="consent"),
    path("<int:pk>/contacts/new/", views.contact_create, name="contact_create"),
    path("<int:pk>/contacts/<int:contact_pk>/edit/", views.contact_edit, name="contact_edit"),
    path("<int:pk>/contacts/<int:contact_pk>/delete/", views.contact_delete, name="contact_delete"),
    path("import/", import_views.import_start, name="import"),
    path("import/<int:pk>/", import_views.import_detail, name="import_detail"),
    path("import/<int:pk>/progress/", import_views.import_progress, name="import_progress"),
    path("import/<int:pk>/errors.xlsx", import_views.import_error_report, name="import_errors"),
    path("import/template.xlsx", import_views.import_template, name="import_template"),
]

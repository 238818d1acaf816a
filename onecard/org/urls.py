from django.urls import path

from . import views

app_name = "org"
urlpatterns = [
    path("", views.org_tree, name="tree"),
    path("nodes/new/", views.node_create, name="node_create"),
    path("nodes/<int:pk>/edit/", views.node_edit, name="node_edit"),
    path("staff/", views.staff_list, name="staff_list"),
    path("staff/new/", views.staff_create, name="staff_create"),
    path("staff/<int:pk>/", views.staff_edit, name="staff_edit"),
    path("staff/<int:pk>/password/", views.staff_password, name="staff_password"),
    path("staff/<int:pk>/sessions/end/", views.staff_sessions_end, name="staff_sessions_end"),
    path(
        "staff/<int:pk>/reset-second-factor/",
        views.staff_reset_second_factor,
        name="staff_reset_second_factor",
    ),
    path("staff/<int:pk>/unlock/", views.staff_unlock, name="staff_unlock"),
    path("staff/<int:pk>/till-pin/clear/", views.staff_till_pin_clear, name="staff_till_pin_clear"),
    path("staff/<int:pk>/staff-card/", views.staff_card, name="staff_card"),
    path("roles/", views.role_list, name="role_list"),
    path("roles/new/", views.role_create, name="role_create"),
    path("roles/<int:pk>/", views.role_edit, name="role_edit"),
    path("roles/<int:pk>/delete/", views.role_delete, name="role_delete"),
]

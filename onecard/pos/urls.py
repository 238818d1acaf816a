from django.urls import path

from onecard.pos import shift_views, views

app_name = "pos"
urlpatterns = [
    path("terminals/", views.terminal_list, name="terminal_list"),
    path("terminals/new/", views.terminal_create, name="terminal_create"),
    path("terminals/<int:pk>/", views.terminal_detail, name="terminal_detail"),
    path("terminals/<int:pk>/rotate/", views.terminal_rotate, name="terminal_rotate"),
    path("terminals/<int:pk>/deactivate/", views.terminal_deactivate, name="terminal_deactivate"),
    path("shifts/", shift_views.shift_list, name="shift_list"),
    path("shifts/current/", shift_views.current, name="shift_current"),
    path("shifts/open/", shift_views.open_shift, name="shift_open"),
    path("shifts/day/", shift_views.day_report, name="shift_day"),
    path("shifts/<int:pk>/", shift_views.detail, name="shift_detail"),
    path("shifts/<int:pk>/cash/", shift_views.cash_movement, name="shift_cash"),
    path("shifts/<int:pk>/close/", shift_views.close, name="shift_close"),
]

from django.urls import path

from onecard.pos import views

app_name = "pos"
urlpatterns = [
    path("terminals/", views.terminal_list, name="terminal_list"),
    path("terminals/new/", views.terminal_create, name="terminal_create"),
    path("terminals/<int:pk>/", views.terminal_detail, name="terminal_detail"),
    path("terminals/<int:pk>/rotate/", views.terminal_rotate, name="terminal_rotate"),
    path("terminals/<int:pk>/deactivate/", views.terminal_deactivate, name="terminal_deactivate"),
]

"""Settlement statements between stores and between merchants (L6), under /settlement/."""

from django.urls import path

from onecard.loyalty.settlement import views

app_name = "settlement"
urlpatterns = [
    path("", views.statement_list, name="list"),
    path("generate/", views.generate, name="generate"),
    path("<int:pk>/", views.statement_detail, name="detail"),
    path("<int:pk>/settle/", views.settle, name="settle"),
    path("<int:pk>/export/", views.statement_export, name="export"),
]

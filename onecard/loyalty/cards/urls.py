"""Card management pages under /cards/: products, tiers, rules, batches, cards (namespace "cards")."""

from django.urls import path, re_path

from onecard.loyalty.cards import manage_views as views
from onecard.loyalty.cards import views as card_views

app_name = "cards"
urlpatterns = [
    path("", card_views.card_list, name="list"),
    path("products/", views.product_list, name="products"),
    path("products/new/", views.product_form, name="product_create"),
    path("products/<int:pk>/", views.product_form, name="product_edit"),
    path("tiers/", views.tier_list, name="tiers"),
    path("tiers/new/", views.tier_form, name="tier_create"),
    path("tiers/<int:pk>/", views.tier_form, name="tier_edit"),
    path("rules/", views.rule_list, name="rules"),
    path("rules/bonus/new/", views.bonus_rule_create, name="bonus_rule_create"),
    path("rules/bonus/<int:pk>/active/", views.bonus_rule_toggle, name="bonus_rule_toggle"),
    path("rules/rebates/new/", views.rebate_rule_form, name="rebate_rule_create"),
    path("rules/rebates/<int:pk>/", views.rebate_rule_form, name="rebate_rule_edit"),
    path("rules/rebates/<int:pk>/active/", views.rebate_rule_toggle, name="rebate_rule_toggle"),
    path("rules/points/new/", views.earn_rule_form, name="earn_rule_create"),
    path("rules/points/<int:pk>/", views.earn_rule_form, name="earn_rule_edit"),
    path("rules/points/<int:pk>/active/", views.earn_rule_toggle, name="earn_rule_toggle"),
    path("rules/policy/", views.points_policy, name="points_policy"),
    path("batches/", views.batch_list, name="batches"),
    path("batches/<int:pk>/sheet/", views.batch_sheet, name="batch_sheet"),
    # Card numbers are digits only, so they never collide with the words above.
    re_path(r"^(?P<number>\d{2,24})/$", card_views.card_detail, name="card"),
    re_path(r"^(?P<number>\d{2,24})/(?P<action>[a-z_]+)/$", card_views.card_action, name="card_action"),
]

"""Card management pages under /cards/ (namespace "cards"): products, tiers, rules, batches, cards.

The pages live with their sub-domain (cards, tiers, points, stored_value); the URLs stay together
because they share the /cards/ prefix, the namespace and the tabs.
"""

from django.urls import path, re_path

from onecard.loyalty.cards import views
from onecard.loyalty.points import views as points_views
from onecard.loyalty.stored_value import views as rule_views
from onecard.loyalty.tiers import views as tier_views

app_name = "cards"
urlpatterns = [
    path("", views.card_list, name="list"),
    path("products/", views.product_list, name="products"),
    path("products/new/", views.product_form, name="product_create"),
    path("products/<int:pk>/", views.product_form, name="product_edit"),
    path("tiers/", tier_views.tier_list, name="tiers"),
    path("tiers/new/", tier_views.tier_form, name="tier_create"),
    path("tiers/<int:pk>/", tier_views.tier_form, name="tier_edit"),
    path("rules/", rule_views.rule_list, name="rules"),
    path("rules/bonus/new/", rule_views.bonus_rule_create, name="bonus_rule_create"),
    path("rules/bonus/<int:pk>/active/", rule_views.bonus_rule_toggle, name="bonus_rule_toggle"),
    path("rules/rebates/new/", rule_views.rebate_rule_form, name="rebate_rule_create"),
    path("rules/rebates/<int:pk>/", rule_views.rebate_rule_form, name="rebate_rule_edit"),
    path("rules/rebates/<int:pk>/active/", rule_views.rebate_rule_toggle, name="rebate_rule_toggle"),
    path("rules/points/new/", points_views.earn_rule_form, name="earn_rule_create"),
    path("rules/points/<int:pk>/", points_views.earn_rule_form, name="earn_rule_edit"),
    path("rules/points/<int:pk>/active/", points_views.earn_rule_toggle, name="earn_rule_toggle"),
    path("rules/policy/", points_views.points_policy, name="points_policy"),
    path("batches/", views.batch_list, name="batches"),
    path("batches/<int:pk>/sheet/", views.batch_sheet, name="batch_sheet"),
    # Card numbers are digits only, so they never collide with the words above.
    re_path(r"^(?P<number>\d{2,24})/$", views.card_detail, name="card"),
    re_path(r"^(?P<number>\d{2,24})/(?P<action>[a-z_]+)/$", views.card_action, name="card_action"),
]

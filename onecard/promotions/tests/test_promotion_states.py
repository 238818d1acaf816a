"""The promotion list says whether a promotion is active, not started yet, past its end or stopped."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from onecard.testing.promotions import make_promotion

pytestmark = pytest.mark.django_db


def _state(html, promotion):
    start = html.index(f'data-promotion="{promotion.pk}"')
    cell = html.index("data-state=", start)
    return html[cell + len('data-state="') : html.index('"', cell + len('data-state="'))]


def test_a_promotion_past_its_end_shows_ended_and_offers_no_stop(chain, login):
    # given
    now = timezone.now()
    day = datetime.timedelta(days=1)
    ended = make_promotion(chain, name="过期", valid_from=now - 10 * day, valid_to=now - day)
    running = make_promotion(chain, name="进行中", valid_from=now - day, valid_to=now + day)
    later = make_promotion(chain, name="下月", valid_from=now + day, valid_to=now + 10 * day)
    # when
    html = login(chain.hq_admin).get(reverse("promotions:list")).content.decode()
    # then
    assert (_state(html, ended), _state(html, running), _state(html, later)) == (
        "ended",
        "active",
        "scheduled",
    )
    assert "已结束" in html and "未开始" in html
    assert reverse("promotions:deactivate", args=[ended.pk]) not in html
    assert reverse("promotions:deactivate", args=[running.pk]) in html

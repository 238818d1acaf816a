"""The promotions in force are cached per merchant, and a change made anywhere counts at the next read."""

import datetime

from django.utils import timezone

from onecard.promotions import rules
from onecard.promotions.models import Promotion
from onecard.testing.promotions import AT, make_promotion


def _names(chain, at=AT, store=None):
    return sorted(p.name for p in rules.active_promotions(chain.merchant, store or chain.a1, at))


def test_the_second_read_is_one_small_query(chain, django_assert_num_queries):
    # given two promotions read once
    make_promotion(chain, name="九折", params={"rate": "0.9"})
    make_promotion(chain, node=chain.east, name="华东八五折", params={"rate": "0.85"})
    assert _names(chain) == ["九折", "华东八五折"]
    # when reading again, for another store too; then only the change check runs, and the rows carry their Rule
    with django_assert_num_queries(1):
        rows = rules.active_promotions(chain.merchant, chain.a1, AT)
    with django_assert_num_queries(1):
        assert _names(chain, store=chain.b1) == ["九折"]
    assert [row.pricing_rule.params for row in rows] == [{"rate": "0.9"}, {"rate": "0.85"}]


def test_changes_made_without_this_process_knowing_count_at_once(chain):
    # given a cached promotion
    first = make_promotion(chain, name="九折")
    assert _names(chain) == ["九折"]
    # when another process creates one (no signal reaches this process's cache)
    copy = {field: getattr(first, field) for field in rules.FIELDS if field != "name"}
    Promotion.objects.bulk_create([Promotion(**copy, merchant=chain.merchant, node=chain.hq, name="满减")])
    # then the next read sees it
    assert _names(chain) == ["九折", "满减"]
    # when another process changes it (its updated_at moves) or stops one
    Promotion.objects.filter(name="满减").update(name="满200减30", updated_at=timezone.now())
    assert _names(chain) == ["九折", "满200减30"]
    Promotion.objects.filter(pk=first.pk).update(active=False)
    # then the next read sees that too
    assert _names(chain) == ["满200减30"]


def test_saving_through_the_service_clears_the_cache_at_once(chain):
    promotion = make_promotion(chain, name="九折")
    assert _names(chain) == ["九折"]
    rules.update_promotion(chain.hq_admin, promotion, {"name": "八折", "params": {"rate": "0.8"}})
    assert rules._cache == {}
    assert [p.pricing_rule.params for p in rules.active_promotions(chain.merchant, chain.a1, AT)] == [
        {"rate": "0.8"}
    ]


def test_a_read_for_an_earlier_moment_is_not_answered_from_a_later_cache(chain):
    # given one promotion that ended an hour after AT and one still running, cached for "now"
    make_promotion(chain, name="短期", valid_to=AT + datetime.timedelta(hours=1))
    make_promotion(chain, name="长期", valid_to=timezone.now() + datetime.timedelta(days=30))
    assert _names(chain, at=timezone.now()) == ["长期"]
    # when reading at AT (a demo's moved clock, a re-print); then the ended one was in force then
    assert _names(chain, at=AT) == ["短期", "长期"]
    # and now is still answered as before
    assert _names(chain, at=timezone.now()) == ["长期"]


def test_the_cache_lasts_a_few_seconds(chain, monkeypatch, django_assert_num_queries):
    make_promotion(chain, name="九折")
    _names(chain)
    # when the clock passes CACHE_SECONDS; then the rows are read again
    later = rules.time.monotonic() + rules.CACHE_SECONDS + 1
    monkeypatch.setattr(rules.time, "monotonic", lambda: later)
    with django_assert_num_queries(1):
        assert _names(chain) == ["九折"]
    assert rules._cache[chain.merchant.pk][0] == later + rules.CACHE_SECONDS

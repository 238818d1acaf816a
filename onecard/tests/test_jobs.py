"""The scheduled jobs: each does its work once, a second run changes nothing, failures are reported, the schedule."""

import datetime
import io

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from onecard import jobs
from onecard.core.audit_chain import verify_audit_log
from onecard.core.clock import moved_now
from onecard.core.models import AuditEntry, IdempotencyKey
from onecard.loyalty.cards.choices import CardStatus, TierMetric
from onecard.loyalty.cards.services import activate
from onecard.loyalty.models import Card, MemberTier, PointsLot, UsedQrCode
from onecard.loyalty.models.stored_value import CardTransaction, CardTxStatus
from onecard.loyalty.points import services as points
from onecard.loyalty.stored_value import holds
from onecard.loyalty.stored_value import services as stored_value
from onecard.loyalty.tiers import services as tiers
from onecard.pos import services as pos_services
from onecard.pos.models import UsedNonce
from onecard.testing.cards import make_product, stock
from onecard.testing.points import points_cards, rule
from onecard.testing.stored_value import assert_ledger_clean, balances, sv_card

NOW = datetime.datetime(2026, 11, 25, 19, 0, tzinfo=datetime.UTC)  # 03:00 on 26 November in Shanghai


@pytest.fixture
def due(chain, member_factory):
    """One thing due for every job at NOW, and one like it that is not due yet."""
    member = member_factory()
    card = sv_card(chain, member)
    with moved_now(NOW - datetime.timedelta(hours=2)):
        stored_value.topup(None, card, 10_000, store=chain.a1)
        expired_hold = holds.hold(None, card, 3_000, store=chain.a1)  # expires 30 minutes later
    with moved_now(NOW - datetime.timedelta(minutes=10)):
        open_hold = holds.hold(None, card, 2_000, store=chain.a1)
    rule(chain, "1")
    (points_card,), _spare = points_cards(chain, [member_factory()])
    with moved_now(NOW - datetime.timedelta(days=400)):
        points.earn_for_spend(None, points_card, 12_300, store=chain.a1)  # 365-day lots: expired
    with moved_now(NOW - datetime.timedelta(days=30)):
        points.earn_for_spend(None, points_card, 4_500, store=chain.a1)
    gift = make_product(chain, name="礼品卡", registered=False, validity_days=1096)
    old_gift, new_gift = stock(gift, chain.a1, count=2, prefix="7700")
    with moved_now(NOW - datetime.timedelta(days=1100)):
        activate(None, old_gift)
    activate(None, new_gift)
    entry = tiers.create_tier(None, chain.merchant, name="普通", rank=0)
    tiers.create_tier(None, chain.merchant, name="金卡", rank=1, rules=[(TierMetric.SPEND, 5_000, 365)])
    UsedQrCode.objects.create(card=card, step=1, used_at=NOW - datetime.timedelta(minutes=11))
    UsedQrCode.objects.create(card=card, step=2, used_at=NOW - datetime.timedelta(minutes=9))
    terminal = pos_services.register_terminal(None, store=chain.a1, name="Till").terminal
    UsedNonce.objects.create(
        terminal=terminal, nonce="old-nonce", created_at=NOW - datetime.timedelta(minutes=16)
    )
    UsedNonce.objects.create(
        terminal=terminal, nonce="new-nonce", created_at=NOW - datetime.timedelta(minutes=14)
    )
    for key, age in (("old", datetime.timedelta(days=7, seconds=1)), ("new", datetime.timedelta(days=6))):
        IdempotencyKey.objects.create(
            scope="t", key=key, request_hash="0" * 64, body="{}", created_at=NOW - age
        )
    return {"card": card, "expired_hold": expired_hold, "open_hold": open_hold, "points_card": points_card,
            "old_gift": old_gift, "new_gift": new_gift, "entry": entry}  # fmt: skip


def changes(results):
    return {r.name: r.changed for r in results}


def test_every_job_does_its_work_once_and_a_second_run_changes_nothing(chain, due):
    # when
    with moved_now(NOW):
        first = jobs.run_jobs(NOW)
        second = jobs.run_jobs(NOW)
    # then
    assert all(r.ok for r in first + second), [r.error for r in first + second]
    # the audit records the fixtures wrote (a test's transaction never commits, so none was sealed)
    assert changes(first).pop("seal_audit_log") == AuditEntry.objects.count() > 0
    assert verify_audit_log(now=NOW).ok
    assert {name: n for name, n in changes(first).items() if name != "seal_audit_log"} == {
        "expire_holds": 1,
        "expire_points": 1,
        "expire_cards": 1,
        "evaluate_tiers": 2,  # both members of acme get the entry tier; the other merchant has no tiers
        "purge_qr_codes": 1,
        "purge_nonces": 1,
        "purge_idempotency": 1,
        "purge_sessions": 0,  # org/tests/test_sessions.py covers it
        "expire_packages": 0,  # covered by the test below
        "build_daily_statements": 0,
        "build_monthly_statements": 0,
        "issue_birthday_coupons": 0,  # promotions/tests/test_coupons.py covers these two
        "expire_coupons": 0,
        "score_members": 2,  # acme's two members become prospects (analytics/tests/test_scoring.py covers it)
        "roll_up_dashboards": 0,  # analytics/tests/test_dashboard_rollup.py covers it
        "fit_lifetime_value": 0,  # no merchant has 20 repeat buyers (analytics/tests/test_clv.py covers fits)
    }
    assert set(changes(second).values()) == {0}
    assert CardTransaction.objects.get(pk=due["expired_hold"].pk).status == CardTxStatus.EXPIRED
    assert CardTransaction.objects.get(pk=due["open_hold"].pk).status == CardTxStatus.OPEN
    assert balances(due["card"]) == (8_000, 0, 2_000)
    assert list(
        PointsLot.objects.filter(card=due["points_card"]).order_by("id").values_list("remaining", flat=True)
    ) == [0, 45]
    assert Card.objects.get(pk=due["old_gift"].pk).status == CardStatus.EXPIRED
    assert Card.objects.get(pk=due["new_gift"].pk).status == CardStatus.ACTIVE
    assert set(MemberTier.objects.values_list("tier", flat=True)) == {due["entry"].pk}
    assert list(UsedQrCode.objects.values_list("step", flat=True)) == [2]
    assert list(UsedNonce.objects.values_list("nonce", flat=True)) == ["new-nonce"]
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    assert next(r for r in first if r.name == "expire_points").detail == "123 points on 1 cards"
    assert_ledger_clean()


def test_a_failing_job_is_reported_and_the_others_still_run(chain, monkeypatch):
    def broken(now):
        raise RuntimeError("disk full")

    monkeypatch.setitem(jobs.JOBS, "purge_nonces", broken)
    # when
    results = jobs.run_jobs(NOW)
    # then
    failed = [r for r in results if not r.ok]
    assert [(r.name, r.error) for r in failed] == [("purge_nonces", "RuntimeError: disk full")]
    assert len(results) == len(jobs.JOBS)
    with pytest.raises(CommandError) as refused:
        call_command("jobs", "run", stdout=io.StringIO())
    assert refused.value.returncode == 1


def test_only_runs_the_named_jobs_and_unknown_names_are_refused(db):
    results = jobs.run_jobs(NOW, only=["purge_qr_codes", "expire_holds"])
    assert [r.name for r in results] == ["expire_holds", "purge_qr_codes"]
    assert jobs.run_jobs(NOW, only=[]) == []
    with pytest.raises(jobs.UnknownJob):
        jobs.run_jobs(NOW, only=["nope"])


def test_the_command_prints_a_table_and_lists_the_schedule(db):
    out = io.StringIO()
    call_command("jobs", "run", "--only", "purge_qr_codes", "expire_cards", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["job", "changed", "seconds", "detail"]
    assert [line.split()[:2] for line in lines[1:]] == [["expire_cards", "0"], ["purge_qr_codes", "0"]]
    out = io.StringIO()
    call_command("jobs", "run", "--list", stdout=out)
    listed = {line.split()[0]: line for line in out.getvalue().splitlines()}
    assert set(listed) == set(jobs.JOBS)
    assert "every minute" in listed["expire_holds"]
    assert "daily at 03:30" in listed["evaluate_tiers"]
    assert "hourly at :25" in listed["purge_idempotency"]
    assert "weekly on Monday at 04:30" in listed["fit_lifetime_value"]
    with pytest.raises(CommandError, match="unknown job"):
        call_command("jobs", "run", "--only", "nope", stdout=io.StringIO())


def test_every_registered_job_has_a_beat_entry_and_a_celery_task(db):
    from onecard.tasks import TASKS

    assert set(settings.CELERY_BEAT_SCHEDULE) >= set(jobs.JOBS)
    for name in jobs.JOBS:
        assert settings.CELERY_BEAT_SCHEDULE[name]["task"] == f"onecard.job.{name}" == TASKS[name].name
    # without a broker the task runs eagerly, in this process
    assert TASKS["purge_qr_codes"].delay().get()["changed"] == 0


def test_a_failing_task_raises_so_celery_records_it(db, monkeypatch):
    from onecard.tasks import TASKS, JobFailed

    monkeypatch.setitem(jobs.JOBS, "purge_qr_codes", lambda now: 1 / 0)
    with pytest.raises(JobFailed, match="purge_qr_codes: ZeroDivisionError"):
        TASKS["purge_qr_codes"].delay()


def shanghai(hour, minute, second=0):
    return datetime.datetime(2026, 11, 26, hour, minute, second, tzinfo=jobs.SHANGHAI)


def test_a_crontab_fires_once_for_its_minute_on_the_shanghai_clock():
    daily = crontab(hour=3, minute=10)
    assert jobs.fires_between(daily, shanghai(3, 9, 30), shanghai(3, 10, 0))
    assert not jobs.fires_between(daily, shanghai(3, 10, 0), shanghai(3, 11, 0))
    assert not jobs.fires_between(daily, shanghai(3, 8), shanghai(3, 9, 59))
    # a sleep across the minute still sees it; UTC 19:10 is 03:10 in Shanghai
    assert jobs.fires_between(daily, shanghai(2, 0), shanghai(4, 0))
    assert jobs.fires_between(daily, datetime.datetime(2026, 11, 25, 19, 9, tzinfo=datetime.UTC),
                              datetime.datetime(2026, 11, 25, 19, 10, tzinfo=datetime.UTC))  # fmt: skip
    hourly = crontab(minute=25)
    assert jobs.due_jobs(shanghai(3, 24, 59), shanghai(3, 25, 1)) == [
        "expire_holds",
        "purge_idempotency",
        "seal_audit_log",
    ]
    assert hourly.minute == {25}


def test_the_loop_runs_everything_once_then_what_is_due(db, monkeypatch):
    ran = []
    for name in jobs.JOBS:
        monkeypatch.setitem(jobs.JOBS, name, lambda now, name=name: ran.append((name, now)) or 0)
    times = iter([shanghai(3, 9, 30), shanghai(3, 10, 30), shanghai(3, 11, 30)])
    rounds = []
    # when
    jobs.run_loop(60, report=rounds.append, clock=lambda: next(times), sleep=lambda s: None, ticks=2)
    # then
    assert [[r.name for r in results] for results in rounds] == [
        list(jobs.JOBS),
        ["expire_holds", "expire_points", "seal_audit_log"],
        ["expire_holds", "seal_audit_log"],
    ]
    assert ran[-1] == ("seal_audit_log", shanghai(3, 11, 30))


def test_package_expiry_and_settlement_statements_run_once(chain, member_factory):
    # given: a 30-day gym card sold 40 days before NOW, and a cross-store charge the day before NOW (Shanghai)
    from onecard.loyalty.models import SettlementStatement
    from onecard.loyalty.packages import services as packages
    from onecard.testing.packages import gym_package

    card = sv_card(chain, member_factory())
    with moved_now(NOW - datetime.timedelta(days=40)):
        stored_value.topup(None, card, 100_000, store=chain.a1)
        packages.sell_package(None, card, gym_package(chain), store=chain.a1)
    with moved_now(NOW - datetime.timedelta(days=1)):
        stored_value.charge(None, card, 5_000, store=chain.a2)
    # when
    with moved_now(NOW):
        first = jobs.run_jobs(
            NOW, only=["expire_packages", "build_daily_statements", "build_monthly_statements"]
        )
        second = jobs.run_jobs(
            NOW, only=["expire_packages", "build_daily_statements", "build_monthly_statements"]
        )
    # then: one package expired, one daily statement A1↔A2 of ¥50.00; nothing more the second time
    assert changes(first) == {
        "expire_packages": 1,
        "build_daily_statements": 1,
        "build_monthly_statements": 0,
    }
    assert set(changes(second).values()) == {0}
    statement = SettlementStatement.objects.get(period_kind="day")
    assert abs(statement.net) == 5_000
    assert_ledger_clean()

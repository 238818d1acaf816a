"""Lifetime value: the BG/NBD and Gamma-Gamma models, the summary of the sales, the fit service, the command and
the page.

Model tests simulate customers from known parameters (those of Fader, Hardie & Lee's CDNOW example: time in
weeks) with a fixed seed; the likelihoods are checked against a direct evaluation written here with
math.lgamma; the summary and the page's figures against pandas computations on the same rows.
"""

import datetime
import io
import json
import math
from zoneinfo import ZoneInfo

import numpy as np
import openpyxl
import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone, translation
from scipy.special import hyp2f1

from onecard.analytics.errors import TooFewBuyers
from onecard.analytics.models import ClvFit, MemberFacts
from onecard.analytics.value import clv
from onecard.analytics.value.queries import BAND_LIMITS
from onecard.analytics.value.services import fit_merchant
from onecard.analytics.value.summary import merchant_summary
from onecard.members.models import PersonalDataAccess
from onecard.sales.models import Sale

SHANGHAI = ZoneInfo("Asia/Shanghai")
TRUE_BGNBD = clv.BgNbdParams(r=0.24, alpha=4.41, a=0.79, b=2.43)
TRUE_SPEND = clv.GammaGammaParams(p=6.25, q=3.74, gamma=15.44)


def simulate_bgnbd(rng, params, T, horizon=0.0):
    """(x, t_x, future purchases within `horizon` after T) of customers who bought first at 0, by the model's story."""
    rates = rng.gamma(params.r, 1 / params.alpha, len(T))
    dropout = rng.beta(params.a, params.b, len(T))
    x, t_x, future = np.zeros(len(T)), np.zeros(len(T)), np.zeros(len(T))
    for i, observed in enumerate(T):
        now = 0.0
        while True:
            now += rng.exponential(1 / rates[i])
            if now > observed + horizon:
                break
            if now <= observed:
                x[i] += 1
                t_x[i] = now
            else:
                future[i] += 1
            if rng.random() < dropout[i]:  # after each repeat purchase the customer may drop out
                break
    return x, t_x, future


def simulate_spend(rng, params, x):
    """The mean value of each customer's x purchases: Gamma(p, ν) each, ν ~ Gamma(q, γ) per customer."""
    scale = rng.gamma(params.q, 1 / params.gamma, len(x))
    return np.array([rng.gamma(params.p, 1 / scale[i], int(n)).mean() for i, n in enumerate(x)])


def direct_bgnbd_likelihood(r, alpha, a, b, x, t_x, T):
    """One customer's BG/NBD likelihood written straight from the paper's equation (6)."""
    a1 = math.exp(math.lgamma(r + x) - math.lgamma(r)) * alpha**r
    a2 = math.exp(math.lgamma(a + b) + math.lgamma(b + x) - math.lgamma(b) - math.lgamma(a + b + x))
    a3 = (1 / (alpha + T)) ** (r + x)
    a4 = (a / (b + x - 1)) * (1 / (alpha + t_x)) ** (r + x) if x > 0 else 0.0
    return a1 * a2 * (a3 + a4)


def direct_gamma_gamma_log_likelihood(p, q, gamma, x, m):
    """One customer's Gamma-Gamma log-density of their mean spend m over x purchases."""
    return (
        math.lgamma(p * x + q) - math.lgamma(p * x) - math.lgamma(q) + q * math.log(gamma)
        + (p * x - 1) * math.log(m) + p * x * math.log(x) - (p * x + q) * math.log(gamma + m * x)
    )  # fmt: skip


# ---- the models ------------------------------------------------------------------------------------------


def test_bgnbd_recovers_the_parameters_it_was_simulated_from():
    """Given 5,000 customers simulated from r=0.24, α=4.41, a=0.79, b=2.43 (seed 0) observed 30 to 80 weeks,
    when BG/NBD is fitted, then r is within 10 %, α within 15 %, a within 25 % and b within 30 % (a and b,
    the dropout, are the least precise in the paper too), and the fit's likelihood beats the true one's."""
    rng = np.random.default_rng(0)
    T = rng.uniform(30, 80, 5000)
    x, t_x, _ = simulate_bgnbd(rng, TRUE_BGNBD, T)
    fit = clv.fit_bgnbd(x, t_x, T)
    assert fit.converged
    assert fit.params.r == pytest.approx(0.24, rel=0.10)
    assert fit.params.alpha == pytest.approx(4.41, rel=0.15)
    assert fit.params.a == pytest.approx(0.79, rel=0.25)
    assert fit.params.b == pytest.approx(2.43, rel=0.30)
    assert fit.log_likelihood >= clv.bgnbd_log_likelihood(TRUE_BGNBD, x, t_x, T).sum()


def test_gamma_gamma_recovers_the_parameters_and_the_mean_spend():
    """Given 4,000 customers with 1 + Poisson(3) purchases and spend simulated from p=6.25, q=3.74, γ=15.44,
    when Gamma-Gamma is fitted, then p is within 15 %, q within 10 %, γ within 20 %, and the mean spend
    pγ/(q − 1) = 35.22 within 2 %; fitting the same amounts ×100 (fen) gives the same p, q and γ ×100."""
    rng = np.random.default_rng(0)
    x = 1 + rng.poisson(3, 4000)
    m = simulate_spend(rng, TRUE_SPEND, x)
    fit = clv.fit_gamma_gamma(x, m)
    assert fit.converged
    p, q, gamma = fit.params.p, fit.params.q, fit.params.gamma
    assert p == pytest.approx(6.25, rel=0.15)
    assert q == pytest.approx(3.74, rel=0.10)
    assert gamma == pytest.approx(15.44, rel=0.20)
    assert p * gamma / (q - 1) == pytest.approx(6.25 * 15.44 / 2.74, rel=0.02)
    in_fen = clv.fit_gamma_gamma(x, m * 100)
    assert in_fen.params.p == pytest.approx(p, rel=1e-3)
    assert in_fen.params.gamma == pytest.approx(gamma * 100, rel=1e-3)


def test_bgnbd_log_likelihood_matches_a_direct_evaluation():
    """Given customers with and without repeat purchases, when the log-likelihood is computed, then each
    equals the log of the paper's product formula evaluated one by one with math.lgamma."""
    customers = [(0, 0.0, 38.86), (1, 30.43, 38.86), (2, 1.71, 38.86), (5, 25.0, 30.0), (14, 52.0, 52.5)]
    x, t_x, T = (np.array(column, dtype=float) for column in zip(*customers, strict=True))
    computed = clv.bgnbd_log_likelihood(TRUE_BGNBD, x, t_x, T)
    for value, (n, last, observed) in zip(computed, customers, strict=True):
        assert value == pytest.approx(
            math.log(direct_bgnbd_likelihood(0.24, 4.41, 0.79, 2.43, n, last, observed))
        )


def test_gamma_gamma_log_likelihood_matches_a_direct_evaluation():
    """Given mean spends of 1 to 20 purchases, when the log-likelihood is computed, then each equals the
    density written out with math.lgamma."""
    x = np.array([1, 2, 3, 7, 20], dtype=float)
    m = np.array([12.5, 30.0, 41.2, 8.9, 35.0])
    computed = clv.gamma_gamma_log_likelihood(TRUE_SPEND, x, m)
    for value, n, mean in zip(computed, x, m, strict=True):
        assert value == pytest.approx(direct_gamma_gamma_log_likelihood(6.25, 3.74, 15.44, n, mean))


def test_expected_purchases_match_what_simulated_customers_then_buy():
    """Given 5,000 customers simulated on for a further 52.18 weeks, when their purchases in that year are
    predicted from (x, t_x, T) with the true parameters, then the total predicted is within 5 % of what they
    bought, also for the customers with no repeat purchase; P(alive) is 1 without repeat purchase, and
    falls for a frequent buyer who has not bought for long."""
    rng = np.random.default_rng(1)
    T = rng.uniform(30, 80, 5000)
    x, t_x, future = simulate_bgnbd(rng, TRUE_BGNBD, T, horizon=clv.YEAR_WEEKS)
    expected = clv.expected_purchases(TRUE_BGNBD, clv.YEAR_WEEKS, x, t_x, T)
    assert expected.sum() == pytest.approx(future.sum(), rel=0.05)
    assert expected[x == 0].sum() == pytest.approx(future[x == 0].sum(), rel=0.10)
    alive = clv.probability_alive(
        TRUE_BGNBD, np.array([0, 8, 8]), np.array([0, 49.5, 10]), np.array([50, 50, 50])
    )
    assert alive[0] == 1.0
    assert alive[1] > 0.9 > 0.5 > alive[2]


def direct_expected_purchases(r, alpha, a, b, t, x, t_x, T):
    """E[Y(t) | x, t_x, T] written straight from the paper's equation (10), one customer at a time."""
    z = t / (alpha + T + t)
    bracket = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    odds = (a / (b + x - 1)) * ((alpha + T) / (alpha + t_x)) ** (r + x) if x > 0 else 0.0
    return (a + b + x - 1) / (a - 1) * bracket / (1 + odds)


@pytest.mark.parametrize(
    "params",
    [(0.24, 4.41, 0.79, 2.43), (1.2, 8.0, 1625.8, 8103.1)],
    ids=["CDNOW", "dropout on the search bound"],
)
def test_expected_purchases_match_the_papers_formula(params):
    """Given the CDNOW parameters, and a and b in the thousands (a fit on its bound, where the transformed
    series cannot be evaluated), when purchases in the next 52.18 weeks are predicted for members with 0 to
    7 repeat purchases, then each equals the paper's equation (10) evaluated directly."""
    customers = [(0, 0.0, 30.0), (1, 5.0, 30.0), (3, 20.0, 35.0), (7, 30.0, 40.0)]
    x, t_x, T = (np.array(column, dtype=float) for column in zip(*customers, strict=True))
    computed = clv.expected_purchases(clv.BgNbdParams(*params), clv.YEAR_WEEKS, x, t_x, T)
    for value, (n, last, observed) in zip(computed, customers, strict=True):
        assert value == pytest.approx(direct_expected_purchases(*params, clv.YEAR_WEEKS, n, last, observed))


def test_expected_purchases_stay_finite_for_very_frequent_buyers():
    """Given members who bought on 300 and 1,000 days over 150 weeks and were seen lately, when their next year
    is predicted, then it is finite, positive and below their past yearly pace (dropout can only lower it)."""
    x = np.array([300.0, 1000.0])
    expected = clv.expected_purchases(
        TRUE_BGNBD, clv.YEAR_WEEKS, x, np.array([149.0, 149.9]), np.array([150.0, 150.0])
    )
    assert np.all(np.isfinite(expected))
    assert np.all(expected > 0)
    assert np.all(expected < x / 150 * clv.YEAR_WEEKS * 1.05)
    assert expected[1] > expected[0]


def test_predicted_value_is_purchases_times_conditional_spend_in_whole_fen():
    """Given a member with 3 repeat purchases worth 2,000 fen on average and one without, when valued, then
    the value is the expected purchases × (γ + m x) p / (p x + q − 1), and × γp/(q − 1) for the other."""
    spend = clv.GammaGammaParams(p=6.0, q=4.0, gamma=3000.0)
    x, t_x, T, m = (
        np.array([3.0, 0.0]),
        np.array([20.0, 0.0]),
        np.array([30.0, 30.0]),
        np.array([2000.0, 0.0]),
    )
    purchases, value = clv.predicted_value(TRUE_BGNBD, spend, x, t_x, T, m)
    assert value[0] == round(purchases[0] * (3000 + 2000 * 3) * 6 / (6 * 3 + 4 - 1))
    assert value[1] == round(purchases[1] * 3000 * 6 / 3)


# ---- the summary of the sales ----------------------------------------------------------------------------


def _at(day, hour, minute=0):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=SHANGHAI)


def add_sales(chain, rows):
    """Sales (member, local time, total_due, returned_due) at the member's home store; one insert, one update."""
    sales = [
        Sale(
            merchant=member.merchant,
            store=member.home_store,
            member=member,
            actor=chain.cashier_a1,
            business_ref=f"T-{n}",
            list_total=due,
            discount_total=0,
            total_due=due,
            returned_due=returned,
        )  # fmt: skip
        for n, (member, _when, due, returned) in enumerate(rows, start=Sale.objects.count() + 1)
    ]
    Sale.objects.bulk_create(sales)
    for sale, (_member, when, _due, _returned) in zip(sales, rows, strict=True):
        sale.created_at = when  # auto_now_add would stamp them all now
    Sale.objects.bulk_update(sales, ["created_at"])
    return sales


def test_summary_of_real_sales_counts_local_days_and_repeat_spend(chain, member_factory):
    """Given a member who bought twice on 1 March, on 15 March (8,000 fen with 1,000 returned, and 500 at
    00:30, which is 14 March in UTC) and on 29 March (3,000), with a sale on the calibration end, a member
    with one day, a sale without member, another merchant's sale and that merchant's member buying at A1 (an
    alliance visitor, valued by their own merchant), when summarised to 1 April, then x = 2, t_x = 4 weeks,
    T = 31/7 weeks, m = (7,500 + 3,000) / 2, and the one-day member has x = 0, T = 12/7."""
    regular, once = member_factory(), member_factory()
    stranger = member_factory(store=chain.other_store)
    day = datetime.date(2026, 3, 1)
    add_sales(chain, [
        (regular, _at(day, 10), 5000, 0), (regular, _at(day, 23, 30), 2000, 0),
        (regular, _at(datetime.date(2026, 3, 15), 9), 8000, 1000),
        (regular, _at(datetime.date(2026, 3, 15), 0, 30), 500, 0),  # 14 March 16:30 UTC: still 15 March here
        (regular, _at(datetime.date(2026, 3, 29), 18), 3000, 0),
        (regular, _at(datetime.date(2026, 4, 1), 0, 5), 9900, 0),  # on the calibration end: not used
        (once, _at(datetime.date(2026, 3, 20), 12), 4000, 0),
        (stranger, _at(datetime.date(2026, 3, 2), 12), 4000, 0),
    ])  # fmt: skip
    anonymous, visitor = add_sales(chain, [
        (regular, _at(datetime.date(2026, 3, 3), 12), 7700, 0), (regular, _at(datetime.date(2026, 3, 4), 12), 500, 0),
    ])  # fmt: skip
    Sale.objects.filter(pk=anonymous.pk).update(member=None)
    Sale.objects.filter(pk=visitor.pk).update(member=stranger)  # the other merchant's member buying at A1

    summary = merchant_summary(chain.merchant, datetime.date(2026, 4, 1))

    rows = dict(
        zip(
            summary.member_ids.tolist(),
            zip(summary.x, summary.t_x, summary.T, summary.m, strict=True),
            strict=True,
        )
    )
    assert set(rows) == {regular.pk, once.pk}
    assert rows[regular.pk] == pytest.approx((2, 4.0, 31 / 7, 5250.0))
    assert rows[once.pk] == pytest.approx((0, 0.0, 12 / 7, 0.0))


def generated_sales(chain, member_factory, seed=7, members=48):
    """Members at stores A1 and A2 who first bought 60 to 300 days ago, then bought as BG/NBD says (rate
    ~0.17 a week, dropout ~20 % after a purchase), 1 or 2 sales a day, amounts around their own mean."""
    rng = np.random.default_rng(seed)
    today = timezone.localdate()
    rows = []
    for n in range(members):
        member = member_factory(store=chain.a1 if n % 2 else chain.a2, phone=f"1390000{n:04d}")
        first = today - datetime.timedelta(days=int(rng.integers(60, 300)))
        rate, dropout, weeks = rng.gamma(1.0, 1 / 6.0), rng.beta(1.0, 4.0), [0.0]
        while rng.random() > dropout or len(weeks) == 1:
            weeks.append(weeks[-1] + rng.exponential(1 / rate))
        base = int(rng.integers(2000, 20000))
        for week in weeks:
            day = first + datetime.timedelta(days=int(week * 7))
            if day >= today:
                break
            for _ in range(int(rng.integers(1, 3))):
                due = int(base * rng.gamma(6.0, 1 / 6.0))
                rows.append(
                    (member, _at(day, int(rng.integers(8, 24))), due, due // 4 if rng.random() < 0.1 else 0)
                )
    add_sales(chain, rows)
    return rows


def pandas_summary(rows, calibration_end):
    """The summary computed independently with pandas from the same sale rows."""
    frame = pd.DataFrame(
        [(m.pk, when, due - returned) for m, when, due, returned in rows], columns=["member", "at", "net"]
    )
    frame["day"] = pd.to_datetime(frame["at"], utc=True).dt.tz_convert("Asia/Shanghai").dt.date
    frame = frame[frame["day"] < calibration_end]
    days = frame.groupby(["member", "day"], as_index=False)["net"].sum().sort_values(["member", "day"])
    out = {}
    for member, visits in days.groupby("member"):
        first, last = visits["day"].iloc[0], visits["day"].iloc[-1]
        repeat = visits["net"].iloc[1:]
        out[member] = (
            len(visits) - 1, (last - first).days / 7, (calibration_end - first).days / 7,
            repeat.mean() if len(repeat) else 0.0,
        )  # fmt: skip
    return out


# ---- the fit, the command, the page ----------------------------------------------------------------------


@pytest.fixture
def fitted(chain, member_factory):
    """48 members with generated sales, fitted today (predictions written)."""
    rows = generated_sales(chain, member_factory)
    return rows, fit_merchant(chain.merchant)


def test_fit_merchant_saves_the_fit_and_writes_each_members_prediction(chain, fitted):
    """Given generated sales of 48 members, when the merchant is fitted today, then the summary equals the
    pandas one, the fit is saved with both log-likelihoods, and each member's facts hold
    round(expected purchases × conditional spend) from the saved parameters."""
    rows, fit = fitted
    today = timezone.localdate()
    summary = merchant_summary(chain.merchant, today)
    expected = pandas_summary(rows, today)
    assert set(summary.member_ids.tolist()) == set(expected)
    for pk, x, t_x, T, m in zip(
        summary.member_ids, summary.x, summary.t_x, summary.T, summary.m, strict=True
    ):
        assert (x, t_x, T, m) == pytest.approx(expected[int(pk)])
    assert fit.members == 48 == ClvFit.objects.get().members
    assert fit.calibration_end == today
    assert fit.bgnbd_log_likelihood < 0 and math.isfinite(fit.gamma_gamma_log_likelihood)
    facts = {f.member_id: f for f in MemberFacts.objects.filter(merchant=chain.merchant)}
    assert len(facts) == 48
    purchases = clv.BgNbdParams(fit.r, fit.alpha, fit.a, fit.b)
    for pk, x, t_x, T, m in zip(
        summary.member_ids, summary.x, summary.t_x, summary.T, summary.m, strict=True
    ):
        predicted = float(clv.expected_purchases(purchases, clv.YEAR_WEEKS, x, t_x, T))
        spend = (
            (fit.gamma + m * x) * fit.p / (fit.p * x + fit.q - 1)
            if m > 0
            else fit.gamma * fit.p / (fit.q - 1)
        )
        assert facts[int(pk)].predicted_purchases == pytest.approx(predicted)
        assert facts[int(pk)].predicted_value == round(predicted * spend)


def test_a_fit_that_ends_in_the_past_leaves_the_predictions_alone(chain, fitted):
    """Given today's predictions, when the merchant is fitted to the sales before 60 days ago, then a second
    fit is saved and no member's predicted value changes."""
    before = dict(MemberFacts.objects.values_list("member_id", "predicted_value"))
    fit_merchant(chain.merchant, timezone.localdate() - datetime.timedelta(days=60))
    assert ClvFit.objects.count() == 2
    assert dict(MemberFacts.objects.values_list("member_id", "predicted_value")) == before


def test_too_few_repeat_buyers_is_refused_and_nothing_is_saved(chain, member_factory):
    """Given 10 members with generated sales (fewer than the 20 repeat buyers the fit needs), when fitted,
    then TooFewBuyers (422, too_few_buyers) is raised with a message naming both counts and no fit is saved."""
    generated_sales(chain, member_factory, members=10)
    with pytest.raises(TooFewBuyers) as refused, translation.override("en"):
        fit_merchant(chain.merchant)
    assert refused.value.code == "too_few_buyers"
    assert refused.value.status == 422
    assert "at least 20" in str(refused.value.message)
    assert ClvFit.objects.count() == 0


def test_the_command_prints_one_json_line_with_the_parameters(chain, member_factory):
    """Given generated sales, when `onecard analytics clv --calibration-end <today> --merchant acme` runs, then
    it prints one JSON line with the merchant, the calibration end, the members and the seven parameters and
    two log-likelihoods of the saved fit."""
    generated_sales(chain, member_factory)
    out = io.StringIO()
    today = timezone.localdate().isoformat()
    call_command("analytics", "clv", "--calibration-end", today, "--merchant", "acme", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert set(line) == {
        "merchant", "calibration_end", "members", "r", "alpha", "a", "b", "p", "q", "gamma",
        "bgnbd_log_likelihood", "gamma_gamma_log_likelihood",
    }  # fmt: skip
    fit = ClvFit.objects.get()
    assert (
        line["merchant"] == chain.merchant.pk and line["calibration_end"] == today and line["members"] == 48
    )
    assert line["r"] == fit.r and line["gamma_gamma_log_likelihood"] == fit.gamma_gamma_log_likelihood


def test_the_command_without_merchant_skips_those_it_cannot_fit(chain, member_factory):
    """Given sales at acme and none at the second merchant, when `analytics clv` runs without --merchant, then
    acme's line is printed and the other merchant is named on stderr as skipped; naming it alone fails."""
    generated_sales(chain, member_factory)
    out, err = io.StringIO(), io.StringIO()
    call_command("analytics", "clv", stdout=out, stderr=err)
    assert [json.loads(line)["merchant"] for line in out.getvalue().splitlines()] == [chain.merchant.pk]
    assert f"merchant {chain.other.pk} (other) skipped" in err.getvalue()
    # the shop's language (zh-hans, LANGUAGE_CODE): "…只有 0 位会员…至少需要 20 位。"
    with pytest.raises(CommandError, match="0 位.*20 位"):
        call_command("analytics", "clv", "--merchant", str(chain.other.pk), stdout=out, stderr=err)


def _bands_by_pandas(values):
    """Members per band of predicted value, computed by pandas.cut over the same limits."""
    edges = [-np.inf, *BAND_LIMITS, np.inf]
    return pd.cut(pd.Series(values, dtype=float), edges, right=False).value_counts(sort=False).tolist()


@pytest.mark.usefixtures("english")
def test_the_page_shows_the_fit_and_the_store_managers_members_only(chain, fitted, login):
    """Given a fit, when head office opens the page, then it shows r, α and the log-likelihood of the fit,
    every member in the bands (as pandas counts them) and the top member; a store manager of A1 sees bands
    and a top list of A1's members only, each with their spend so far as pandas sums it."""
    rows, fit = fitted
    page = login(chain.hq_admin).get(reverse("analytics_value:fit"))
    assert page.status_code == 200
    html = page.content.decode()
    assert f"{fit.r:.4f}" in html and f"{fit.alpha:.4f}" in html and f"{fit.bgnbd_log_likelihood:.2f}" in html
    everyone = dict(MemberFacts.objects.values_list("member_id", "predicted_value"))
    assert [b.members for b in page.context["bands"]] == _bands_by_pandas(list(everyone.values()))
    best = max(everyone, key=lambda pk: (everyone[pk], -pk))
    assert page.context["top"][0].member_id == best

    page = login(chain.store_manager).get(reverse("analytics_value:fit"))
    a1 = dict(
        MemberFacts.objects.filter(member__home_store=chain.a1).values_list("member_id", "predicted_value")
    )
    assert len(a1) == 24
    assert {f.member_id for f in page.context["top"]} == set(a1)
    assert [b.members for b in page.context["bands"]] == _bands_by_pandas(list(a1.values()))
    assert [f.predicted_value for f in page.context["top"]] == sorted(a1.values(), reverse=True)
    # Spend so far (MemberValue, written with today's fit) against the sale rows summed by pandas.
    frame = pd.DataFrame(
        [(m.pk, due - returned) for m, _when, due, returned in rows], columns=["member", "net"]
    )
    spend = frame.groupby("member")["net"].sum()
    assert {f.member_id: f.member.value.historic_value for f in page.context["top"]} == {
        pk: int(spend[pk]) for pk in a1
    }
    html = page.content.decode()
    best = page.context["top"][0]
    assert f"¥{best.member.value.historic_value / 100:.2f}" in html


def test_the_page_refuses_a_cashier_and_fitting_again_needs_manage(chain, fitted, login):
    """Given a fit, when a cashier opens the page it is refused (403); a store manager (view only) sees it
    (in Chinese, the default) but may not fit again (403), and the look at the names shown is recorded
    (PIPL); head office may fit again: a second fit is saved."""
    assert login(chain.cashier_a1).get(reverse("analytics_value:fit")).status_code == 403
    assert login(chain.store_manager).get(reverse("analytics_value:fit")).status_code == 200
    seen = PersonalDataAccess.objects.get(actor=chain.store_manager)
    assert seen.subjects.count() == 24
    assert login(chain.store_manager).post(reverse("analytics_value:fit_again")).status_code == 403
    assert ClvFit.objects.count() == 1
    response = login(chain.hq_admin).post(reverse("analytics_value:fit_again"))
    assert response.status_code == 302
    assert ClvFit.objects.count() == 2


@pytest.mark.usefixtures("english")
def test_fitting_again_with_too_few_buyers_shows_the_refusal(chain, member_factory, login):
    """Given 10 members with sales (too few repeat buyers), when head office presses "Fit again now", then the
    page comes back with the refusal's message, says the models have not been fitted, and saves nothing."""
    generated_sales(chain, member_factory, members=10)
    page = login(chain.hq_admin).post(reverse("analytics_value:fit_again"), follow=True)
    html = page.content.decode()
    assert page.status_code == 200
    assert "the lifetime-value models need at least 20" in html
    assert 'id="value-no-fit"' in html
    assert ClvFit.objects.count() == 0


def test_the_page_exports_the_bands_and_top_members(chain, fitted, login):
    """Given a fit, when the page is asked for .xlsx, then the top-members sheet lists the 48 members by
    number (no names), the best first with its predicted value, and the bands count all 48."""
    response = login(chain.hq_admin).get(reverse("analytics_value:fit"), {"export": "xlsx"})
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    top = list(workbook.worksheets[1].iter_rows(values_only=True))
    assert len(top) == 1 + 48
    best = MemberFacts.objects.order_by("-predicted_value", "member_id").select_related("member").first()
    assert top[1][0] == best.member.member_no
    assert top[1][3] == pytest.approx(best.predicted_value / 100)
    assert best.member.name not in [cell for row in top for cell in row]  # numbers only: no personal data
    bands = list(workbook.worksheets[0].iter_rows(values_only=True))[1:]
    assert sum(row[1] for row in bands) == 48

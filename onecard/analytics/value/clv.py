"""Customer lifetime value: the BG/NBD purchase model and the Gamma-Gamma spend model, in numpy and scipy.

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive, a customer buys at
a Poisson rate λ ~ Gamma(r, α); after each repeat purchase they drop out with probability p ~ Beta(a, b).
A customer is summarised by x (repeat purchases), t_x (time of the last one) and T (time observed), all
measured from their first purchase. Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value
curves"): the value of each purchase is Gamma(p, ν) with ν ~ Gamma(q, γ), independent of the purchase
process; a customer is summarised by x and the mean m of their repeat purchases.

Everything here is pure arithmetic on arrays: no database, no Django. The formulas are numbered after the
papers; analytics.clv_fitting feeds them the summary of the sales.
"""

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

# 12 months in weeks (365.25 / 7): the horizon of the predicted value.
YEAR_WEEKS = 52.18


@dataclass(frozen=True)
class BgNbdParams:
    """The four BG/NBD parameters: r, α (purchase rate) and a, b (dropout)."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGammaParams:
    """The three Gamma-Gamma parameters: p (shape of a purchase's value), q and γ (of its scale)."""

    p: float
    q: float
    gamma: float


@dataclass(frozen=True)
class Fit:
    """A maximum-likelihood fit: the parameters, the total log-likelihood and whether the optimiser converged."""

    params: object
    log_likelihood: float
    converged: bool


# ---- BG/NBD -----------------------------------------------------------------------------------------------


def bgnbd_log_likelihood(params: BgNbdParams, x, t_x, T) -> np.ndarray:
    """Each customer's log-likelihood of (x, t_x, T) under BG/NBD (FHL 2005, equation 6).

    L = A1 · A2 · (A3 + [x > 0] · A4) with
    A1 = Γ(r + x) α^r / Γ(r),  A2 = Γ(a + b) Γ(b + x) / (Γ(b) Γ(a + b + x)),
    A3 = (α + T)^−(r+x),       A4 = a / (b + x − 1) · (α + t_x)^−(r+x).
    The sum A3 + A4 is taken in logs (log-sum-exp) so long histories do not underflow.
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    log_a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    log_a2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
    log_a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    # b + x − 1 is positive whenever x ≥ 1; for x = 0 the term is absent (masked to −inf).
    safe_denominator = np.where(repeat, b + x - 1, 1.0)
    log_a4 = np.where(
        repeat,
        np.log(a) - np.log(safe_denominator) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return log_a1 + log_a2 + np.logaddexp(log_a3, log_a4)


def _dropout_odds(params: BgNbdParams, x, t_x, T) -> np.ndarray:
    """[x > 0] · a / (b + x − 1) · ((α + T) / (α + t_x))^(r + x): the odds of having dropped out."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    repeat = x > 0
    safe_denominator = np.where(repeat, b + x - 1, 1.0)
    log_odds = np.log(a) - np.log(safe_denominator) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    return np.where(repeat, np.exp(log_odds), 0.0)


def probability_alive(params: BgNbdParams, x, t_x, T) -> np.ndarray:
    """P(alive | x, t_x, T) = 1 / (1 + [x > 0] · a / (b + x − 1) · ((α + T) / (α + t_x))^(r + x)) (FHL eq. 13)."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    return 1.0 / (1.0 + _dropout_odds(params, x, t_x, T))


def expected_purchases(params: BgNbdParams, t, x, t_x, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: purchases expected in the next `t` periods (FHL 2005, equation 10).

    ((a + b + x − 1) / (a − 1)) · [1 − ((α + T) / (α + T + t))^(r+x) · ₂F₁(r + x, b + x; a + b + x − 1; z)]
    / (1 + [x > 0] · a / (b + x − 1) · ((α + T) / (α + t_x))^(r + x)), with z = t / (α + T + t).
    The bracket is computed after Euler's transformation ₂F₁(A, B; C; z) = (1 − z)^(C−A−B) ₂F₁(C − A, C − B;
    C; z): the product becomes (1 − z)^(a−1) · ₂F₁(a + b − 1 − r, a − 1; a + b + x − 1; z), whose series
    converges fast and whose factors stay near 1 however many purchases x counts (the paper's form multiplies
    a vanishing power by an exploding series); the paper's form is the fallback where scipy cannot evaluate
    the transformed one. When a < 1 both the fraction and the bracket are negative.
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    z = t / (alpha + T + t)
    with np.errstate(invalid="ignore", over="ignore"):
        bracket = 1.0 - np.power(1.0 - z, a - 1) * special.hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
    # With a and b in the thousands (a fit on its bound: no visible dropout) scipy cannot evaluate the
    # transformed series; the paper's own form is then well behaved.
    direct = ~np.isfinite(bracket)
    if np.any(direct):
        xd, zd = np.broadcast_to(x, bracket.shape)[direct], np.broadcast_to(z, bracket.shape)[direct]
        power = np.exp((r + xd) * np.log1p(-zd))
        bracket = np.array(bracket, dtype=float)
        bracket[direct] = 1.0 - power * special.hyp2f1(r + xd, b + xd, a + b + xd - 1, zd)
    leading = (a + b + x - 1) / (a - 1)
    return leading * bracket / (1.0 + _dropout_odds(params, x, t_x, T))


def fit_bgnbd(x, t_x, T, *, starts=None) -> Fit:
    """The BG/NBD parameters of maximum likelihood, searched over their logs from several starting points."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    # α is a time scale: starting it at the mean observation time puts the first guess in the right range.
    scale = max(float(T.mean()), 1e-6)
    starts = starts or [(1.0, scale, 1.0, 1.0), (0.5, scale / 4, 1.0, 3.0), (0.2, scale / 10, 0.8, 2.5)]

    def negative(log_params):
        params = BgNbdParams(*np.exp(log_params))
        total = bgnbd_log_likelihood(params, x, t_x, T).sum()
        return -total if np.isfinite(total) else np.inf

    best = _minimise(negative, starts)
    params = BgNbdParams(*(float(v) for v in np.exp(best.x)))
    return Fit(params, float(-best.fun), bool(best.success))


# ---- Gamma-Gamma ------------------------------------------------------------------------------------------


def gamma_gamma_log_likelihood(params: GammaGammaParams, x, m) -> np.ndarray:
    """Each customer's log-likelihood of the mean m of their x repeat purchases (FH 2005, "RFM and CLV").

    f(m | p, q, γ, x) = Γ(px + q) / (Γ(px) Γ(q)) · γ^q · m^(px − 1) · x^(px) / (γ + m x)^(px + q).
    Only customers with x ≥ 1 and m > 0 belong in it.
    """
    p, q, gamma = params.p, params.q, params.gamma
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    px = p * x
    return (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(gamma + m * x)
    )


def expected_spend(params: GammaGammaParams, x, m) -> np.ndarray:
    """E[M | p, q, γ, m, x] = (γ + m x) p / (p x + q − 1): the mean a customer's future purchases are worth.

    A customer with no repeat purchase (x = 0) gets the population mean γ p / (q − 1). Needs q > 1.
    """
    p, q, gamma = params.p, params.q, params.gamma
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    return (gamma + m * x) * p / (p * x + q - 1)


def fit_gamma_gamma(x, m, *, starts=None) -> Fit:
    """The Gamma-Gamma parameters of maximum likelihood over customers with x ≥ 1 and m > 0.

    γ is a money scale: the search runs on m divided by its mean, and γ is scaled back, so fen and yuan fit
    alike. The log-likelihood reported is the one of the data as given.
    """
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    keep = (x >= 1) & (m > 0)
    x, m = x[keep], m[keep]
    scale = float(m.mean())
    scaled = m / scale
    starts = starts or [(1.0, 1.0, 1.0), (5.0, 3.0, 10.0), (2.0, 5.0, 5.0)]

    def negative(log_params):
        total = gamma_gamma_log_likelihood(GammaGammaParams(*np.exp(log_params)), x, scaled).sum()
        return -total if np.isfinite(total) else np.inf

    best = _minimise(negative, starts)
    p, q, gamma = (float(v) for v in np.exp(best.x))
    params = GammaGammaParams(p, q, gamma * scale)
    total = float(gamma_gamma_log_likelihood(params, x, m).sum())
    return Fit(params, total, bool(best.success))


# ---- both ---------------------------------------------------------------------------------------------------


# The search stays within e^−9 … e^9 of each parameter: data without a visible dropout (or without spread
# in spend) push the likelihood's maximum to a boundary, where the arithmetic would otherwise break down.
LOG_BOUND = 9.0


def _minimise(negative, starts):
    """The best of bounded L-BFGS-B runs from each start (in log space), polished by Nelder-Mead if it stalled.

    `success` is False when the best point lies on a bound: the maximum is not an interior one.
    """
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(starts[0])
    best = None
    for start in starts:
        result = optimize.minimize(
            negative, np.log(np.asarray(start, dtype=float)), method="L-BFGS-B", bounds=bounds
        )
        if best is None or result.fun < best.fun:
            best = result
    if not best.success:
        polished = optimize.minimize(
            negative, best.x, method="Nelder-Mead", bounds=bounds, options={"maxiter": 800, "fatol": 1e-9}
        )
        if polished.fun <= best.fun:
            best = polished
    best.success = bool(best.success) and bool(np.all(np.abs(best.x) < LOG_BOUND - 1e-6))
    return best


def predicted_value(bgnbd: BgNbdParams, spend: GammaGammaParams, x, t_x, T, m, *, horizon=YEAR_WEEKS):
    """(purchases expected within `horizon`, their value in fen rounded to whole fen) per customer, as floats.

    A customer whose repeat purchases net to nothing (returns, m ≤ 0) is valued at the population mean
    spend, as if they had no repeat purchase. A value that cannot be computed is NaN (the caller stores none).
    """
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    purchases = expected_purchases(bgnbd, horizon, x, t_x, T)
    usable = (x >= 1) & (m > 0)
    spend_per_purchase = expected_spend(spend, np.where(usable, x, 0.0), np.where(usable, m, 0.0))
    return purchases, np.rint(purchases * spend_per_purchase)

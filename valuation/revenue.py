"""Revenue potential: the economic value of the protected product (GB/T 42748-2023 first-level
"economic value").

Question a lender asks: *how large, how likely and how lasting is the revenue the pledged patents
protect?* This card reads the product, not the patents, except for the exclusivity window. The
selection and the weights are ours for the finance use case.

Timeline. The expected launch date is the valuation date plus the typical remaining development
time: half of the current stage's mean duration (the simulator draws the time already spent in a
stage as a uniform fraction, DESIGN §8, so half is its mean) plus the mean durations of the later
stages (``STAGE_YEARS``). An approved product launched on 1 July of ``launch_year``. The same date
serves as the approval date that caps term compensation at 14 years after approval.

Peak sales, p50 (weight 0.25)
    Log scale: CNY 10m -> 0, CNY 5bn -> 100 (CNY 100m -> 37, 600m -> 66).
    Why: the size of the prize. Log scale because forecasts err by factors, not amounts; below CNY
    10m a year a product cannot carry even a small IP loan (>80% of Chinese IP loans are under CNY
    20m, lending.md); CNY 5bn a year is the scale of China's best-selling innovative drugs.
Forecast spread, p90/p10 (0.10)
    100 x (1 - ln(p90/p10) / ln 20), clamped; p10 = 0 -> 0; no forecast (all zero) -> 0.
    Why: a lender is short the downside: the wider the spread, the more the low case, not the
    median, decides repayment. About 2 in 3 launches miss consensus forecasts (McKinsey 2014,
    market.md); a 20x spread is an early-stage guess carrying little information.
Development stage (0.20)
    100 x probability of reaching the market from the current stage: preclinical 5.4, phase1 7.9,
    phase2 15.1, phase3 52.4, filed 90.6, approved 100 (``STAGE_SUCCESS``).
    Why: expected revenue is proportional to this probability (rNPV), so the points are linear in it.
Margin (0.10)
    Profit margin: 0 -> 0, 50% -> 100, linear. With ``royalty_rate`` (relief from royalty): 0 -> 0,
    12.5% -> 100.
    Why: the IP cash flow is sales x margin x IP share, or sales x royalty (DESIGN §8). 12.5% is what
    the 25% profit-split rule gives on a 50% margin, within the 4-12% range of therapeutic licences
    (market.md).
Reimbursement, NRDL (0.10)
    Listed 100, not listed 50.
    Why: NRDL listing is the route to hospital volume in China; its negotiated price cut (50-62% on
    average, market.md) is the price already paid for it. For devices the flag stands for the
    reimbursement catalogue of medical consumables.
VBP exposure (0.10)
    100 x expected share of the price kept after 5 years = 100 x (1 - 0.53 x (1 - (1 - h)^5)) with
    the annual hazard h of DESIGN §8 (none 0, low 0.05, medium 0.15, high 0.30): none 100, low 88.0,
    medium 70.5, high 55.9.
    Why: 0.53 is the mean VBP cut (4+7 pilot 52%, rounds 5 and 7: 56% and 48%, market.md); 5 years
    covers a loan of up to 3 years plus a work-out.
Exclusivity after launch (0.15)
    100 x (years from the later of expected launch and today to the latest in-force expiry) / 10,
    clamped.
    Why: the protected sales window on which the collateral's value rests; years beyond 10 are worth
    little at a 10.5% discount rate (market.md).

Knock-outs, beyond the five contract codes of rights certainty, where a lender would decline:
``no_revenue_path`` when the IP cash flow is zero by construction (p50 peak sales 0, a zero royalty,
or a zero margin without a royalty); ``no_exclusivity_at_launch`` when granted patents exist but all
expire by the expected launch.
"""
from __future__ import annotations

import datetime as dt
import math

from ipledge.valuation import terms
from ipledge.valuation.schema import Product
from ipledge.valuation.facts import PledgeFacts, Reading, clamp, log_ramp, ramp
from ipledge.valuation.indicators import Card, Indicator, Knockout, cny, ids

# --- cited constants (copied here: valuation must not import risk) ----------------------------
# Probability of moving to the next stage, ALL therapeutic areas, 2011-2020:
# BIO / QLS / Informa, "Clinical Development Success Rates and Contributing Factors 2011-2020"
# (Feb 2021), Fig. 2 (phase1->phase2 52.0% of 4,414; phase2->phase3 28.9% of 4,933;
# phase3->filing 57.8% of 1,928; filing->approval 90.6% of 1,453).
# Preclinical->phase1: Paul et al., "How to improve R&D productivity", Nature Reviews Drug
# Discovery 9:203-214 (2010), Fig. 2: 69%.
STAGE_SUCCESS = {"preclinical": 0.69, "phase1": 0.520, "phase2": 0.289, "phase3": 0.578, "filed": 0.906}
STAGE_ORDER = ("preclinical", "phase1", "phase2", "phase3", "filed", "approved")
# Mean years per stage, ALL row: BIO/QLS/Informa 2011-2020 as reproduced by RAPS (phase1 2.3,
# phase2 3.6, phase3 3.3, filing 1.3); preclinical 1.0 year: Paul et al. 2010, Fig. 2.
STAGE_YEARS = {"preclinical": 1.0, "phase1": 2.3, "phase2": 3.6, "phase3": 3.3, "filed": 1.3}
# VBP: annual hazard of being caught once launched (DESIGN §8) and mean price cut (market.md:
# 4+7 pilot 52%, round 5 56%, round 7 48%; DESIGN §8 uses a Beta with mean 0.53).
VBP_HAZARD = {"none": 0.0, "low": 0.05, "medium": 0.15, "high": 0.30}
VBP_MEAN_CUT = 0.53
VBP_HORIZON_YEARS = 5

PEAK_SALES_ZERO_POINTS = 1e7   # CNY
PEAK_SALES_FULL_POINTS = 5e9   # CNY
SPREAD_ZERO_POINTS = 20.0      # p90 / p10
FULL_MARGIN = 0.5
FULL_ROYALTY = 0.125
NRDL_POINTS = {True: 100.0, False: 50.0}
FULL_EXCLUSIVITY_YEARS = 10.0
LAUNCH_MONTH_DAY = (7, 1)


def p_market(stage: str) -> float:
    """Probability of reaching the market from ``stage`` (product of the remaining transitions)."""
    later = STAGE_ORDER[STAGE_ORDER.index(stage):-1]
    return math.prod(STAGE_SUCCESS[s] for s in later)


def remaining_development_years(stage: str) -> float:
    """Half the current stage's mean duration plus the later stages' (0 when approved)."""
    if stage == "approved":
        return 0.0
    later = STAGE_ORDER[STAGE_ORDER.index(stage) + 1:-1]
    return 0.5 * STAGE_YEARS[stage] + sum(STAGE_YEARS[s] for s in later)


def expected_launch(product: Product, as_of: dt.date) -> tuple[dt.date, str]:
    """(launch date, how it was obtained) for the product."""
    if product.stage == "approved":
        return dt.date(product.launch_year, *LAUNCH_MONTH_DAY), f"launched {product.launch_year}"
    years = remaining_development_years(product.stage)
    launch = as_of + dt.timedelta(days=round(years * terms.DAYS_PER_YEAR))
    return launch, f"expected launch {launch:%Y-%m} ({years:.1f} y of development left from {product.stage})"


# --- indicators ------------------------------------------------------------------------------
def peak_sales(facts: PledgeFacts) -> Reading:
    p50 = facts.req.product.peak_sales.p50
    return Reading(p50, log_ramp(p50, PEAK_SALES_ZERO_POINTS, PEAK_SALES_FULL_POINTS),
                   f"median peak sales {cny(p50)} a year (10m scores 0, 5bn scores 100)")


def spread(facts: PledgeFacts) -> Reading:
    ps = facts.req.product.peak_sales
    if ps.p90 == 0:
        return Reading("no forecast", 0.0, "all peak-sales quantiles are zero")
    if ps.p10 == 0:
        return Reading("p10 = 0", 0.0, f"low case is zero sales (p90 {cny(ps.p90)}): no floor under repayment")
    ratio = ps.p90 / ps.p10
    pts = 100.0 * clamp(1.0 - math.log(ratio) / math.log(SPREAD_ZERO_POINTS))
    return Reading(round(ratio, 2), pts, f"p90/p10 = {cny(ps.p90)} / {cny(ps.p10)} = {ratio:.1f}x (20x scores 0)")


def stage(facts: PledgeFacts) -> Reading:
    st = facts.req.product.stage
    p = p_market(st)
    note = ("approved and marketed" if st == "approved"
            else f"{100 * p:.1f}% chance of reaching the market from {st} (BIO 2011-2020, all areas)")
    return Reading(st, 100.0 * p, note)


def margin(facts: PledgeFacts) -> Reading:
    prod = facts.req.product
    if prod.royalty_rate is not None:
        r = prod.royalty_rate + 0.0         # -0.0 (valid JSON, within the bounds) reads as 0
        return Reading(r, ramp(r, 0.0, FULL_ROYALTY),
                       f"royalty {100 * r:.1f}% of sales (relief from royalty; 12.5% scores 100)")
    m = prod.profit_margin + 0.0
    return Reading(m, ramp(m, 0.0, FULL_MARGIN), f"profit margin {100 * m:.0f}% (50% scores 100)")


def reimbursement(facts: PledgeFacts) -> Reading:
    listed = facts.req.product.nrdl_listed
    return Reading("NRDL listed" if listed else "not listed", NRDL_POINTS[listed],
                   "on the National Reimbursement Drug List" if listed
                   else "not on the NRDL: hospital volume depends on self-pay or provincial lists")


def vbp_retained(exposure: str) -> float:
    hit = 1.0 - (1.0 - VBP_HAZARD[exposure]) ** VBP_HORIZON_YEARS
    return 1.0 - VBP_MEAN_CUT * hit


def vbp(facts: PledgeFacts) -> Reading:
    exp = facts.req.product.vbp_exposure
    kept = vbp_retained(exp)
    return Reading(exp, 100.0 * kept,
                   f"{exp} exposure: {100 * VBP_HAZARD[exp]:.0f}% a year chance of a VBP round; "
                   f"~{100 * kept:.0f}% of price expected kept after {VBP_HORIZON_YEARS} y")


def exclusivity_window(facts: PledgeFacts) -> float:
    end = facts.exclusivity_end
    if end is None:
        return 0.0
    return max(0.0, facts.years_to(end, start=max(facts.launch, facts.as_of)))


def exclusivity_after_launch(facts: PledgeFacts) -> Reading:
    end = facts.exclusivity_end
    years = exclusivity_window(facts)
    if end is None:
        return Reading(0.0, 0.0, f"no granted patent in force; {facts.launch_basis}")
    return Reading(round(years, 1), ramp(years, 0.0, FULL_EXCLUSIVITY_YEARS),
                   f"{years:.1f} y of protected sales: {facts.launch_basis}, protected until {end}")


# --- knock-outs ------------------------------------------------------------------------------
def ko_no_revenue_path(facts: PledgeFacts) -> Knockout | None:
    prod = facts.req.product
    if prod.peak_sales.p50 == 0:
        why = "the median peak-sales forecast is zero"
    elif prod.royalty_rate == 0:
        why = "the royalty rate is zero"
    elif prod.royalty_rate is None and prod.profit_margin == 0:
        why = "the profit margin is zero"
    else:
        return None
    return Knockout("no_revenue_path", [],
                    f"No IP cash flow: {why}, so the pledged patents earn nothing to repay from",
                    "Document a revenue path for the product (a sales forecast with its basis, a margin, "
                    "or a licence with a royalty) before applying")


def ko_no_exclusivity_at_launch(facts: PledgeFacts) -> Knockout | None:
    end = facts.exclusivity_end
    if end is None or end > facts.launch:
        return None
    return Knockout("no_exclusivity_at_launch", ids(facts.in_force),
                    f"Every granted patent expires by {end}, before the {facts.launch_basis}",
                    "Pledge patents that run beyond launch (e.g. formulation or new-use patents), or apply for "
                    "new-drug term compensation once approved")


CARD = Card(
    key="revenue_potential",
    indicators=(
        Indicator("Peak sales (p50)", 0.25, peak_sales),
        Indicator("Forecast spread (p90/p10)", 0.10, spread),
        Indicator("Development stage", 0.20, stage),
        Indicator("Margin", 0.10, margin),
        Indicator("Reimbursement (NRDL)", 0.10, reimbursement),
        Indicator("VBP exposure", 0.10, vbp),
        Indicator("Exclusivity after launch", 0.15, exclusivity_after_launch),
    ),
    knockouts=(ko_no_revenue_path, ko_no_exclusivity_at_launch),
)

"""Model parameters of the cash-flow and credit simulation, each with its source.

Scenarios (scenarios/stress/*.yaml) address these by dotted path ``model.<name>`` (e.g.
``model.vbp_cut_mean: {scale: 1.2}``); request fields are addressed by their schema path.
Numbers marked *assumption* have no published source we could cite; they are deliberately
exposed here so that a validation team can stress them.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

# Each entry: parameter -> source (kept next to the value so docs and code cannot drift).
SOURCES: dict[str, str] = {
    "erosion_mean": "Loss-of-exclusivity sales erosion, mean of a Beta: small molecule 0.80 (72% of US brand "
                    "sales lost within 6 months of generic entry, Datamonitor via ASPE; generics reach 60-96% "
                    "share within 5 years, Berndt & Aitken 2010), biologic 0.45 (biosimilars price 25-55% below, "
                    "originator -27% to -50%, BioDrugs 2023); vaccine and cell/gene as biologic, TCM 0.50 and "
                    "device 0.50 are assumptions (DESIGN §8.4)",
    "erosion_concentration": "assumption: Beta concentration a+b = 10 (sd about 0.13 at mean 0.80)",
    "vbp_hazard": "annual hazard of a China VBP event once launched, by exposure none/low/medium/high "
                  "(DESIGN §8.5)",
    "vbp_cut_mean": "mean VBP price cut 0.53: 4+7 pilot 52%, round 5 56%, round 7 48% (China Daily 2018; BMJ "
                    "Global Health 2021; national VBP announcements)",
    "vbp_cut_concentration": "assumption: Beta concentration 6 (per-molecule cuts ranged 25-96% in 4+7)",
    "grant_probability": "pending invention: 0.473, CNIPA 2020 annual report issue rate (issued / concluded); "
                         "utility model and design 0.90, assumption (formal examination only)",
    "invalidation_probability": "invalidation pending, share completely invalidated: invention 0.253, utility "
                                "model 0.392, design 0.46 (CNIPA 2020 annual report)",
    "patent_resolution_years": "pending grant and invalidation outcomes become known after 2 years "
                               "(CNIPA 2020: invention pendency 20 months, invalidation 5.9 months)",
    "q_base": "probability a borrower short of runway raises money (a round or a refinancing) in a year: "
              "0.85, calibrated by `ipledge calibrate` (risk/calibrate.py; book scenarios/books/korea_ip_book.yaml, "
              "seed 7, 4,000 paths per segment) on the merged sim-2 engine: the book's one-year default rate is "
              "1.41%, inside Korea's 1.05-1.56% IP-loan NPL band 2020-2023 (KIPO via newsis 2024-11-05, "
              "lending.md); the band's middle (1.31%) would need odds above q_after_success, so the fit takes the "
              "in-band rate nearest to it at q_base = q_after_success. Under funding_winter the book defaults "
              "at 7.28% (>= 2.55%, H1 2024). Before: 0.8411 on sim-1 valuations (issue 11), design value 0.6 (DESIGN §9)",
    "q_after_success": "0.85 in a year with a phase success (DESIGN §9)",
    "q_after_failure": "0.20 after a pipeline failure, in its year and every later year (DESIGN §9)",
    "raise_years_of_burn": "assumption: a successful round covers the deficit plus one year of burn",
    "duration_sigma": "lognormal sigma of phase durations, 0.4 (DESIGN §7)",
    "extra_delay_years": "stress only: years added to the time left in the current stage",
    "horizon_after_exclusivity_years": "cash flows counted to exclusivity end + 5 years (DESIGN §8)",
    "max_horizon_years": "at most 30 annual steps (DESIGN §8)",
    "max_guarantee_share": "assumption: a guarantor covers at most 80% of a loss (the 80/20 bank-guarantor "
                           "split common in Chinese policy guarantees; the bank keeps 20%)",
    "min_offer_fraction": "assumption: a counter-offer below 25% of the requested amount is not worth making",
    "ltv_grid_points": "numerical: candidate amounts in the coarse LTV grid (refined once, then interpolated)",
    # issue 10: cost to complete, units
    "cost_per_study_usd": "cost per study Phase I / II / III about $30M / $70M / $310M (Fernando et al., Pfizer, "
                          "Drug Discovery Today 2021; market.md). Preclinical and filing: no cited per-study "
                          "figure, 0 (assumption: give product.development_cost when they matter)",
    "studies_per_phase": "assumption: one study per remaining phase (a China-only NMPA programme with one pivotal "
                         "trial); raise it for a multi-regional plan",
    "china_cost_factor": "assumption: a Chinese trial costs 0.30 of the per-study figure above (no cited source "
                         "in market.md; stress it via model.china_cost_factor)",
    "usd_cny": "assumption: 7.1 CNY per USD (order of the 2023-2025 exchange rate) to turn the USD per-study "
               "costs into CNY",
    "current_phase_cost_left": "the current phase has a uniform fraction of its duration left (DESIGN §8.1), "
                               "so on average half of its cost is still to pay",
    "inflation": "assumption: 2% a year CNY inflation; the valuation is in real terms (DiMasi 2016's 10.5% is a "
                 "real rate; peak sales and costs are in today's CNY), the loan is nominal, so the collateral "
                 "at year t is restated in CNY of year t by (1 + inflation)^t before it meets the loan",
    "approved_launch_month": "assumption: a product approved in launch_year launched mid-year (1 July) when only "
                             "the year is known",
    "runway_target_years": "assumption: a biotech raises ahead of need when its runway (cash net of the loan "
                           "over net burn) drops under 18 months, and a round tops runway up to 18 months; "
                           "the usual 12-18-month trigger of venture practice, upper end (issue 11)",
    "party_limits": "EL rate a party accepts on its share: guarantor 1.0% a year (assumption: its fee; "
                    "Chinese policy financing-guarantee fees are held near or below 1% a year), insurer 1.5% a year "
                    "(assumption: a loan-guarantee-insurance premium), appraiser 1.0% a year (assumption: its fee); "
                    "fund 10% over the loan's life (the Guangdong pools hold CNY 5.8bn against ~58bn covered, about "
                    "10x leverage, lending.md: CNY 0.10 of pool per CNY of covered loan); a fund's other limits are "
                    "its caps (risk/data/schemes.yaml)",
    "party_limit_basis": "fees are yearly (annual EL rate); a fund's capital covers the loan's life (lifetime rate)",
    "borrower_capacity": "assumption: a loan is at most 35% of the applicant's cash plus 50% of a year's revenue "
                         "(venture lenders size a loan at about a third of the borrower's cash, 25-35% of the last "
                         "round being the usual rule of thumb; working-capital lenders size it on turnover, the "
                         "CBIRC working-capital loan measures use the operating funding gap)",
    "search_rel_tol": "numerical: the max loan is bisected to 0.5% of the answer or CNY 10,000 (issue 11)",
    "search_abs_tol": "numerical: CNY 10,000 (see search_rel_tol)",
    "ltv_se_limit": "numerical: above 1 percentage point of LTV standard error the assessment re-runs "
                    "with 4x the paths, up to IPLEDGE_MAX_PATHS (issue 11)",
    "se_batches": "numerical: batch means over 20 batches of paths for the standard errors",
    "q_during_delay": "assumption (stress only, with extra_delay_years > 0): while a stressed trial delay runs, "
                      "until the delayed readout, a borrower short of runway raises with the odds after a "
                      "failure (0.20): investors read a two-year slip of the lead trial (slow enrolment, a "
                      "protocol change) as bad news, and the stress must not be eased by moving the binary "
                      "readout past maturity (issue 11)",
}


def _default_erosion() -> dict[str, float]:
    return {"small_molecule": 0.80, "biologic": 0.45, "vaccine": 0.45, "cell_gene": 0.45,
            "tcm": 0.50, "device": 0.50}


@dataclass(frozen=True)
class ModelParams:
    erosion_mean: dict[str, float] = field(default_factory=_default_erosion)
    erosion_concentration: float = 10.0
    vbp_hazard: dict[str, float] = field(
        default_factory=lambda: {"none": 0.0, "low": 0.05, "medium": 0.15, "high": 0.30})
    vbp_cut_mean: float = 0.53
    vbp_cut_concentration: float = 6.0
    grant_probability: dict[str, float] = field(
        default_factory=lambda: {"invention": 0.473, "utility_model": 0.90, "design": 0.90})
    invalidation_probability: dict[str, float] = field(
        default_factory=lambda: {"invention": 0.253, "utility_model": 0.392, "design": 0.46})
    patent_resolution_years: int = 2
    q_base: float = 0.85                # calibrated: see SOURCES['q_base']
    q_after_success: float = 0.85
    q_after_failure: float = 0.20
    raise_years_of_burn: float = 1.0
    duration_sigma: float = 0.4
    duration_scale: float = 1.0          # scenarios stretch all phase durations (trial delays)
    extra_delay_years: float = 0.0       # scenarios: years added to the current stage (a trial delay)
    success_scale: float = 1.0           # scenarios scale transition probabilities (odds kept in 0..1)
    horizon_after_exclusivity_years: int = 5
    max_horizon_years: int = 30
    exclusivity_shift_years: float = 0.0  # scenarios: generic entry earlier (< 0) than patent expiry
    max_guarantee_share: float = 0.80
    min_offer_fraction: float = 0.25
    ltv_grid_points: int = 16
    # issue 10 (sources in SOURCES): cost to complete with abandonment, units
    cost_per_study_usd: dict[str, float] = field(default_factory=lambda: {
        "preclinical": 0.0, "phase1": 30e6, "phase2": 70e6, "phase3": 310e6, "filed": 0.0})
    studies_per_phase: dict[str, float] = field(default_factory=lambda: {
        "preclinical": 1.0, "phase1": 1.0, "phase2": 1.0, "phase3": 1.0, "filed": 1.0})
    china_cost_factor: float = 0.30
    usd_cny: float = 7.1
    current_phase_cost_left: float = 0.5
    inflation: float = 0.02
    approved_launch_month: int = 7
    runway_target_years: float = 1.5
    party_limits: dict[str, float] = field(
        default_factory=lambda: {"guarantor": 0.010, "insurer": 0.015, "appraiser": 0.010, "fund": 0.10})
    party_limit_basis: dict[str, str] = field(
        default_factory=lambda: {"guarantor": "annual", "insurer": "annual", "appraiser": "annual",
                                 "fund": "lifetime"})
    borrower_capacity: dict[str, float] = field(default_factory=lambda: {"cash": 0.35, "revenue": 0.50})
    search_rel_tol: float = 0.005
    search_abs_tol: float = 10_000.0
    ltv_se_limit: float = 0.01
    se_batches: int = 20
    q_during_delay: float = 0.20         # stress: odds while a stressed trial delay runs (SOURCES)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def fingerprint(self) -> str:
        """Short hash of the parameters, stored with results so a run can be reproduced."""
        # the same JSON as of to_dict() (sort_keys sorts the nested dicts too), without its deep copy
        blob = json.dumps({f.name: getattr(self, f.name) for f in dataclasses.fields(self)}, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    @classmethod
    def from_dict(cls, data: dict) -> "ModelParams":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown model parameter(s): {', '.join(sorted(unknown))}")
        base = cls().to_dict()
        for k, v in data.items():
            if isinstance(base[k], dict):
                if not isinstance(v, dict) or set(v) - set(base[k]):
                    raise ValueError(f"model.{k} takes keys {sorted(base[k])}")
                base[k] = {**base[k], **v}
            else:
                base[k] = v
        return cls(**base)


DEFAULT_PARAMS = ModelParams()

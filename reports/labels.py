"""Label tables: what a reader sees for each code of the API (actions, schemes, knock-outs, stages, ...).

Codes stay in the API and in the JSON; the page and the reports show these labels, translated through
the message catalogue (``reports/translations``; ``N_`` only marks a string for ``pybabel extract``).
A code with no label is a bug caught by ``tests/test_i18n.py`` (no code identifier may reach a reader);
:func:`label` then falls back to the code with spaces so a reader never sees an underscore.
"""
from __future__ import annotations


def N_(s: str) -> str:
    """Mark a message for extraction; translated where it is shown."""
    return s


DECISIONS = {"approve": N_("Approve"), "approve_with_conditions": N_("Approve with conditions"),
             "decline": N_("Decline")}

STAGES = {"preclinical": N_("preclinical"), "phase1": N_("phase I"), "phase2": N_("phase II"),
          "phase3": N_("phase III"), "filed": N_("filed for approval"), "approved": N_("approved")}

SCHEMES = {"none": N_("none (the bank bears the whole loss)"), "guangzhou_5311": N_("Guangzhou 5311 scheme"),
           "zhongshan": N_("Zhongshan scheme"), "zhuhai": N_("Zhuhai scheme"),
           "custom": N_("custom loss sharing"),
           # issue 11 catalogue (risk/data/schemes.yaml)
           "guangzhou_2023": N_("Guangzhou 2023 risk-compensation pool"),
           "guangzhou_55": N_("Guangzhou 55 scheme (legacy)"),
           "shenzhen": N_("Shenzhen SME risk-compensation pool")}

#: conditions a bank profile's product terms attach to every loan (risk/data/bank_profiles.yaml ``conditions``)
PROFILE_CONDITIONS = {"ccb": (N_("Joint guarantee of the owner (CCB product terms)."),)}

#: bank policy profiles (risk/data/bank_profiles.yaml)
PROFILES = {"custom": N_("the bank's own policy"), "ccb": N_("China Construction Bank patent pledge loan"),
            "bocom": N_("Bank of Communications IP pledge loan")}

PARTIES = {"bank": N_("bank"), "fund": N_("risk-compensation fund"), "guarantor": N_("guarantee agency"),
           "appraiser": N_("appraiser"), "insurer": N_("insurer"), "government": N_("government")}

ACTIONS = {
    "pay_fees": N_("Pay the outstanding annual fees"),
    "co_owner_consent": N_("Obtain the co-owners' consent"),
    "release_pledge": N_("Release the existing pledge"),
    "shorten_term": N_("Shorten the loan term"),
    "grant_pending": N_("Obtain the grant of the pending applications"),
    "clear_all_blockers": N_("Clear every blocking item"),
    "join_guangzhou_5311": N_("Join the Guangzhou 5311 scheme"),
    "join_zhongshan": N_("Join the Zhongshan scheme"),
    "join_zhuhai": N_("Join the Zhuhai scheme"),
    "join_guangzhou_2023": N_("Join the Guangzhou 2023 risk-compensation pool"),
    "join_guangzhou_55": N_("Join the Guangzhou 55 scheme"),
    "join_shenzhen": N_("Join the Shenzhen SME risk-compensation pool"),
    "add_guarantee": N_("Add a guarantee agency"),
    "extend_family": N_("Extend the patent family to the US and Europe"),
    "next_stage": N_("Reach the next development stage"),
    "raise_equity": N_("Raise one more year of cash"),
}

#: what an action does, from its ``params`` (ipledge.risk.readiness); %(name)s placeholders
ACTION_DETAILS = {
    "pay_fees": N_("Pay the outstanding annual fees on %(patents)s to CNIPA."),
    "co_owner_consent": N_("Obtain the written consent of every co-owner of %(patents)s."),
    "release_pledge": N_("Repay and release the existing pledge on %(patents)s."),
    "shorten_term": N_("Shorten the loan to %(years)s years so that it matures before the patents expire "
                       "(%(end)s)."),
    "grant_pending": N_("Obtain the grant of %(patents)s (a milestone: CNIPA examination takes about 20 months)."),
    "clear_all_blockers": N_("All of: %(actions)s."),
    "join": N_("Loss split %(split)s; only for firms registered in that city."),
    "join_capped": N_("Loss split %(split)s; the fund pays at most %(cap)s per bad loan; only for firms "
                      "registered in that city."),
    # GB/T 42748 evidence (ipledge.risk.readiness.evidence_actions): title and what the evidence would do
    "add_evidence": N_("Add evidence: %(indicator)s (GB/T 42748 %(code)s)"),
    "add_evidence_detail": N_("%(card)s %(before)s → %(best)s at the best documented level (%(best_level)s), "
                              "%(worst)s at the worst (%(worst_level)s)."),
    "add_guarantee": N_("A guarantee agency covers %(share)s of the bank's share of any loss."),
    "extend_family": N_("Add %(offices)s to %(patents)s."),
    "next_stage": N_("From %(from)s to %(to)s."),
    "next_stage_launch": N_("From %(from)s to %(to)s, with launch next year."),
    "raise_equity": N_("An equity round of one year of burn: %(amount)s more cash."),
}

#: why an action changes neither the amount nor the decision (ipledge.risk.readiness NO_EFFECT codes)
NO_EFFECT = {
    "blockers_remain": N_("another blocking item remains, so nothing can be lent yet"),
    "policy_cap": N_("the amount is already at the policy cap on LTV; the action does not raise the "
                     "appraised value"),
    "no_lendable_amount": N_("the bank's expected-loss rate stays above its limit at every amount"),
    "unchanged": N_("the assessment gives the same amount and decision"),
}

#: the same reasons naming the limit that sets the amount after the action (its ``binding_after``)
NO_EFFECT_AT = {
    "no_lendable_amount": N_("no amount meets the %(limit)s"),
    "no_value": N_("the IP has no appraised value, so nothing can be lent against it"),
    "unchanged": N_("the amount and the decision stay the same; the amount is still set by the %(limit)s"),
}

KNOCKOUTS = {
    "no_granted_in_force": N_("No granted patent in force"),
    "expires_before_maturity": N_("Patents expire before the loan matures"),
    "existing_pledge": N_("Already pledged"),
    "co_owner_consent_missing": N_("Co-owners' consent missing"),
    "fees_unpaid": N_("Annual fees unpaid"),
    "no_revenue_path": N_("No revenue path"),
    "no_exclusivity_at_launch": N_("No exclusivity at launch"),
    # bank-profile rules (risk/profiles.py)
    "profile_term": N_("Term longer than the bank profile allows"),
    "profile_amount": N_("Amount above the bank profile's maximum"),
    "profile_patent": N_("No patent meets the bank profile's rules"),
}

#: the problem and the fix of each knock-out, rendered from its code and patents (the engine's
#: ``message`` / ``fix`` are English free text and are shown as they are in English)
KNOCKOUT_TEXT = {
    "no_granted_in_force": (N_("None of %(patents)s is granted and in force."),
                            N_("Pledge at least one granted, in-force patent covering the product; CNIPA "
                               "registers pledges only on valid patents.")),
    "expires_before_maturity": (N_("The latest in-force patent (%(patents)s) expires before the loan matures."),
                                N_("Shorten the loan so that it matures before the expiry, or add a granted "
                                   "patent that runs beyond maturity.")),
    "existing_pledge": (N_("%(patents)s already pledged to another lender."),
                        N_("Repay and release the existing pledge registered with CNIPA before re-pledging, "
                           "or take these patents out of the pledge.")),
    "co_owner_consent_missing": (N_("%(patents)s co-owned without the co-owners' consent to the pledge."),
                                 N_("Obtain the written consent of every co-owner and file it with the CNIPA "
                                    "pledge registration.")),
    "fees_unpaid": (N_("Annual fees unpaid on %(patents)s; the patents lapse when the grace period ends."),
                    N_("Pay the outstanding annual fees (with any late surcharge) to CNIPA and show the "
                       "receipts.")),
    "no_revenue_path": (N_("No IP cash flow: the pledged patents earn nothing to repay from."),
                        N_("Document a revenue path (a sales forecast with its basis, a margin, or a licence "
                           "with a royalty) before applying.")),
    "no_exclusivity_at_launch": (N_("Every granted patent (%(patents)s) expires before the expected launch."),
                                 N_("Pledge patents that run beyond launch (formulation or new-use patents), "
                                    "or apply for new-drug term compensation once approved.")),
}

CARDS = {"rights_certainty": N_("Rights certainty (legal value)"),
         "competitive_contribution": N_("Competitive contribution (technical value)"),
         "revenue_potential": N_("Revenue potential (economic value)")}
CARDS_SHORT = {"rights_certainty": N_("Rights certainty"), "competitive_contribution": N_("Competitive contribution"),
               "revenue_potential": N_("Revenue potential")}

INDICATORS = {
    "Status and type": N_("Status and type"), "Stability": N_("Stability"),
    "Remaining term vs loan term": N_("Remaining term vs loan term"), "Claim breadth": N_("Claim breadth"),
    "Jurisdictions": N_("Jurisdictions"), "Ownership": N_("Ownership"), "Encumbrances": N_("Encumbrances"),
    "Fees": N_("Fees"), "Litigation": N_("Litigation"), "Claim type": N_("Claim type"),
    "Competitors and substitutes": N_("Competitors and substitutes"), "Forward citations": N_("Forward citations"),
    "Market coverage": N_("Market coverage"), "Dependency": N_("Dependency"),
    "Peak sales (p50)": N_("Peak sales (p50)"), "Forecast spread (p90/p10)": N_("Forecast spread (p90/p10)"),
    "Development stage": N_("Development stage"), "Margin": N_("Margin"),
    "Reimbursement (NRDL)": N_("Reimbursement (NRDL)"), "VBP exposure": N_("VBP exposure"),
    "Exclusivity after launch": N_("Exclusivity after launch"),
    # what a GB/T 42748 indicator rests on when the simulation derives it (valuation/gbt42748.py, E1)
    "simulation": N_("the simulation"),
    # rows the GB/T 42748 evidence adds to a card (valuation/evidence.py)
    "Design-around difficulty (evidence)": N_("Design-around difficulty (evidence)"),
    "Freedom to operate (evidence)": N_("Freedom to operate (evidence)"),
    "Technical problem (evidence)": N_("Technical problem (evidence)"),
    "Originality (evidence)": N_("Originality (evidence)"),
    "Technical effect (evidence)": N_("Technical effect (evidence)"),
    "Technical fields (evidence)": N_("Technical fields (evidence)"),
    "Breadth of fields (evidence)": N_("Breadth of fields (evidence)"),
    "Complementary technology (evidence)": N_("Complementary technology (evidence)"),
    "Technology life cycle (evidence)": N_("Technology life cycle (evidence)"),
    "Defensive value (evidence)": N_("Defensive value (evidence)"),
    "Market share (evidence)": N_("Market share (evidence)"),
    "Industrial-policy fit (evidence)": N_("Industrial-policy fit (evidence)"),
    "Licences and transfers (evidence)": N_("Licences and transfers (evidence)"),
    "Financing and insurance history (evidence)": N_("Financing and insurance history (evidence)"),
    "Litigation and arbitration record (evidence)": N_("Litigation and arbitration record (evidence)"),
}

AREAS = {"hematology": N_("hematology"), "metabolic": N_("metabolic"), "infectious_disease": N_("infectious disease"),
         "ophthalmology": N_("ophthalmology"), "autoimmune": N_("autoimmune"), "allergy": N_("allergy"),
         "gastroenterology": N_("gastroenterology"), "respiratory": N_("respiratory"), "psychiatry": N_("psychiatry"),
         "endocrine": N_("endocrine"), "neurology": N_("neurology"), "oncology": N_("oncology"),
         "cardiovascular": N_("cardiovascular"), "urology": N_("urology"), "other": N_("other"),
         "tcm": N_("traditional Chinese medicine"), "device": N_("medical device")}
MODALITIES = {"small_molecule": N_("small molecule"), "biologic": N_("biologic"), "vaccine": N_("vaccine"),
              "cell_gene": N_("cell or gene therapy"), "tcm": N_("traditional Chinese medicine"),
              "device": N_("medical device")}
PATENT_KINDS = {"invention": N_("invention patent"), "utility_model": N_("utility model"), "design": N_("design patent")}
PATENT_STATUSES = {"granted": N_("granted"), "pending": N_("pending"), "lapsed": N_("lapsed"),
                   "invalidated": N_("invalidated")}
CLAIM_TYPES = {"compound": N_("compound"), "formulation": N_("formulation"), "process": N_("process"),
               "use": N_("use"), "device": N_("device"), "other": N_("other")}
INVALIDATION = {"none": N_("never challenged"), "upheld": N_("upheld"), "partially_upheld": N_("partially upheld"),
                "pending": N_("invalidation pending")}
VBP = {"none": N_("none"), "low": N_("low"), "medium": N_("medium"), "high": N_("high")}
REPAYMENT = {"bullet": N_("bullet (principal at maturity)"), "amortizing": N_("amortizing")}
SCENARIOS = {"": N_("(none)"), "adverse": N_("adverse"), "funding_winter": N_("funding winter"),
             "generic_entry_early": N_("early generic entry"), "liquidation_stress": N_("liquidation stress"),
             "patent_invalidation": N_("patent invalidation"), "phase_failure": N_("phase failure"),
             "rate_shock_300bp": N_("rate shock +300 bp"), "severely_adverse": N_("severely adverse"),
             "trial_delay_2y": N_("trial delay of two years"), "vbp_price_cut": N_("VBP price cut")}
#: what sets the amount: the engine's recommendation.binding_constraint (issue 11), "party:<name>" through
#: BINDING_PARTY; max_ltv / expected_loss are the pre-issue-11 names, kept for stored results
BINDING = {"bank_el": N_("bank expected-loss limit"),
           "total_el": N_("limit on the expected loss of all parties together"),
           "pd": N_("limit on the one-year probability of default"),
           "scheme_cap": N_("bank expected-loss limit once the fund's compensation cap binds"),
           "policy_ltv_cap": N_("policy cap on LTV"), "borrower_capacity": N_("borrower's repayment capacity"),
           "profile_max_amount": N_("bank profile's maximum amount"),
           "max_ltv": N_("policy cap on LTV"), "expected_loss": N_("bank expected-loss limit"),
           "knockout": N_("blocking items"), "no_value": N_("no appraised value")}
BINDING_PARTY = N_("%(party)s's expected-loss limit")

#: the rows of recommendation.checks (ipledge.risk.credit.checks_at), "party:<name>" through LIMIT_PARTY
LIMITS = {"bank_el": N_("Bank expected-loss rate"), "total_el": N_("Expected-loss rate of all parties together"),
          "pd": N_("One-year probability of default"),
          "scheme_cap": N_("Bank expected-loss rate once the fund's cap binds"),
          "policy_ltv_cap": N_("LTV against the policy cap"),
          "borrower_capacity": N_("Amount against the borrower's repayment capacity"),
          "profile_max_amount": N_("Amount against the bank profile's maximum"),
          "knockout": N_("Blocking items")}
LIMIT_PARTY = N_("Expected-loss rate of the %(party)s on its share")

#: GB/T 42748 crosswalk (valuation/gbt42748.py): statuses and dimensions
GBT_STATUS = {"evidenced": N_("evidenced"), "derived": N_("derived"), "missing": N_("missing")}
GBT_DIMENSION = {"legal": N_("legal value"), "technical": N_("technical value"), "economic": N_("economic value")}

#: levels of the GB/T 42748 evidence vocabularies (valuation/schema.py), least to most favourable
EVIDENCE_LEVELS = {
    "easy": N_("easy to design around"), "costly": N_("costly to design around"),
    "not_found": N_("no design-around found"),
    "blocked": N_("blocked by third-party rights"), "licensed": N_("licensed"), "clear": N_("clear to operate"),
    "incremental": N_("incremental"), "improves_standard_of_care": N_("improves the standard of care"),
    "unmet_need": N_("addresses an unmet need"),
    "me_too": N_("me-too"), "fast_follower": N_("fast follower"), "best_in_class": N_("best in class"),
    "first_in_class": N_("first in class"),
    "none_shown": N_("none shown"), "preclinical": N_("preclinical"), "clinical_efficacy": N_("clinical efficacy"),
    "clinical_superiority": N_("clinical superiority"),
    "third_party_controlled": N_("controlled by a third party"), "available": N_("available"),
    "none_needed": N_("none needed"),
    "decline": N_("declining"), "emerging": N_("emerging"), "mature": N_("mature"), "growth": N_("growing"),
    "none_known": N_("none known"), "cross_licence_leverage": N_("cross-licence leverage"),
    "deterred_entry": N_("has deterred entry"),
    "restricted": N_("restricted"), "neutral": N_("neutral"), "encouraged": N_("encouraged"),
    "national_priority": N_("national priority"),
    "lost": N_("lost"), "settled": N_("settled"), "none": N_("none"), "won": N_("won"),
}
#: evidence levels that are numbers or records: msgid per evidence field
EVIDENCE_VALUE = {"technical_fields": N_("%(n)s IPC subclass(es)"), "ipc_sections": N_("%(n)s IPC section(s)"),
                  "market_share": N_("%(n)s of its segment"),
                  "licences_and_transfers": N_("%(n)s recorded contract(s)"),
                  "financing": N_("%(repaid)s IP loan(s) repaid, %(defaults)s in default, %(insurance)s")}
INSURED = {True: N_("insured"), False: N_("no IP insurance")}

#: the bundled examples' button titles (their YAML comments are English)
CASES = {"anaesthetic_injectable": N_("Marketed anaesthetic injectable"),
         "biologic_phase3_coowned": N_("Phase III autoimmune biologic, co-owned"),
         "existing_pledge_generic": N_("Marketed generic, already pledged"),
         "medical_consumable_utility": N_("Medical consumable on a utility model"),
         "oncology_antibody_phase2": N_("Phase II oncology antibody"),
         "pending_only": N_("Applications only, none granted"),
         "small_molecule_phase1": N_("Phase I small molecule, no revenue"),
         "tcm_formulation": N_("TCM formulation patent"),
         "antibody_phase1_cashpoor": N_("Phase I antibody, little cash"),
         "car_t_phase2": N_("Phase II CAR-T"),
         "generic_small_molecule_marketed": N_("Marketed generic small molecule"),
         "oncology_biologic_phase3_cashrich": N_("Phase III oncology biologic, cash-rich"),
         "tcm_utility_model": N_("TCM product on a utility model")}

TABLES = {"decision": DECISIONS, "stage": STAGES, "scheme": SCHEMES, "party": PARTIES, "action": ACTIONS,
          "no_effect": NO_EFFECT, "knockout": KNOCKOUTS, "card": CARDS, "card_short": CARDS_SHORT,
          "indicator": INDICATORS, "area": AREAS, "modality": MODALITIES, "kind": PATENT_KINDS,
          "status": PATENT_STATUSES, "claim_type": CLAIM_TYPES, "invalidation": INVALIDATION, "vbp": VBP,
          "repayment": REPAYMENT, "scenario": SCENARIOS, "binding": BINDING, "case": CASES,
          "profile": PROFILES, "limit": LIMITS, "gbt_status": GBT_STATUS, "gbt_dimension": GBT_DIMENSION,
          "evidence_level": EVIDENCE_LEVELS}


def label_msgid(kind: str, code) -> str:
    """The English label of ``code`` in table ``kind`` (the code with spaces when it has none)."""
    table = TABLES[kind]
    code = "" if code is None else str(code)
    if code in table:
        return table[code]
    if kind in ("binding", "limit") and code.startswith("party:"):
        return code[6:].replace("_", " ")   # callers format BINDING_PARTY / LIMIT_PARTY (ipledge.reports.narrative)
    if kind == "action" and code.startswith("join_"):
        return ACTIONS.get(code, code[5:].replace("_", " "))
    return code.replace("_", " ")


#: scorecard indicator values (valuation/*.py write them in English): (regex, msgid with the groups)
VALUE_PATTERNS = (
    (r"(granted|pending|lapsed|invalidated) (invention|utility model|design)", None),  # status + kind labels
    (r"(\d+) independent / (\d+) total", N_("%(a)s independent / %(b)s claims in total")),
    (r"(\d+) co-owners?, consent given", N_("%(a)s co-owner(s), consent given")),
    (r"(\d+) co-owners?", N_("%(a)s co-owner(s)")),
    (r"exclusive licence out, (\d+) co-owners?", N_("exclusive licence out, %(a)s co-owner(s)")),
    (r"unpaid on (\d+)", N_("unpaid on %(a)s")),
    (r"pledge x(\d+)", N_("pledged ×%(a)s")),
    (r"exclusive licence x(\d+)", N_("exclusive licence out ×%(a)s")),
    (r"pending on (\d+)", N_("pending on %(a)s")),
    (r"sole owner", N_("sole owner")), (r"all paid", N_("all paid")), (r"none", N_("none")),
    (r"own and unlicensed", N_("own and unlicensed")), (r"exclusive licence out", N_("exclusive licence out")),
    (r"NRDL listed", N_("NRDL listed")), (r"not listed", N_("not listed")),
    (r"partially upheld", N_("partially upheld")), (r"upheld", N_("upheld")),
    (r"invalidation pending", N_("invalidation pending")),
)

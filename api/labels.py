"""Label tables: what a reader sees for each code of the API (actions, schemes, knock-outs, stages, ...).

Codes stay in the API and in the JSON; the page and the reports show these labels, translated through
the message catalogue (``api/translations``; ``N_`` only marks a string for ``pybabel extract``).
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
           "custom": N_("custom loss sharing")}

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
    "add_guarantee": N_("Add a guarantee agency"),
    "extend_family": N_("Extend the patent family to the US and Europe"),
    "next_stage": N_("Reach the next development stage"),
    "raise_equity": N_("Raise one more year of cash"),
}

#: what an action does, from its ``params`` (risk.readiness); %(name)s placeholders
ACTION_DETAILS = {
    "pay_fees": N_("Pay the outstanding annual fees on %(patents)s to CNIPA."),
    "co_owner_consent": N_("Obtain the written consent of every co-owner of %(patents)s."),
    "release_pledge": N_("Repay and release the existing pledge on %(patents)s."),
    "shorten_term": N_("Shorten the loan to %(years)s years so that it matures before the patents expire "
                       "(%(end)s)."),
    "grant_pending": N_("Obtain the grant of %(patents)s (a milestone: CNIPA examination takes about 20 months)."),
    "clear_all_blockers": N_("All of: %(actions)s."),
    "join": N_("Loss split %(split)s; only for firms registered in that city."),
    "add_guarantee": N_("A guarantee agency covers %(share)s of the bank's share of any loss."),
    "extend_family": N_("Add %(offices)s to %(patents)s."),
    "next_stage": N_("From %(from)s to %(to)s."),
    "next_stage_launch": N_("From %(from)s to %(to)s, with launch next year."),
    "raise_equity": N_("An equity round of one year of burn: %(amount)s more cash."),
}

#: why an action changes neither the amount nor the decision (risk.readiness NO_EFFECT codes)
NO_EFFECT = {
    "blockers_remain": N_("another blocking item remains, so nothing can be lent yet"),
    "policy_cap": N_("the amount is already at the policy cap on LTV; the action does not raise the "
                     "appraised value"),
    "no_lendable_amount": N_("the bank's expected-loss rate stays above its limit at every amount"),
    "unchanged": N_("the assessment gives the same amount and decision"),
}

KNOCKOUTS = {
    "no_granted_in_force": N_("No granted patent in force"),
    "expires_before_maturity": N_("Patents expire before the loan matures"),
    "existing_pledge": N_("Already pledged"),
    "co_owner_consent_missing": N_("Co-owners' consent missing"),
    "fees_unpaid": N_("Annual fees unpaid"),
    "no_revenue_path": N_("No revenue path"),
    "no_exclusivity_at_launch": N_("No exclusivity at launch"),
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
BINDING = {"max_ltv": N_("policy cap on LTV"), "expected_loss": N_("bank expected-loss limit"),
           "knockout": N_("blocking items"), "no_value": N_("no appraised value")}

#: the bundled examples' button titles (their YAML comments are English)
CASES = {"anaesthetic_injectable": N_("Marketed anaesthetic injectable"),
         "biologic_phase3_coowned": N_("Phase III autoimmune biologic, co-owned"),
         "existing_pledge_generic": N_("Marketed generic, already pledged"),
         "medical_consumable_utility": N_("Medical consumable on a utility model"),
         "oncology_antibody_phase2": N_("Phase II oncology antibody"),
         "pending_only": N_("Applications only, none granted"),
         "small_molecule_phase1": N_("Phase I small molecule, no revenue"),
         "tcm_formulation": N_("TCM formulation patent")}

TABLES = {"decision": DECISIONS, "stage": STAGES, "scheme": SCHEMES, "party": PARTIES, "action": ACTIONS,
          "no_effect": NO_EFFECT, "knockout": KNOCKOUTS, "card": CARDS, "card_short": CARDS_SHORT,
          "indicator": INDICATORS, "area": AREAS, "modality": MODALITIES, "kind": PATENT_KINDS,
          "status": PATENT_STATUSES, "claim_type": CLAIM_TYPES, "invalidation": INVALIDATION, "vbp": VBP,
          "repayment": REPAYMENT, "scenario": SCENARIOS, "binding": BINDING, "case": CASES}


def label_msgid(kind: str, code) -> str:
    """The English label of ``code`` in table ``kind`` (the code with spaces when it has none)."""
    table = TABLES[kind]
    code = "" if code is None else str(code)
    if code in table:
        return table[code]
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
    (r"pending on (\d+)", N_("pending on %(a)s")),
    (r"sole owner", N_("sole owner")), (r"all paid", N_("all paid")), (r"none", N_("none")),
    (r"own and unlicensed", N_("own and unlicensed")), (r"exclusive licence out", N_("exclusive licence out")),
    (r"NRDL listed", N_("NRDL listed")), (r"not listed", N_("not listed")),
    (r"partially upheld", N_("partially upheld")), (r"upheld", N_("upheld")),
    (r"invalidation pending", N_("invalidation pending")),
)

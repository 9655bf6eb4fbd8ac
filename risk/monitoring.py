"""Alert triggers of a booked loan and the action each suggests (issue 17).

A loan carries its monitoring policy (set at booking, defaults below). After each revaluation the
triggers compare the new valuation with the previous one; a trigger fires on the valuation where its
condition *appears* (an edge, not a level), so a persistent breach is one alert, acknowledged once:

=================  ============================================  =============================  =================
trigger            fires when                                    default                        suggested action
=================  ============================================  =============================  =================
ltv_above          LTV on the balance > max_ltv, and it was not  the assessment's              top_up_collateral
                   on the previous valuation (collateral worth   ``policy.max_ltv`` (the
                   0 with a balance counts as above)             lender's own cap)
value_down         collateral value fell by more than value_drop 20% (assumption)              add_guarantee
                   against the previous valuation
pd_up              PD to maturity rose by more than pd_rise      10 points (assumption)         add_guarantee
                   (absolute) against the previous valuation
knockout           a knock-out code the previous valuation did   on                             call_loan
                   not have (fees missed -> ``fees_unpaid``,
                   every right invalidated -> ``no_granted_in_force``, ...)
invalidation_lost  the event is an invalidation decision that    on                             call_loan
                   invalidated a pledged patent
=================  ============================================  =============================  =================

No regulation fixes these numbers: the 2017 CBRC guidelines on collateral management of commercial
banks (商业银行押品管理指引) ask for revaluation on material changes and at least yearly, not for a
threshold, and IFRS 9's "significant increase in credit risk" leaves the PD threshold to the lender.
The 20% and 10 points are therefore assumptions a lender sets per loan (``monitoring`` at booking).
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from ipledge.valuation import units as U
from ipledge.valuation.schema import Number

DEFAULT_VALUE_DROP = 0.20   # assumption (see the module docstring)
DEFAULT_PD_RISE = 0.10      # assumption: 10 percentage points
Action = Literal["top_up_collateral", "add_guarantee", "call_loan"]
TRIGGERS = ("ltv_above", "value_down", "pd_up", "knockout", "invalidation_lost")


class Monitoring(BaseModel):
    """A loan's alert triggers (omitted keys take the defaults above)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra=U.describe_units)
    max_ltv: Annotated[Number, Field(gt=0, le=1), U.FRACTION] | None = Field(
        default=None, description="LTV on the balance above which to alert; default the assessment's policy.max_ltv")
    value_drop: Annotated[Number, Field(gt=0, le=1), U.FRACTION] = Field(
        default=DEFAULT_VALUE_DROP, description="Alert when collateral value falls by more than this share "
                                                "(assumption 0.20)")
    pd_rise: Annotated[Number, Field(gt=0, le=1), U.PROBABILITY] = Field(
        default=DEFAULT_PD_RISE, description="Alert when PD to maturity rises by more than this (absolute; "
                                             "assumption 0.10)")
    knockouts: StrictBool = Field(default=True, description="Alert on a new knock-out or a lost invalidation")


def resolve(monitoring: Monitoring, request_policy_max_ltv: float) -> dict:
    """The stored policy: defaults filled in, with where each number comes from."""
    out = monitoring.model_dump()
    out["sources"] = {
        "max_ltv": "given at booking" if monitoring.max_ltv is not None else "assessment policy.max_ltv",
        "value_drop": "given at booking" if "value_drop" in monitoring.model_fields_set else "assumption",
        "pd_rise": "given at booking" if "pd_rise" in monitoring.model_fields_set else "assumption",
    }
    if out["max_ltv"] is None:
        out["max_ltv"] = float(request_policy_max_ltv)
    return out


def _above(v: dict, limit: float) -> bool:
    if v["balance"] <= 0.01:
        return False
    return v["ltv"] is None or v["ltv"] > limit


def _m(x: float) -> str:
    return f"CNY {x / 1e6:,.2f}m"


def alerts_for(policy: dict, new: dict, old: dict | None, event: dict | None = None) -> list[dict]:
    """The alerts a new valuation raises ({trigger, action, numbers, message}); ``new``/``old`` are
    valuation dicts (ipledge.risk.revalue.Valuation.to_dict()); ``event`` the event that caused it, if any."""
    out: list[dict] = []
    limit = float(policy["max_ltv"])
    if new["status"] not in ("active", "defaulted"):
        return out
    if _above(new, limit) and (old is None or not _above(old, limit)):
        cure = max(0.0, new["balance"] - limit * new["collateral_value"])
        ltv_txt = "collateral worth 0" if new["ltv"] is None else f"LTV {new['ltv']:.1%}"
        out.append({"trigger": "ltv_above", "action": "top_up_collateral",
                    "numbers": {"ltv": new["ltv"], "threshold": limit, "balance": new["balance"],
                                "collateral_value": new["collateral_value"], "repay_to_cure": cure},
                    "message": f"{ltv_txt} on a balance of {_m(new['balance'])} exceeds {limit:.0%}: pledge more "
                               f"collateral or repay {_m(cure)} to bring it back under the limit"})
    if old is not None and old["collateral_value"] > 0:
        drop = (old["collateral_value"] - new["collateral_value"]) / old["collateral_value"]
        if drop > policy["value_drop"]:
            out.append({"trigger": "value_down", "action": "add_guarantee",
                        "numbers": {"change": -drop, "threshold": policy["value_drop"],
                                    "previous": old["collateral_value"], "value": new["collateral_value"]},
                        "message": f"collateral value fell {drop:.0%} ({_m(old['collateral_value'])} -> "
                                   f"{_m(new['collateral_value'])}), more than {policy['value_drop']:.0%}: ask for a "
                                   f"guarantee (or a fund's cover) on the balance"})
    if old is not None and new["pd"] - old["pd"] > policy["pd_rise"]:
        out.append({"trigger": "pd_up", "action": "add_guarantee",
                    "numbers": {"change": new["pd"] - old["pd"], "threshold": policy["pd_rise"],
                                "previous": old["pd"], "value": new["pd"]},
                    "message": f"PD to maturity rose {100 * (new['pd'] - old['pd']):.1f} points "
                               f"({old['pd']:.1%} -> {new['pd']:.1%}), more than {100 * policy['pd_rise']:.0f}: add a "
                               f"guarantee or shorten the exposure"})
    if policy.get("knockouts", True):
        fresh = sorted(set(new["knockouts"]) - set(old["knockouts"] if old else ()))
        if fresh:
            out.append({"trigger": "knockout", "action": "call_loan",
                        "numbers": {"knockouts": fresh, "balance": new["balance"]},
                        "message": f"new knock-out {', '.join(fresh)}: the pledge no longer qualifies; "
                                   + ("pay the annual fee with the surcharge within the six-month grace period, "
                                      "or " if "fees_unpaid" in fresh else "")
                                   + "call the loan"})
        if event is not None and event.get("type") == "invalidation_decided" and event.get("outcome") == "invalidated":
            out.append({"trigger": "invalidation_lost", "action": "call_loan",
                        "numbers": {"patent_id": event["patent_id"], "balance": new["balance"],
                                    "collateral_value": new["collateral_value"]},
                        "message": f"patent {event['patent_id']} was invalidated: it leaves the collateral; "
                                   f"call the loan or replace the pledge"})
    return out

"""How fast this machine is, in the unit the speed targets were set in.

The issue that set the boundary targets measured a full ``fhir.resources`` parse of the
official R4 example at about 6,000 per second on its machine. Measuring the same parse in
the same run gives the factor by which this machine differs, so an absolute target can be
read as what it means here.
"""

from __future__ import annotations

import functools

from bench.minimize_speed import inputs, rate

REFERENCE_FULL_PARSE_PER_S = 6_000.0


def full_parse_per_s(seconds: float = 3.0) -> float:
    """Full model parses of the official R4 AdverseEvent example per second, one core."""
    from fhir.resources.R4B.adverseevent import AdverseEvent  # the strict extra

    return rate(functools.partial(AdverseEvent.model_validate_json, inputs()["fhir_r4"]), seconds)


def machine_factor(measured_full_parse_per_s: float) -> float:
    """This machine's speed relative to the one the targets were set on (1.0: the same)."""
    return measured_full_parse_per_s / REFERENCE_FULL_PARSE_PER_S

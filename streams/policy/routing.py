"""The scheme that fits a person's profession, described in their language."""

from __future__ import annotations

from schemas import Language, Profession, ResourceInfo, SchemeInfo
from schemas.policy import Policy
from schemas.policy.model import in_language


def scheme_info(policy: Policy, profession: Profession, language: Language) -> SchemeInfo:
    scheme = policy.scheme_for(profession)
    return SchemeInfo(
        scheme_id=scheme.id,
        name=scheme.name.text(language),
        contact=in_language(scheme.contact, language),
        resources=tuple(
            ResourceInfo(
                name=resource.name.text(language),
                contact=in_language(resource.contact, language),
            )
            for resource in scheme.resources
        ),
    )

"""Settings of the evaluation figures."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from runtime.settings import PsbSettings
from schemas.codes import Language


class EvaluationSettings(PsbSettings):
    model_config = SettingsConfigDict(env_prefix="PSB_EVALUATION_", frozen=True, extra="ignore")

    k: int = Field(
        5,
        ge=2,
        le=100,
        description="Smallest number of people a figure may be built from; smaller cells "
        "(and those they could be derived from) are shown as suppressed.",
    )
    port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Port of the worker's evaluation page (/evaluation); the page is off "
        "when unset. Never the worker's health and metrics port.",
    )
    host: str = Field(
        "0.0.0.0",  # noqa: S104
        description="Address the evaluation page listens on, when its port is set.",
    )
    language: Language = Field(
        Language.NB,
        description="Language of the evaluation page (nb, nn or en) when the browser's "
        "Accept-Language asks for none of them; ?lang= on the page overrides both.",
    )

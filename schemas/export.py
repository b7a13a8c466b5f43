"""JSON Schema files for every contract, kept in ``schemas/jsonschema/``.

Run ``python -m schemas.export`` (or ``make schemas``) after changing a model; a test fails
while a model and its file disagree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema

from schemas.dead_letter import DeadLetter
from schemas.notification import Notification
from schemas.offer import SupportOffer
from schemas.policy.model import Policy, PolicyJsonSchema
from schemas.receipt import DeliveryReceipt
from schemas.report import NativeIncidentReport
from schemas.response import SupportResponse
from schemas.signal import IncidentSignal
from schemas.staff import StaffProfile
from schemas.supporter import SupporterProfile

SCHEMA_DIR: Final = Path(__file__).parent / "jsonschema"
BASE_ID: Final = "https://peer-support-bridge.example/schemas/"

JsonSchemaMode = Literal["validation", "serialization"]

# What we read is described as we validate it; what we write, as we serialize it.
EXPORTED: Final[dict[str, tuple[type[BaseModel], JsonSchemaMode]]] = {
    "incident-report-v1": (NativeIncidentReport, "validation"),
    "staff-profile": (StaffProfile, "validation"),
    "supporter-profile": (SupporterProfile, "validation"),
    "policy": (Policy, "validation"),
    "incident-signal": (IncidentSignal, "serialization"),
    "support-offer": (SupportOffer, "serialization"),
    "notification": (Notification, "serialization"),
    "dead-letter": (DeadLetter, "serialization"),
    "support-response": (SupportResponse, "serialization"),
    "delivery-receipt": (DeliveryReceipt, "serialization"),
}


# A file someone writes by hand shows its defaults in its own syntax.
GENERATORS: Final[dict[str, type[GenerateJsonSchema]]] = {"policy": PolicyJsonSchema}


def render(name: str) -> str:
    model, mode = EXPORTED[name]
    generator = GENERATORS.get(name, GenerateJsonSchema)
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{BASE_ID}{name}.schema.json",
        **model.model_json_schema(mode=mode, schema_generator=generator),
    }
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def path_for(name: str) -> Path:
    return SCHEMA_DIR / f"{name}.schema.json"


def export() -> list[Path]:
    SCHEMA_DIR.mkdir(exist_ok=True)
    written = []
    for name in EXPORTED:
        path = path_for(name)
        path.write_text(render(name), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in export():
        print(written_path)

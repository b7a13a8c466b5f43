"""``DeadLetter``: where a record that could not be used went wrong, never what it held."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, Field, StringConstraints

from schemas.base import Contract
from schemas.codes import OpaqueId, SourceFormat

FIELD_PATH_PATTERN: Final = (
    r"^(\$|[A-Za-z_][A-Za-z0-9_]{0,40}|\d{1,6})(\.([A-Za-z_][A-Za-z0-9_]{0,40}|\d{1,6}|<key>))*$"
)
TOPIC_PATTERN: Final = r"^[A-Za-z0-9._-]{1,249}$"


class Reason(StrEnum):
    """Why a record was refused. The same codes appear in CLI errors, logs and metrics."""

    EMPTY = "empty"
    TOO_LARGE = "too-large"
    NOT_UTF8 = "not-utf8"
    INVALID_JSON = "invalid-json"
    TOO_DEEP = "too-deep"
    DUPLICATE_KEY = "duplicate-key"
    NOT_AN_OBJECT = "not-an-object"
    UNSUPPORTED_FORMAT = "unsupported-format"
    MISSING = "missing"
    WRONG_TYPE = "wrong-type"
    NOT_ALLOWED_VALUE = "not-allowed-value"
    INVALID_IDENTIFIER = "invalid-identifier"
    INVALID_DATETIME = "invalid-datetime"
    TOO_LONG = "too-long"
    TOO_MANY = "too-many"
    INVALID = "invalid"
    UNPROCESSABLE = "unprocessable"
    REFUSED = "refused"
    UNKNOWN_CODE = "unknown-code"
    NATIONAL_IDENTITY_NUMBER = "national-identity-number"
    EMAIL_ADDRESS = "email-address"
    PHONE_NUMBER = "phone-number"


REASON_TEXT: Final[dict[Reason, str]] = {
    Reason.EMPTY: "the record is empty",
    Reason.TOO_LARGE: "the record is larger than the configured limit",
    Reason.NOT_UTF8: "the record is not UTF-8 text",
    Reason.INVALID_JSON: "the record is not valid JSON",
    Reason.TOO_DEEP: "the JSON is nested deeper than the configured limit",
    Reason.DUPLICATE_KEY: "a JSON object repeats a key",
    Reason.NOT_AN_OBJECT: "expected a JSON object",
    Reason.UNSUPPORTED_FORMAT: "not a native report, FHIR R4 or FHIR R5 AdverseEvent",
    Reason.MISSING: "required field is missing",
    Reason.WRONG_TYPE: "value has the wrong JSON type",
    Reason.NOT_ALLOWED_VALUE: "value is not one of the allowed codes",
    Reason.INVALID_IDENTIFIER: "value is not a valid code or identifier",
    Reason.INVALID_DATETIME: "value is not a date-time with a time zone",
    Reason.TOO_LONG: "value is longer than allowed",
    Reason.TOO_MANY: "list has more entries than allowed",
    Reason.INVALID: "value is not valid here",
    Reason.UNPROCESSABLE: "the record could not be processed; the worker log has the error type",
    Reason.REFUSED: "the channel refused the notification for good; its receipt has the reason",
    Reason.UNKNOWN_CODE: "value is not a code of the standard value sets, the policy or the "
    "configured sources",
    Reason.NATIONAL_IDENTITY_NUMBER: "value holds a national identity number",
    Reason.EMAIL_ADDRESS: "value holds an e-mail address",
    Reason.PHONE_NUMBER: "value holds a phone number",
}


class DeadLetter(Contract):
    """A refused record on ``<topic>.dlq``: its position, a reason code and a field path."""

    type: Literal["dead-letter"] = "dead-letter"
    version: Literal[1] = 1
    source_topic: Annotated[str, StringConstraints(pattern=TOPIC_PATTERN)]
    partition: Annotated[int, Field(ge=0)]
    offset: Annotated[int, Field(ge=0)]
    reason: Reason
    field_path: Annotated[str, StringConstraints(pattern=FIELD_PATH_PATTERN)] | None = None
    detected_format: SourceFormat | None = None
    notification_id: OpaqueId | None = None
    """Set for a notification a channel refused, to find its receipts."""
    recorded_at: AwareDatetime

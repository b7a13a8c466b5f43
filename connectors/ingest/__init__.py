"""HTTP ingest: reports, FHIR AdverseEvents and subscription notifications, CloudEvents.

Everything received is minimized here, at the edge, so only an ``IncidentSignal`` is ever
written to Kafka; the raw payload lives in this process's memory for one request only.
"""

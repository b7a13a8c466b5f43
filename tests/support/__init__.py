"""Helpers shared by the tests: the broker, the worker process, Kafka produce/consume."""

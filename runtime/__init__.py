"""Plumbing every process shares: settings, logging, topic names, Kafka client config and
the embedded broker. Builds on ``schemas``; ``streams`` and ``connectors`` build on it."""

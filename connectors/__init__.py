"""Sources that bring reports in and sinks that deliver notifications, on confluent-kafka.

``connectors.base`` holds the contracts (what a sink is, its errors, the consume loop);
each other module is one source or one channel. Builds on ``schemas`` and ``runtime``;
never imports ``streams``.
"""

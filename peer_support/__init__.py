"""The command line: the one layer that ties contracts, streams and connectors together."""

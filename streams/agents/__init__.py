"""The three agents of the pipeline: minimize, offers, dispatch."""

"""``make bench``: speed and memory of the bridge beside a baseline, in one run."""

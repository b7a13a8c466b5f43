"""Applying the quality department's policy: triggers, timing, scheme routing, supporters."""

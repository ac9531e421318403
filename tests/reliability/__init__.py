"""Reliability drills: faults, restarts and abuse, and the figures they publish."""

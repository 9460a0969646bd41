"""The tracker: calendar, obligations and reminders of a Vietnamese emulation cluster (Cụm thi đua).

The package is split so that the pure core (config, calendar, workflow, scoring, reminder
planning) never reads the clock or touches I/O; `jobs/` and `tracker.cli` do.
"""

__version__ = "0.1.0"

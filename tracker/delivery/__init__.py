"""Delivery (issue 7): the database rows that make sending lose nothing, send nothing twice
and never split a letter between senders.

The pipeline, one module per step (docs/architecture.md):

- `plan_sync`: the planner's reminders → item rows (`outbox`), re-planned only when a
  cycle's inputs changed (`PlanState`), over a horizon, written in bulk;
- `catch_up`: after downtime, one late item per obligation and recipient;
- `bundle`: items → letters (`letter`), the daily digest per recipient and hat;
- `claim`: a sender takes due letters whole, with a lease, and renews it;
- `outcome`: sent, retried with backoff, failed, cancelled — letter and items together;
- `pause`: authentication/TLS problems stop all sending until fixed;
- `queries`: what the CLI and the digest read (letters, counts, problems, retry).

Every function takes `now`; nothing here reads the clock.
"""

"""Library functions behind the CLI and the jobs: each takes a session and `now`."""

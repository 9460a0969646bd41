"""Alembic migrations, shipped inside the package (tracker.db.migrate finds them here)."""

"""Storage: SQLModel tables, engine set-up, migrations. Only jobs/ and the CLI open sessions."""

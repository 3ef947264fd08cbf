"""Persistence: SQLModel tables, the engine, migrations and CRUD functions."""

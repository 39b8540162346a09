"""Storage: SQLAlchemy 2 async models, engine, migrations and repositories."""

"""The database: models, sessions and dialect-specific SQL, limit storage, backups."""

"""The database: tables, the store the engine reads and writes through, migrations, the outbox."""

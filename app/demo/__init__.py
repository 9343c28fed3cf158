"""Demo seeding: `flask seed` loads seeds/ (YAML data files) through the services, idempotently.
Only the command line imports this package; runtime code never does."""

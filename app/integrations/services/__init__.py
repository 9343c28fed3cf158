"""Rules of the integrations domain, one module per concept."""

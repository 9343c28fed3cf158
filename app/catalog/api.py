"""JSON routes of the catalog under /api/v1."""

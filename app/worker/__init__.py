"""The job worker's records: what each periodic job did and when (runs), and what a job did
once and must never do again (marks); `flask jobs ...` and the Admin → Jobs page."""

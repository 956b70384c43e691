"""Reports (日报/周报/月报/绩效自评表): rendered from the published warehouse and emailed."""

"""minhu foundation: settings, source schemas, warehouse connection, calendar.

Everything else (stages, DAGs, CLI) imports from here; this package imports no stage.
"""

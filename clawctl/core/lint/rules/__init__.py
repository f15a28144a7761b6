"""The rules, one module per family of the catalogue, named ``<letter>_<family>``: ``b_backups`` holds B001-B007.

:func:`clawctl.core.lint.load_rules` imports them all. A family whose rules are raised elsewhere (by the
YAML loader, the engine or the schema check) only declares them here.
"""

"""Failover: the plan, drills and their objectives (pure)."""

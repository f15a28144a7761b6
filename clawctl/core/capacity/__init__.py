"""How many agents or slots each group needs to meet an SLA: Erlang estimates, fleet variants, the search (pure)."""

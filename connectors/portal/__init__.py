"""Government-portal message boards: the connector that polls and replies (`connector`) and
the pure translation of pages, messages and replies (`messages`)."""

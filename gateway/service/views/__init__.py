"""Views: what the API, the console and health read (an order's timeline, a handoff's,
agency health)."""

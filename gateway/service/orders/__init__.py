"""Orders: intake, status sync, hotline events, and the one transition path
(transitions.py) every direction moves an order by."""

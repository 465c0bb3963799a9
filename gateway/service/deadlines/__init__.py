"""Deadlines: working days, the deadlines an order gets, its cards, the watch that fires
them, automatic 督办."""

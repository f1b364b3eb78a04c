"""Billing: dated tariffs, zero-advance billing records and CPAM reconciliation."""

"""Matching: the pure solver that assigns visit requests to nurses.

Plain data in, plain data out: nothing here imports Flask or the database.
"""

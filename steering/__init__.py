"""Steering the territory: indicators, the weekly report, the department map and the capacity
simulation. Reads the registry and billing; writes nothing but its own runs."""

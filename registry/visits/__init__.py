"""Offers to nurses, their answers, the planning pass that makes them, and visit reports."""

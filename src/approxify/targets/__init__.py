"""Targets: lift a user object into a program that transforms can read and rewrite."""

"""Rocketstack: a self-hosted serverless functions platform."""

__version__ = "0.1.0"

"""Isolation and limits of instances: one backend per mechanism behind `Sandbox`."""

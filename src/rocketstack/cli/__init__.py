"""The `rocketstack` command."""

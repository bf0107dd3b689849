"""Instances and their scheduling: the host side of the host-instance protocol, one
bootstrap per runtime, and the pool that hands invocations to warm instances."""

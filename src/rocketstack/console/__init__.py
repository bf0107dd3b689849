"""The web Console: server-rendered pages at /console on the control-plane port."""

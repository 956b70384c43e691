"""Simulators of the upstream systems (case platform, finance system) for the demo and the tests."""

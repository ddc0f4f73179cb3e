"""Turning a solution into something that runs: nix-ld variables, reports, link dirs."""

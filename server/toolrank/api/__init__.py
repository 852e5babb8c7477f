"""Transports: convert wire messages to engine dataclasses and back; no model code here."""

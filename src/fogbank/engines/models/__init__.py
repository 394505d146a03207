"""Offline models for the AI services: the registry (registry.py) and one adapter module per kind of model."""

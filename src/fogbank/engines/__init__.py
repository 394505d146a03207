"""Shared engines that know nothing of AWS shapes."""

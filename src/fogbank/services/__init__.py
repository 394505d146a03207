"""One package per AWS service: a provider (operations) and a store (persistence)."""

"""STS: who the caller is, and temporary credentials for roles, sessions and federated users."""

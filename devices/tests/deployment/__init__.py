"""The integration suite: the deployment as real processes (see conftest.py)."""

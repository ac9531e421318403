"""What every layer shares: the exception hierarchy and the clock. Imports nothing of ours."""

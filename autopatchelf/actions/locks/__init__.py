"""Lock ("fingerprint") files: what one solve chose, verified before it is trusted."""

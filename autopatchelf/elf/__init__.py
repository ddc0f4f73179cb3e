"""ELF facts: what one file needs (sonames, versions, symbols) and provides."""

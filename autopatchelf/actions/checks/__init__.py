"""``check``: find the ELF files of a vendor tree, resolve each app, report problems."""

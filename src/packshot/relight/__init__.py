"""relight stage."""

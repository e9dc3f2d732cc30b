"""One file per benchmark; each file holds that benchmark's whole definition."""

"""Settings and policy tables. Policy numbers live here as data with effective dates."""

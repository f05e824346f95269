"""Resident medical insurance enrollment (城乡居民医保参保登记) per person and insurance year."""

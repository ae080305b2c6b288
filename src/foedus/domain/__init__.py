"""Domain types: what a guarantee package, a commitment, a country and a
parameter *are*. No I/O and no numerics live here."""
